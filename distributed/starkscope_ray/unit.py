"""One unit of work as a Ray task: run one `starkscope` command (`prove-segment` or
`aggregate`) in a scratch directory, its inputs and output as bytes.

Whether a failure is worth another attempt is the CLI's exit status (the one table in
`starkscope --help`): 75 (the environment failed), 5 (the proof was made but its metrics
could not be written) and a death by signal (the kernel's OOM killer, say) are retried; a
bad input (3), a usage error (2), an invalid proof (1) or a bug (70, 101) would fail the
same way again, so the run stops there. A worker process that dies is Ray's to retry.
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


@dataclass
class UnitSpec:
    """What one task runs. `argv` names files by placeholders the task fills in:
    `{program}`, `{inputs}`, `{child0}`.., `{out}`, `{metrics}`, `{host}`."""

    name: str  # "segment 3", "leaf 0", "internal.0 2", "root"
    layer: str  # "segments", "leaf", "internal.0", .., "root"
    file: str  # the proof's file name, as `prove --aggregate --nodes-dir` names it
    argv: List[str]
    children: List[str] = field(default_factory=list)  # unit names, in order


class UnitFailed(Exception):
    """The unit failed on its input (or hit a bug): not retried."""

    def __init__(self, unit: str, exit_code: int, stderr: str):
        super().__init__(unit, exit_code, stderr)
        self.unit = unit
        self.exit_code = exit_code
        self.stderr = stderr

    def __str__(self) -> str:
        return f"unit `{self.unit}` failed with exit status {self.exit_code}: {self.stderr.strip()}"


class UnitRetryable(Exception):
    """The unit failed in a way the same command may not repeat: Ray retries it."""

    def __init__(self, unit: str, exit_code: int, stderr: str):
        super().__init__(unit, exit_code, stderr)
        self.unit = unit
        self.exit_code = exit_code
        self.stderr = stderr

    def __str__(self) -> str:
        return f"unit `{self.unit}` failed with exit status {self.exit_code} (retried): {self.stderr.strip()}"


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


def _die_with_parent() -> None:
    """In the child, before exec: be killed when the worker that started it dies, so that a
    dead worker leaves no prover behind competing for its CPUs."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


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
    scratch = tempfile.mkdtemp(prefix="starkscope-unit-")
    try:
        paths = {
            "program": os.path.join(scratch, program_name),
            "inputs": os.path.join(scratch, "inputs.txt"),
            "out": os.path.join(scratch, spec.file),
            "metrics": os.path.join(scratch, "metrics.json"),
            "host": host,
        }
        with open(paths["program"], "wb") as f:
            f.write(program)
        if inputs is not None:
            with open(paths["inputs"], "wb") as f:
                f.write(inputs)
        for i, child in enumerate(children):
            paths[f"child{i}"] = os.path.join(scratch, f"child-{i}.bin")
            with open(paths[f"child{i}"], "wb") as f:
                f.write(child)
        argv = [binary] + [a.format(**paths) for a in spec.argv]
        if want_metrics:
            argv += ["--metrics", paths["metrics"]]
        cli_began = time.time()
        done = subprocess.run(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
            check=False,
        )
        cli_ended = time.time()
        stderr = done.stderr.decode(errors="replace")
        if ledger is not None:
            ledger.ended.remote(spec.name, host, done.returncode, cli_ended)
        if done.returncode != 0:
            # The unit's own report lines ("metrics written to <scratch>") name files that
            # are gone: the error is what is left.
            lines = [l for l in stderr.strip().splitlines() if not l.startswith("metrics written to ")]
            tail = "\n".join(lines[-5:])
            if done.returncode in RETRYABLE_EXITS or done.returncode < 0:
                raise UnitRetryable(spec.name, done.returncode, tail)
            raise UnitFailed(spec.name, done.returncode, tail)
        with open(paths["out"], "rb") as f:
            proof = f.read()
        snapshot = None
        if want_metrics:
            with open(paths["metrics"], "r", encoding="utf-8") as f:
                snapshot = f.read()
        info = {
            "unit": spec.name,
            "layer": spec.layer,
            "host": host,
            "proof_bytes": len(proof),
            "input_bytes": sum(len(c) for c in children),
            "started_at": began,
            "cli_ms": (cli_ended - cli_began) * 1e3,
            "task_ms": (time.time() - began) * 1e3,
            "stdout": done.stdout.decode(errors="replace").strip(),
            "snapshot": snapshot,
        }
        return proof, info
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@ray.remote(num_returns=2)
def unit_task(spec, binary, program_name, program, inputs, ledger, want_metrics, *children):
    """The Ray task of one unit; children (proof bytes) come last, as Ray objects the
    scheduler waits for."""
    return run_command(spec, binary, program_name, program, inputs, list(children), ledger, want_metrics)
