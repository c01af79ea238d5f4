"""The Ray driver on a local multi-node cluster (two worker nodes of one CPU each, bound to
127.0.0.1, no dashboard, small object stores), through its documented entry point
`python -m starkscope_ray prove`, with the real `starkscope` binary ($STARKSCOPE_BIN, built
with --features bench-metrics)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from ray.cluster_utils import Cluster

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)
REPO = os.path.dirname(PACKAGE_ROOT)
PROGRAM = os.path.join(REPO, "benchmarks", "programs", "fibonacci.sasm")
INPUT = "200"  # 1006 cycles: 4 segments of 256
SEGMENT_SIZE = "256"
BINARY = os.environ.get("STARKSCOPE_BIN", os.path.join(REPO, "target", "release", "starkscope"))
MIB = 1024 * 1024


def driver_env() -> dict:
    # Ray turns a loopback address into this machine's routable one unless told that
    # clusters are local (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0): the cluster here listens
    # on 127.0.0.1 only.
    return dict(
        os.environ,
        PYTHONPATH=PACKAGE_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
    )


def prove_args(address: str, out: str, metrics: str = None, extra=()) -> list:
    argv = [
        sys.executable, "-m", "starkscope_ray", "prove", PROGRAM, "-i", INPUT,
        "--segment-size", SEGMENT_SIZE, "--fri", "testing", "--node-fri", "testing",
        "--address", address, "--out", out, "--starkscope", BINARY, *extra,
    ]
    if metrics is not None:
        argv += ["--metrics", metrics]
    return argv


def children_of(pid: int) -> list:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return out


def cmdline(pid: int) -> list:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def proving_unit(binary: str):
    """A running `starkscope prove-segment` started by a Ray worker: (its pid, the worker's
    pid, the segment)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        argv = cmdline(int(entry))
        if len(argv) > 2 and argv[0] == binary and argv[1] == "prove-segment":
            try:
                worker = parent_of(int(entry))
            except OSError:
                continue
            segment = argv[argv.index("--segment") + 1]
            return int(entry), worker, int(segment)
    return None


def read_run(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def labels_of(entry) -> dict:
    return dict(tuple(l) for l in entry["labels"])


class RayCluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(BINARY, os.X_OK):
            raise AssertionError(
                f"no starkscope binary at {BINARY}: build it with `cargo build --release -p "
                "starkscope --features bench-metrics` or set STARKSCOPE_BIN")
        cls.cluster = Cluster(
            initialize_head=True,
            head_node_args={
                "num_cpus": 0,  # the driver's node: every unit runs on a worker node
                "include_dashboard": False,
                "node_ip_address": "127.0.0.1",
                "object_store_memory": 80 * MIB,
            },
        )
        for _ in range(2):
            cls.cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1", object_store_memory=80 * MIB)
        cls.cluster.wait_for_nodes()
        cls.tmp = tempfile.mkdtemp(prefix="starkscope-ray-test-")

    @classmethod
    def tearDownClass(cls):
        cls.cluster.shutdown()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_a_worker_killed_while_proving_is_retried_and_the_run_completes(self):
        out = os.path.join(self.tmp, "root.bin")
        metrics = os.path.join(self.tmp, "run.json")
        nodes = os.path.join(self.tmp, "nodes")
        driver = subprocess.Popen(
            prove_args(self.cluster.address, out, metrics, ["--nodes-dir", nodes]),
            env=driver_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        killed = None
        deadline = time.time() + 120
        while killed is None and driver.poll() is None and time.time() < deadline:
            found = proving_unit(BINARY)
            if found is not None:
                prover, worker, segment = found
                os.kill(worker, signal.SIGKILL)
                killed = (prover, segment)
            else:
                time.sleep(0.02)
        stdout, stderr = driver.communicate(timeout=300)
        stderr = stderr.decode()
        self.assertIsNotNone(killed, f"no segment unit was seen proving; driver said:\n{stderr}")
        self.assertEqual(driver.returncode, 0, f"the run failed after the kill:\n{stderr}")
        prover, segment = killed
        time.sleep(0.2)
        self.assertFalse(os.path.exists(f"/proc/{prover}") and cmdline(prover),
                         "the killed worker's prover outlived it")

        verify = subprocess.run(
            [BINARY, "verify", out, "--program", PROGRAM, "--fri", "testing", "--node-fri", "testing",
             "--allow-insecure"], capture_output=True, text=True)
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        self.assertIn("4 segments aggregated into one root proof", verify.stdout)

        run = read_run(metrics)
        meta = run["meta"]["distributed"]
        self.assertEqual(meta["units"], 8)  # 4 segments, 2 leaves, 1 internal, the root
        self.assertIn(f"segment {segment}", meta["retried"], meta)
        attempts = {u["unit"]: u["attempts"] for u in meta["per_unit"]}
        self.assertGreaterEqual(attempts[f"segment {segment}"], 2)
        self.assertEqual(len(meta["hosts"]), 2, "both worker nodes proved units")

        # Every segment and node once, with its labels and where it ran.
        proofs = {}
        for e in run["gauge"]:
            if e["metric"] != "total_proof_time_ms":
                continue
            labels = labels_of(e)
            key = (labels["group"], labels.get("segment", labels.get("idx")))
            self.assertNotIn(key, proofs, f"{key} twice in the merged run")
            self.assertIn("host", labels, e)
            proofs[key] = e
        expected = {("fibonacci", str(i)) for i in range(4)} | {
            ("leaf", "0"), ("leaf", "1"), ("internal.0", "0"), ("root", "0")}
        self.assertEqual(set(proofs), expected)
        by_unit = {u["unit"]: u["host"] for u in meta["per_unit"]}
        self.assertEqual(labels_of(proofs[("leaf", "1")])["host"], by_unit["leaf 1"])

        prof = subprocess.run([BINARY, "prof", metrics], capture_output=True, text=True)
        self.assertEqual(prof.returncode, 0, prof.stderr)
        table = prof.stdout.split("## Layers", 1)[1].split("\n## ", 1)[0]
        for layer, nodes_in_layer in (("fibonacci", 4), ("leaf", 2), ("internal.0", 1), ("root", 1)):
            row = next(l for l in table.splitlines() if l.startswith(f"| {layer} |"))
            self.assertEqual(row.split("|")[2].strip(), str(nodes_in_layer), row)
        self.assertIn("internal.0", stderr)  # per-layer progress lines
        self.assertIn("root 1/1", stderr)
        for name in ("segment-0.bin", "segment-3.bin", "leaf-1.bin", "internal.0-0.bin", "root.bin"):
            self.assertTrue(os.path.isfile(os.path.join(nodes, name)), name)

        # Resumed from the leaves: only the layers above them run; the segments under
        # them are not needed.
        upper = os.path.join(self.tmp, "upper")
        shutil.copytree(nodes, upper)
        for name in os.listdir(upper):
            if not name.startswith("leaf-"):
                os.unlink(os.path.join(upper, name))
        resumed = subprocess.run(
            prove_args(self.cluster.address, os.path.join(self.tmp, "root2.bin"),
                       os.path.join(self.tmp, "run2.json"), ["--nodes-dir", upper, "--resume"]),
            env=driver_env(), capture_output=True, text=True, timeout=300,
        )
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertIn("not needed", resumed.stderr)
        meta2 = read_run(os.path.join(self.tmp, "run2.json"))["meta"]["distributed"]
        self.assertEqual(sorted(u["unit"] for u in meta2["per_unit"]), ["internal.0 0", "root"])
        self.assertEqual(meta2["resumed"], ["leaf 0", "leaf 1"])
        verify = subprocess.run(
            [BINARY, "verify", os.path.join(self.tmp, "root2.bin"), "--program", PROGRAM,
             "--fri", "testing", "--node-fri", "testing", "--allow-insecure"],
            capture_output=True, text=True)
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)

        # A corrupt child proof: the leaf over it fails for real, once, and names itself;
        # no root is written (an earlier root at --out is left as it was).
        bad = os.path.join(self.tmp, "bad")
        shutil.copytree(nodes, bad)
        for name in ("leaf-0.bin", "leaf-1.bin", "internal.0-0.bin", "root.bin"):
            os.unlink(os.path.join(bad, name))
        with open(os.path.join(bad, "segment-1.bin"), "r+b") as f:
            f.seek(4000)
            byte = f.read(1)
            f.seek(4000)
            f.write(bytes([byte[0] ^ 0x5A]))
        bad_out = os.path.join(self.tmp, "bad-root.bin")
        bad_metrics = os.path.join(self.tmp, "bad-run.json")
        failed = subprocess.run(
            prove_args(self.cluster.address, bad_out, bad_metrics, ["--nodes-dir", bad, "--resume"]),
            env=driver_env(), capture_output=True, text=True, timeout=300,
        )
        self.assertEqual(failed.returncode, 3, failed.stderr)
        self.assertIn("unit `leaf 0`", failed.stderr)
        self.assertIn("over segment 0, segment 1", failed.stderr)
        self.assertIn("1 attempt:", failed.stderr)
        self.assertFalse(os.path.exists(bad_out), "a root was written for a failed run")
        self.assertFalse(os.path.exists(bad_metrics))
        self.assertFalse(os.path.exists(os.path.join(bad, "root.bin")))


if __name__ == "__main__":
    unittest.main()
