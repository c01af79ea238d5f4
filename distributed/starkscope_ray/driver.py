"""The task graph of one run on Ray: every segment, then each layer of the aggregation
tree as its children exist, then the root; proofs pass between tasks as Ray objects, only
the root's bytes come back to the driver."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import ray

from starkscope_ray import merge
from starkscope_ray.plan import Plan
from starkscope_ray.unit import Ledger, UnitFailed, UnitRetryable, unit_task


class RunFailed(Exception):
    """The run stopped; `exit_code` follows the CLI's table."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Outcome:
    root: bytes
    infos: Dict[str, dict]  # unit name -> its accepted attempt's info
    attempts: Dict[str, int]  # unit name -> attempts started
    wall_s: float
    bytes_moved: int
    resumed: List[str]  # units taken from --nodes-dir (no task, no snapshot)


def write_atomic(path: str, data: bytes) -> None:
    """A temporary file beside `path`, synced, renamed over it: a reader never sees half a
    file, and a failure leaves what was there."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".starkscope-ray-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp's 0600 would make the result private; files get the umask's mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _progress_line(plan: Plan, done: Dict[str, int], totals: Dict[str, int], started: float) -> str:
    parts = [f"{layer} {done.get(layer, 0)}/{totals[layer]}" for layer in plan.layers if layer in totals]
    return f"[{time.time() - started:7.1f}s] " + " · ".join(parts)


def _unwrap(error: BaseException) -> BaseException:
    """The unit's own exception inside Ray's task error, if it is one of ours."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, (UnitFailed, UnitRetryable)):
        return cause
    if isinstance(error, (UnitFailed, UnitRetryable)):
        return error
    return error


def run(
    plan: Plan,
    binary: str,
    program_name: str,
    program: bytes,
    inputs: Optional[bytes],
    threads: int,
    max_retries: int,
    want_metrics: bool,
    nodes_dir: Optional[str] = None,
    resume: bool = False,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> Outcome:
    started = time.time()
    ledger = Ledger.options(
        scheduling_strategy=ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
            node_id=ray.get_runtime_context().get_node_id(), soft=True
        )
    ).remote()
    program_ref = ray.put(program)
    inputs_ref = ray.put(inputs)
    proofs: Dict[str, ray.ObjectRef] = {}
    info_refs: Dict[ray.ObjectRef, str] = {}
    resumed: List[str] = []
    kept = {
        u.name: os.path.join(nodes_dir, u.file)
        for u in plan.units
        if resume and nodes_dir is not None and u.layer != "root"
        and os.path.isfile(os.path.join(nodes_dir, u.file))
    }
    # From the root down: a unit is needed when its parent is run, not taken from disk.
    needed = {plan.units[-1].name}
    for u in reversed(plan.units):
        if u.name in needed and u.name not in kept:
            needed.update(u.children)
    for spec in plan.units:
        if spec.name not in needed:
            continue
        if spec.name in kept:
            # Proven by an earlier run: its parent checks it like any child.
            try:
                with open(kept[spec.name], "rb") as f:
                    proofs[spec.name] = ray.put(f.read())
            except OSError as e:
                raise RunFailed(f"cannot read {kept[spec.name]} to resume from: {e}", 3) from None
            resumed.append(spec.name)
            continue
        children = [proofs[c] for c in spec.children]
        proof, info = unit_task.options(
            num_cpus=threads,
            max_retries=max_retries,
            retry_exceptions=[UnitRetryable],
            name=spec.name,
        ).remote(spec, binary, program_name, program_ref, inputs_ref, ledger, want_metrics, *children)
        proofs[spec.name] = proof
        info_refs[info] = spec.name

    by_name = {u.name: u for u in plan.units}
    totals: Dict[str, int] = {}
    for u in plan.units:
        if u.name in needed:
            totals[u.layer] = totals.get(u.layer, 0) + 1
    skipped = [u.name for u in plan.units if u.name not in needed]
    if skipped:
        say(f"not needed (their parents are in {nodes_dir}): {', '.join(skipped)}")
    done: Dict[str, int] = {}
    for name in resumed:
        done[by_name[name].layer] = done.get(by_name[name].layer, 0) + 1
    if resumed:
        say(f"resumed from {nodes_dir}: {', '.join(resumed)}")
    infos: Dict[str, dict] = {}
    pending = list(info_refs)
    say(_progress_line(plan, done, totals, started))
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                name = info_refs[ref]
                try:
                    info = ray.get(ref)
                except ray.exceptions.RayTaskError as e:
                    cause = _unwrap(e)
                    if isinstance(cause, UnitFailed):
                        failed = by_name.get(cause.unit, by_name[name])
                        tried = _attempts(ledger).get(failed.name, 1)
                        raise RunFailed(
                            f"{cause}\n  (unit `{failed.name}`{_children_of(failed)}; "
                            f"{tried} attempt{'s' if tried != 1 else ''}: {_why_not_retried(cause.exit_code)})",
                            _driver_exit(cause.exit_code),
                        ) from None
                    if isinstance(cause, UnitRetryable):
                        raise RunFailed(f"{cause}; gave up after {max_retries + 1} attempts", 75) from None
                    raise RunFailed(f"unit `{name}` failed inside its task (a bug of the driver): {e}", 70) from None
                except ray.exceptions.RayError as e:
                    # The worker or its node died, memory or the object store ran out, the
                    # task was cancelled: Ray's own retries are spent.
                    raise RunFailed(
                        f"unit `{name}`: {type(e).__name__} after {max_retries + 1} attempts: "
                        f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}", 75) from None
                infos[name] = info
                layer = by_name[name].layer
                done[layer] = done.get(layer, 0) + 1
                say(_progress_line(plan, done, totals, started) + f"  ({name} on {info['host']}, {info['cli_ms'] / 1e3:.1f}s)")
                if nodes_dir is not None:
                    path = os.path.join(nodes_dir, by_name[name].file)
                    try:
                        write_atomic(path, ray.get(proofs[name]))
                    except OSError as e:
                        raise RunFailed(f"cannot write {path}: {e}", 75) from None
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    try:
        root = ray.get(proofs["root"])
    except ray.exceptions.RayError as e:
        raise RunFailed(f"the root proof was lost before it reached the driver: {type(e).__name__}", 75) from None
    wall = time.time() - started
    attempts = _attempts(ledger)
    bytes_moved = sum(i["input_bytes"] for i in infos.values()) + len(root)
    return Outcome(
        root=root, infos=infos, attempts=attempts, wall_s=wall,
        bytes_moved=bytes_moved, resumed=resumed,
    )


def _attempts(ledger) -> Dict[str, int]:
    """Attempts started per unit, as the tasks reported them to the ledger."""
    attempts: Dict[str, int] = {}
    for e in ray.get(ledger.events.remote()):
        if e["event"] == "started":
            attempts[e["unit"]] = attempts.get(e["unit"], 0) + 1
    return attempts


def _driver_exit(unit_exit: int) -> int:
    """The run's exit status for a unit's failure: its own, except that a crash is a bug."""
    if unit_exit in (1, 2, 3):
        return 3 if unit_exit == 1 else unit_exit
    return 70


def _why_not_retried(unit_exit: int) -> str:
    if unit_exit == 2:
        return "its command line was refused, which no retry changes"
    if unit_exit in (1, 3):
        return "a failure on its input is not retried"
    return "a bug of starkscope (please report it) is not retried"


def _children_of(unit) -> str:
    return f" over {', '.join(unit.children)}" if unit.children else ""


def merged_run(plan: Plan, outcome: Outcome, meta: dict) -> str:
    """The run file: every accepted unit's snapshot merged, and `meta` saying how it ran."""
    pairs = []
    ran = [u for u in plan.units if u.name in outcome.infos]
    for u in ran:
        text = outcome.infos[u.name].get("snapshot")
        if text is not None:
            pairs.append((u.name, json.loads(text)))
    snapshot, notes = merge.merge(pairs)
    meta = dict(meta)
    revs = {s.get("meta", {}).get("git_rev") for _, s in pairs} - {None}
    if len(revs) == 1:  # every unit's binary built from one commit
        meta["git_rev"] = revs.pop()
    units = []
    for u in ran:
        info = outcome.infos[u.name]
        units.append({
            "unit": u.name,
            "layer": u.layer,
            "host": info["host"],
            "attempts": outcome.attempts.get(u.name, 1),
            "cli_ms": round(info["cli_ms"], 3),
            "task_ms": round(info["task_ms"], 3),
            "proof_bytes": info["proof_bytes"],
        })
    meta["distributed"] = {
        "engine": "ray",
        "ray_version": ray.__version__,
        "units": len(ran),
        "resumed": outcome.resumed,
        "attempts": sum(outcome.attempts.get(u.name, 1) for u in ran),
        "retried": sorted(u["unit"] for u in units if u["attempts"] > 1),
        "hosts": sorted({u["host"] for u in units}),
        "wall_ms": round(outcome.wall_s * 1e3, 3),
        "bytes_moved": outcome.bytes_moved,
        "merged": notes,
        "per_unit": units,
    }
    snapshot["meta"] = meta
    return merge.to_json(snapshot)
