"""Local vs Ray: the same run proven by `starkscope prove --aggregate` in one process and by
`python -m starkscope_ray prove` on a local cluster of two one-CPU worker nodes; wall time,
CPU time, bytes moved between tasks, and the engine's overhead per task. Medians of
--repeats runs each, alternating. Run by scripts/ray-bench.sh."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# The cluster listens on 127.0.0.1 only; Ray would resolve that to the routable address
# unless clusters are declared local (read when ray is imported).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MIB = 1024 * 1024


def machine_cpu_s() -> float:
    """User + system CPU seconds of the whole machine so far (/proc/stat)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    user, nice, system = (int(x) for x in fields[:3])
    return (user + nice + system) / os.sysconf("SC_CLK_TCK")


def gauge(run: dict, metric: str) -> float:
    return sum(float(e["value"]) for e in run["gauge"] if e["metric"] == metric
               and not [k for k, _ in e["labels"] if k != "host"])


def summed(run: dict, metric: str) -> float:
    return sum(float(e["value"]) for e in run["gauge"] if e["metric"] == metric)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--program", default=os.path.join(REPO, "benchmarks/programs/fibonacci.sasm"))
    p.add_argument("--input", default="25000")
    p.add_argument("--segment-size", default="32768")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="starkscope-ray-bench-")
    common = ["--segment-size", a.segment_size, "--fri", "fast", "--node-fri", "recursion"]

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "include_dashboard": False, "node_ip_address": "127.0.0.1",
        "object_store_memory": 200 * MIB})
    for _ in range(2):
        cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1", object_store_memory=200 * MIB)
    cluster.wait_for_nodes()
    env = dict(os.environ, PYTHONPATH=HERE, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")

    local, distributed = [], []
    for r in range(a.repeats):
        out, metrics = os.path.join(tmp, "local-root.bin"), os.path.join(tmp, "local.json")
        cpu0, t0 = machine_cpu_s(), time.time()
        subprocess.run([a.binary, "prove", a.program, "-i", a.input, *common, "--aggregate",
                        "--threads", "2", "--out", out, "--metrics", metrics, "-q"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall, cpu = time.time() - t0, machine_cpu_s() - cpu0
        run = json.load(open(metrics))
        local.append({"wall_s": wall, "machine_cpu_s": cpu,
                      "process_cpu_s": gauge(run, "run_cpu_time_ms") / 1e3,
                      "circuit_build_s": summed(run, "circuit_build_time_ms") / 1e3})

        out, metrics = os.path.join(tmp, "ray-root.bin"), os.path.join(tmp, "ray.json")
        cpu0, t0 = machine_cpu_s(), time.time()
        subprocess.run([sys.executable, "-m", "starkscope_ray", "prove", a.program, "-i", a.input,
                        *common, "--address", cluster.address, "--threads", "1",
                        "--starkscope", a.binary, "--out", out, "--metrics", metrics, "-q"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        wall, cpu = time.time() - t0, machine_cpu_s() - cpu0
        run = json.load(open(metrics))
        d = run["meta"]["distributed"]
        overhead = [u["task_ms"] - u["cli_ms"] for u in d["per_unit"]]
        distributed.append({
            "wall_s": wall, "machine_cpu_s": cpu,
            "units_cpu_s": gauge(run, "run_cpu_time_ms") / 1e3,
            "graph_wall_s": d["wall_ms"] / 1e3,
            "bytes_moved": d["bytes_moved"], "units": d["units"],
            "in_task_overhead_ms": statistics.median(overhead),
            "idle_cpu_s": 2 * d["wall_ms"] / 1e3 - sum(u["task_ms"] for u in d["per_unit"]) / 1e3,
            "circuit_build_s": summed(run, "circuit_build_time_ms") / 1e3,
        })
        print(f"run {r + 1}: local {local[-1]['wall_s']:.1f}s, ray {wall:.1f}s", file=sys.stderr, flush=True)

    # The engine's own cost of a task: an empty task's round trip from this driver.
    ray.init(address=cluster.address, logging_level="WARNING", log_to_driver=False)

    @ray.remote(num_cpus=1)
    def empty() -> int:
        return 0

    ray.get(empty.remote())
    trips = []
    for _ in range(30):
        t0 = time.perf_counter()
        ray.get(empty.remote())
        trips.append((time.perf_counter() - t0) * 1e3)
    ray.shutdown()
    cluster.shutdown()

    med = lambda rows, k: statistics.median(r[k] for r in rows)  # noqa: E731
    print(f"\n{a.program} -i {a.input}, segment size {a.segment_size}, fast / recursion, "
          f"medians of {a.repeats} runs")
    print("| | local (`prove --aggregate --threads 2`) | Ray (2 nodes x 1 CPU, `--threads 1`) | Ray / local |")
    print("|---|---:|---:|---:|")
    print(f"| wall s | {med(local, 'wall_s'):.2f} | {med(distributed, 'wall_s'):.2f} | "
          f"{med(distributed, 'wall_s') / med(local, 'wall_s'):.2f} |")
    print(f"| machine CPU s (/proc/stat) | {med(local, 'machine_cpu_s'):.2f} | "
          f"{med(distributed, 'machine_cpu_s'):.2f} | "
          f"{med(distributed, 'machine_cpu_s') / med(local, 'machine_cpu_s'):.2f} |")
    print(f"| starkscope processes' CPU s | {med(local, 'process_cpu_s'):.2f} | "
          f"{med(distributed, 'units_cpu_s'):.2f} | "
          f"{med(distributed, 'units_cpu_s') / med(local, 'process_cpu_s'):.2f} |")
    print(f"| units | 1 process | {distributed[0]['units']} tasks | |")
    print(f"| bytes moved between tasks | 0 | {int(med(distributed, 'bytes_moved')):,} | |")
    print(f"| in-task overhead per task ms (task - command) | | {med(distributed, 'in_task_overhead_ms'):.1f} | |")
    print(f"| circuit builds s (each unit builds its own and the ones below it) | "
          f"{med(local, 'circuit_build_s'):.2f} | {med(distributed, 'circuit_build_s'):.2f} | "
          f"{med(distributed, 'circuit_build_s') / med(local, 'circuit_build_s'):.2f} |")
    print(f"| CPU s the 2 worker CPUs sat idle (2 x graph wall - summed task time) | | "
          f"{med(distributed, 'idle_cpu_s'):.2f} | |")
    print(f"| empty task round trip ms (median of 30) | | {statistics.median(trips):.2f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
