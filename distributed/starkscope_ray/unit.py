"""One unit of work as a Ray task: run one `starkscope` command (`prove-segment` or
`aggregate`) in a scratch directory, its inputs and output as bytes.

Whether a failure is worth another attempt is the CLI's exit status (the one table in
`starkscope --help`): 75 (the environment failed), 5 (the proof was made but its metrics
could not be written), a kill (SIGKILL: the kernel's OOM killer; SIGTERM, SIGBUS, SIGABRT:
an allocation that failed) and a task that cannot write its scratch files or start the
binary are retried; a bad input (3), a usage error (2), an invalid proof (1), a bug (70,
101) or a crash (SIGSEGV, SIGILL, SIGFPE) would fail the same way again, so the run stops
there. A worker process that dies is Ray's to retry.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import List, Optional

import ray

# Exit statuses of `starkscope` (crates/sdk/src/exit.rs).
EXIT_METRICS_LOST = 5
EXIT_RETRY = 75
RETRYABLE_EXITS = (EXIT_METRICS_LOST, EXIT_RETRY)
# Deaths by signal that the machine, not the input, causes.
RETRYABLE_SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGBUS, signal.SIGABRT)

# Scratch directories of this machine's units; a unit's directory holds `owner` (its
# worker's pid) so that the next unit removes what a killed worker left.
SCRATCH_ROOT = os.path.join(tempfile.gettempdir(), "starkscope-ray")


@dataclass
class UnitSpec:
    """What one task runs. `argv` names files by placeholder tokens the task replaces
    whole (a token equal to `{program}`, `{inputs}`, `{child0}`.., `{out}`, `{host}`);
    every other token is passed as it is."""

    name: str  # "segment 3", "leaf 0", "internal.0 2", "root"
    layer: str  # "segments", "leaf", "internal.0", .., "root"
    file: str  # the proof's file name, as `prove --aggregate --nodes-dir` names it
    argv: List[str]
    children: List[str] = field(default_factory=list)  # unit names, in order


class UnitError(Exception):
    """A unit's command failed: which unit, its exit status (negative: killed by that
    signal), and the end of what it said."""

    retried = False

    def __init__(self, unit: str, exit_code: int, stderr: str):
        super().__init__(unit, exit_code, stderr)
        self.unit = unit
        self.exit_code = exit_code
        self.stderr = stderr

    def __str__(self) -> str:
        how = " (retried)" if self.retried else ""
        return f"unit `{self.unit}` failed with exit status {self.exit_code}{how}: {self.stderr.strip()}"


class UnitFailed(UnitError):
    """The unit failed on its input (or hit a bug): not retried."""


class UnitRetryable(UnitError):
    """The unit failed in a way the same command may not repeat: Ray retries it."""

    retried = True


@ray.remote(num_cpus=0)
class Ledger:
    """Every attempt of every unit, as the tasks report them: how a retried unit is told
    apart from a unit run once, and where each attempt ran."""

    def __init__(self) -> None:
        self._events: list = []

    def started(self, unit: str, host: str, pid: int, at: float) -> None:
        self._events.append({"unit": unit, "event": "started", "host": host, "pid": pid, "at": at})

    def ended(self, unit: str, host: str, exit_code: int, at: float) -> None:
        self._events.append({"unit": unit, "event": "ended", "host": host, "exit": exit_code, "at": at})

    def events(self) -> list:
        return list(self._events)


def _pdeathsig():
    """`prctl(PR_SET_PDEATHSIG, SIGKILL)` for the child, looked up here (in the parent:
    loading a library in a forked child of a threaded worker can deadlock)."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def set_it(parent: int) -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the worker died before the call
            os._exit(1)

    return set_it


_SET_PDEATHSIG = _pdeathsig()


def _die_with_parent(parent: int):
    """In the child, before exec: be killed when the worker that started it dies, so that a
    dead worker leaves no prover behind competing for its CPUs."""
    if _SET_PDEATHSIG is None:
        return None
    return lambda: _SET_PDEATHSIG(parent)


def _sweep_scratch() -> None:
    """Removes scratch directories whose worker is gone (killed before its cleanup)."""
    try:
        entries = os.listdir(SCRATCH_ROOT)
    except OSError:
        return
    for entry in entries:
        path = os.path.join(SCRATCH_ROOT, entry)
        try:
            with open(os.path.join(path, "owner")) as f:
                owner = int(f.read().strip())
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (OSError, ValueError):
            continue


def _node_host() -> str:
    """Where this task runs: the host name and the Ray node, so that the units of two nodes
    on one machine (a local test cluster) are told apart too."""
    node = ray.get_runtime_context().get_node_id() or "local"
    return f"{socket.gethostname()}/{node[:8]}"


def run_command(
    spec: UnitSpec,
    binary: str,
    program_name: str,
    program: bytes,
    inputs: Optional[bytes],
    children: list,
    ledger,
    want_metrics: bool,
):
    """Runs the unit; returns `(proof bytes, info)`. Raises `UnitFailed` or
    `UnitRetryable` (see the module's doc)."""
    began = time.time()
    host = _node_host()
    if ledger is not None:
        ray.get(ledger.started.remote(spec.name, host, os.getpid(), began))
    try:
        os.makedirs(SCRATCH_ROOT, exist_ok=True)
        _sweep_scratch()
        scratch = tempfile.mkdtemp(prefix="unit-", dir=SCRATCH_ROOT)
        with open(os.path.join(scratch, "owner"), "w") as f:
            f.write(str(os.getpid()))
    except OSError as e:
        raise UnitRetryable(spec.name, EXIT_RETRY, f"cannot make a scratch directory: {e}") from None
    try:
        return _run_in(scratch, spec, binary, program_name, program, inputs, children, ledger,
                       want_metrics, host, began)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_in(scratch, spec, binary, program_name, program, inputs, children, ledger, want_metrics, host, began):
    paths = {
        "{program}": os.path.join(scratch, program_name),
        "{inputs}": os.path.join(scratch, "inputs.txt"),
        "{out}": os.path.join(scratch, spec.file),
        "{host}": host,
    }
    metrics_path = os.path.join(scratch, "metrics.json")
    try:
        with open(paths["{program}"], "wb") as f:
            f.write(program)
        if inputs is not None:
            with open(paths["{inputs}"], "wb") as f:
                f.write(inputs)
        for i, child in enumerate(children):
            paths[f"{{child{i}}}"] = os.path.join(scratch, f"child-{i}.bin")
            with open(paths[f"{{child{i}}}"], "wb") as f:
                f.write(child)
    except OSError as e:
        raise UnitRetryable(spec.name, EXIT_RETRY, f"cannot write the unit's inputs: {e}") from None
    argv = [binary] + [paths.get(a, a) for a in spec.argv]
    if want_metrics:
        argv += ["--metrics", metrics_path]
    # The snapshot goes where --metrics says, or nowhere: never to a METRIC_OUTPUT that
    # every unit of this node would share.
    env = {k: v for k, v in os.environ.items() if k != "METRIC_OUTPUT"}
    cli_began = time.time()
    try:
        done = subprocess.run(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent(os.getpid()),
            env=env,
            check=False,
        )
    except OSError as e:  # the binary is missing or not executable on this node
        raise UnitRetryable(spec.name, EXIT_RETRY, f"cannot run {binary} on {host}: {e}") from None
    cli_ended = time.time()
    stderr = done.stderr.decode(errors="replace")
    if ledger is not None:
        ledger.ended.remote(spec.name, host, done.returncode, cli_ended)
    if done.returncode != 0:
        # The unit's own report lines ("metrics written to <scratch>") name files that
        # are gone: the error is what is left.
        lines = [l for l in stderr.strip().splitlines() if not l.startswith("metrics written to ")]
        tail = "\n".join(lines[-5:])
        code = done.returncode
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            tail = f"killed by {name} on {host}" + (f": {tail}" if tail else "")
            if -code in RETRYABLE_SIGNALS:
                raise UnitRetryable(spec.name, code, tail)
            raise UnitFailed(spec.name, code, tail)
        if code in RETRYABLE_EXITS:
            raise UnitRetryable(spec.name, code, tail)
        raise UnitFailed(spec.name, code, tail)
    try:
        with open(paths["{out}"], "rb") as f:
            proof = f.read()
        snapshot = None
        if want_metrics:
            with open(metrics_path, "r", encoding="utf-8") as f:
                snapshot = f.read()
    except OSError as e:
        raise UnitRetryable(spec.name, EXIT_RETRY, f"cannot read the unit's outputs: {e}") from None
    info = {
        "unit": spec.name,
        "layer": spec.layer,
        "host": host,
        "proof_bytes": len(proof),
        "input_bytes": sum(len(c) for c in children),
        "cli_ms": (cli_ended - cli_began) * 1e3,
        "task_ms": (time.time() - began) * 1e3,
        "snapshot": snapshot,
    }
    return proof, info


@ray.remote(num_returns=2)
def unit_task(spec, binary, program_name, program, inputs, ledger, want_metrics, *children):
    """The Ray task of one unit; children (proof bytes) come last, as Ray objects the
    scheduler waits for."""
    return run_command(spec, binary, program_name, program, inputs, list(children), ledger, want_metrics)
