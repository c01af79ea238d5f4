"""The driver's refusals that need no cluster: each exits with the CLI's status for it,
names what is wrong, and writes nothing."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)
REPO = os.path.dirname(PACKAGE_ROOT)
PROGRAM = os.path.join(REPO, "benchmarks", "programs", "fibonacci.sasm")
BINARY = os.environ.get("STARKSCOPE_BIN", os.path.join(REPO, "target", "release", "starkscope"))


def driver(*args):
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT)
    return subprocess.run([sys.executable, "-m", "starkscope_ray", "prove", *args],
                          capture_output=True, text=True, env=env, timeout=120)


class Refusals(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="starkscope-ray-cli-")
        self.out = os.path.join(self.tmp, "root.bin")

    def test_each_bad_option_is_named_with_its_status(self):
        cases = [
            (["--out", PROGRAM], 2, "--out and PROGRAM name the same file"),
            (["--out", self.out, "--fri", "fsat"], 2, "unknown FRI preset `fsat`"),
            (["--out", self.out, "--threads", "0"], 2, "--threads must be at least 1"),
            (["--out", self.out, "--resume"], 2, "--resume takes the proofs in --nodes-dir"),
            (["--out", self.out, "--starkscope", "/bin/true"], 2, "printed no plan"),
            (["--out", os.path.join(self.tmp, "no", "root.bin")], 2, "its directory does not exist"),
        ]
        for extra, status, message in cases:
            argv = [PROGRAM, "-i", "20", "--starkscope", BINARY, *extra]
            # the last --starkscope wins in argparse
            done = driver(*argv)
            self.assertEqual(done.returncode, status, f"{extra}: {done.stderr}")
            self.assertIn(message, done.stderr, extra)
            self.assertFalse(os.path.exists(self.out), extra)

    def test_an_unreachable_cluster_is_named_at_once_and_worth_retrying(self):
        done = driver(PROGRAM, "-i", "20", "--starkscope", BINARY, "--out", self.out,
                      "--address", "127.0.0.1:1")
        self.assertEqual(done.returncode, 75, done.stderr)
        self.assertIn("cannot reach the Ray cluster at `127.0.0.1:1`", done.stderr)
        self.assertFalse(os.path.exists(self.out))

    def test_a_program_that_does_not_assemble_is_bad_input(self):
        bad = os.path.join(self.tmp, "bad.sasm")
        with open(bad, "w") as f:
            f.write("not_an_opcode r1\n")
        done = driver(bad, "--out", self.out, "--starkscope", BINARY)
        self.assertEqual(done.returncode, 3, done.stderr)
        self.assertIn("bad.sasm", done.stderr)
        self.assertFalse(os.path.exists(self.out))


if __name__ == "__main__":
    unittest.main()
