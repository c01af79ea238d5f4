"""`python -m starkscope_ray prove PROGRAM --input ... --address auto --out root.bin
--metrics run.json`: prove a run on a Ray cluster (docs/distributed.md).

Exit statuses, as `starkscope`'s: 0 the root was written; 2 usage (bad options, no
`starkscope` binary); 3 a unit failed on its input (a bad program, inputs or child proof:
named, not retried; nothing written as the root); 5 the root was written but the metrics
could not be; 70 an internal error; 75 the cluster failed (unreachable, a unit's retries
used up): worth running again.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import socket
import sys
import tempfile
import time
from typing import List, Optional

EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_METRICS_LOST = 5
EXIT_INTERNAL = 70
EXIT_RETRY = 75


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m starkscope_ray",
        description="Prove starkscope runs on a Ray cluster: segment proofs and aggregation "
        "nodes as tasks, one merged metrics run.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    prove = sub.add_parser(
        "prove",
        help="prove a run and its aggregation tree on Ray, write the root proof",
        description="Prove PROGRAM on its inputs on a Ray cluster: one task per segment "
        "(`starkscope prove-segment`), one per aggregation node and the root (`starkscope "
        "aggregate`), each with --threads CPUs. The root proof is written to --out, every "
        "unit's metrics merged into --metrics; `starkscope prof` reads it like a local run.",
        epilog="Exit status: 0 written; 2 usage; 3 a unit failed on its input (named; not "
        "retried); 5 root written, metrics lost; 70 internal error; 75 the cluster failed "
        "(worth retrying).",
    )
    prove.add_argument("program", metavar="PROGRAM", help="the program (.sasm)")
    prove.add_argument("--input", "-i", dest="inputs", nargs="+", action="extend", default=[],
                       metavar="N", help="hint-stream inputs, as `starkscope prove` takes them")
    prove.add_argument("--input-file", metavar="FILE", help="read inputs from a file (before any --input)")
    prove.add_argument("--address", default="auto",
                       help="the Ray cluster: `auto` (the one started on this machine with "
                       "`ray start`), `ray://HOST:10001`, or `local` (a private one for this run)")
    prove.add_argument("--out", required=True, metavar="FILE",
                       help="write the root proof here (replaced atomically; nothing on failure)")
    prove.add_argument("--metrics", metavar="FILE",
                       help="write the merged metrics run here (needs a starkscope built with "
                       "--features bench-metrics)")
    prove.add_argument("--segment-size", type=int, default=1 << 18, metavar="N",
                       help="cycles per segment (as `starkscope prove`, 2^18 by default)")
    prove.add_argument("--children", type=int, default=2, metavar="K", help="children per aggregation node")
    prove.add_argument("--fri", default="fast", metavar="PRESET", help="FRI preset of the segment proofs")
    prove.add_argument("--node-fri", default="recursion", metavar="PRESET", help="FRI preset of the nodes")
    prove.add_argument("--threads", type=int, default=1, metavar="N",
                       help="proving threads per task, and the CPUs each task asks Ray for")
    prove.add_argument("--max-cycles", type=int, metavar="N", help="stop after this many cycles without halt")
    prove.add_argument("--max-retries", type=int, default=3, metavar="N",
                       help="attempts after the first for a unit whose worker died or whose "
                       "environment failed (never for a failure on its input)")
    prove.add_argument("--nodes-dir", metavar="DIR",
                       help="also write every segment and node proof here, named as `starkscope "
                       "prove --aggregate --nodes-dir` names them")
    prove.add_argument("--resume", action="store_true",
                       help="with --nodes-dir: take the segment and node proofs already there "
                       "instead of proving them again (their parents check them as any child)")
    prove.add_argument("--starkscope", metavar="PATH",
                       help="the starkscope binary, at this path on every node (default: "
                       "`starkscope` on PATH, or $STARKSCOPE_BIN)")
    prove.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    return p


def _error(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return code


def _unreachable(address: str) -> Optional[str]:
    """Why a `HOST:PORT` (or `ray://HOST:PORT`) address cannot be reached, found in
    seconds: Ray itself keeps retrying a dead address for minutes."""
    if address in ("auto", "local"):
        return None
    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        return None  # not ours to judge: Ray reads other forms
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as e:
        return e.strerror or str(e)
    return None


def _binary(flag: Optional[str]) -> Optional[str]:
    chosen = flag or os.environ.get("STARKSCOPE_BIN") or shutil.which("starkscope")
    if chosen is None:
        return None
    return os.path.abspath(chosen)


def prove(args: argparse.Namespace) -> int:
    binary = _binary(args.starkscope)
    if binary is None or not os.access(binary, os.X_OK):
        return _error(
            f"no starkscope binary ({binary or 'none on PATH'}): build it with `cargo build "
            "--release -p starkscope --features bench-metrics` and pass --starkscope PATH",
            EXIT_USAGE,
        )
    if args.threads < 1:
        return _error("--threads must be at least 1 (each task asks Ray for that many CPUs)", EXIT_USAGE)
    if args.resume and args.nodes_dir is None:
        return _error("--resume takes the proofs in --nodes-dir: give --nodes-dir DIR", EXIT_USAGE)
    if args.max_retries < 0:
        return _error("--max-retries must be 0 or more", EXIT_USAGE)
    for what, path in (("--out", args.out), ("--metrics", args.metrics)):
        if path is not None and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            return _error(f"{what} {path}: its directory does not exist", EXIT_USAGE)
    outputs = [("--out", args.out)] + ([("--metrics", args.metrics)] if args.metrics else [])
    inputs_read = [("PROGRAM", args.program)] + ([("--input-file", args.input_file)] if args.input_file else [])
    for what, path in outputs:
        for other, other_path in outputs + inputs_read:
            if other != what and os.path.abspath(path) == os.path.abspath(other_path):
                return _error(f"{what} and {other} name the same file {path}", EXIT_USAGE)
        # Found out now, not after the run: an output directory this process cannot write.
        try:
            probe = tempfile.NamedTemporaryFile(dir=os.path.dirname(os.path.abspath(path)), prefix=".starkscope-ray-probe-")
            probe.close()
        except OSError as e:
            return _error(f"{what} {path}: cannot write into its directory: {e.strerror}", EXIT_USAGE)
    try:
        with open(args.program, "rb") as f:
            program = f.read()
        inputs = None
        if args.input_file is not None:
            with open(args.input_file, "rb") as f:
                inputs = f.read()
    except OSError as e:
        return _error(f"cannot read {e.filename}: {e.strerror}", EXIT_BAD_INPUT)
    if args.nodes_dir is not None:
        try:
            os.makedirs(args.nodes_dir, exist_ok=True)
        except OSError as e:
            return _error(f"--nodes-dir {args.nodes_dir}: {e.strerror}", EXIT_USAGE)

    from starkscope_ray.plan import Options, PlanError, run_plan, units_of

    opts = Options(
        segment_size=args.segment_size,
        children=args.children,
        fri=args.fri,
        node_fri=args.node_fri,
        threads=args.threads,
        max_cycles=args.max_cycles,
        inputs=args.inputs,
        has_input_file=inputs is not None,
    )
    try:
        planned = run_plan(binary, args.program, args.input_file, opts)
        plan = units_of(planned, opts)
    except PlanError as e:
        return _error(f"planning the run: {e}", e.exit_code)
    if args.metrics is not None and not planned.get("metrics", False):
        return _error(
            f"--metrics: {binary} writes no metrics: rebuild it with `cargo build --release -p "
            "starkscope --features bench-metrics`", EXIT_USAGE)

    import ray

    from starkscope_ray import driver

    say = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    started = datetime.datetime.now(datetime.timezone.utc)
    why = _unreachable(args.address)
    if why is not None:
        return _error(
            f"cannot reach the Ray cluster at `{args.address}`: {why}; start one with `ray start "
            "--head` (then --address auto) or give the head's address", EXIT_RETRY)
    # Failures are reported here, once, naming the unit; Ray would also log every task
    # downstream of a failed one as an "unhandled error".
    os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")
    try:
        init = {"address": None if args.address == "local" else args.address,
                "logging_level": "WARNING", "log_to_driver": False,
                "runtime_env": {"py_modules": [os.path.dirname(os.path.abspath(__file__))]}}
        if args.address == "local":
            init["include_dashboard"] = False
        ray.init(**init)
    except Exception as e:  # Ray raises ConnectionError, RuntimeError, ValueError, ...
        return _error(f"cannot reach the Ray cluster at `{args.address}`: {e}", EXIT_RETRY)
    largest = max((n.get("Resources", {}).get("CPU", 0) for n in ray.nodes() if n.get("Alive")), default=0)
    if args.threads > largest:
        return _error(
            f"--threads {args.threads}: no node of the cluster has that many CPUs (the largest "
            f"has {largest:g}); each task asks Ray for --threads CPUs", EXIT_USAGE)
    say(f"{plan.program}: {plan.cycles} cycles, {plan.segments} segments, "
        f"{len(plan.units)} units on {len(ray.nodes())} Ray node(s), {int(ray.cluster_resources().get('CPU', 0))} CPUs")
    try:
        outcome = driver.run(
            plan, binary, os.path.basename(args.program), program, inputs,
            threads=args.threads, max_retries=args.max_retries,
            want_metrics=args.metrics is not None, nodes_dir=args.nodes_dir,
            resume=args.resume, say=say,
        )
    except driver.RunFailed as e:
        return _error(f"{e}; nothing was written to {args.out}", e.exit_code)
    try:
        driver.write_atomic(args.out, outcome.root)
    except OSError as e:
        return _error(f"cannot write the root proof to {args.out}: {e}", EXIT_RETRY)
    retried = {u: n for u, n in outcome.attempts.items() if n > 1}
    summary = (f"root proof of {plan.segments} segments, {len(outcome.root)} bytes, written to "
               f"{args.out} ({outcome.wall_s:.1f}s, {len(plan.units)} units")
    summary += f"; retried: {', '.join(f'{u} ({n} attempts)' for u, n in sorted(retried.items()))})" if retried else ")"
    print(summary, flush=True)
    if args.metrics is not None:
        try:
            meta = {
                "schema": 1,
                "run_id": f"ray-{int(time.time() * 1000)}-{os.getpid()}",
                "started_at": started.strftime("%Y-%m-%dT%H:%M:%S.") + f"{started.microsecond // 1000:03d}Z",
            }
            text = driver.merged_run(plan, outcome, meta)
            driver.write_atomic(args.metrics, text.encode())
            print(f"metrics of {len(plan.units)} units merged into {args.metrics}", file=sys.stderr)
        except Exception as e:  # the root is written: say what was lost and where
            return _error(f"the root proof was written to {args.out}, but the metrics were lost: {e}", EXIT_METRICS_LOST)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "prove":
            return prove(args)
    except KeyboardInterrupt:
        return _error("interrupted; nothing was written", 130)
    except Exception as e:  # a bug of the driver: say so, with the status that means it
        import traceback

        traceback.print_exc()
        return _error(f"internal error of the driver (please report it): {e}", EXIT_INTERNAL)
    return EXIT_USAGE
