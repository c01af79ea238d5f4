"""The merged run's rules (starkscope_ray.merge), on hand-made unit snapshots."""

import unittest

from starkscope_ray.merge import MergeError, merge


def entry(metric, value, host, **labels):
    return {"metric": metric, "labels": [[k, v] for k, v in labels.items()] + [["host", host]], "value": value}


def find(snapshot, kind, metric, **labels):
    want = sorted(labels.items())
    hits = [e for e in snapshot[kind] if e["metric"] == metric
            and sorted((k, v) for k, v in e["labels"] if k != "host") == want]
    assert len(hits) == 1, hits
    return hits[0]


class Merge(unittest.TestCase):
    def test_each_proof_kept_with_its_host_and_process_totals_combined(self):
        a = {"gauge": [entry("total_proof_time_ms", "10.5", "a", group="fib", segment="0"),
                       entry("run_peak_rss_bytes", "100", "a"),
                       entry("run_cpu_time_ms", "7", "a"),
                       entry("keygen_time_ms", "3", "a", group="keygen")],
             "counter": [entry("constraints", "12", "a", group="keygen", air_name="cpu")]}
        b = {"gauge": [entry("total_proof_time_ms", "20", "b", group="leaf", idx="0"),
                       entry("run_peak_rss_bytes", "300", "b"),
                       entry("run_cpu_time_ms", "5", "b"),
                       entry("keygen_time_ms", "4", "b", group="keygen")],
             "counter": [entry("constraints", "12", "b", group="keygen", air_name="cpu")]}
        merged, notes = merge([("segment 0", a), ("leaf 0", b)])
        seg = find(merged, "gauge", "total_proof_time_ms", group="fib", segment="0")
        self.assertIn(["host", "a"], seg["labels"])
        leaf = find(merged, "gauge", "total_proof_time_ms", group="leaf", idx="0")
        self.assertIn(["host", "b"], leaf["labels"])
        self.assertEqual(find(merged, "gauge", "run_peak_rss_bytes")["value"], "300")
        self.assertEqual(find(merged, "gauge", "run_cpu_time_ms")["value"], "12")
        self.assertEqual(find(merged, "gauge", "keygen_time_ms", group="keygen")["value"], "4")
        constraints = find(merged, "counter", "constraints", group="keygen", air_name="cpu")
        self.assertEqual(constraints["value"], "12")
        # Measured on two hosts: the merged value is no one host's.
        self.assertNotIn("host", [k for k, _ in constraints["labels"]])
        self.assertTrue(any("run_cpu_time_ms" in n and "summed" in n for n in notes), notes)

    def test_equal_totals_of_two_units_are_still_two_units_work(self):
        a = {"gauge": [entry("run_cpu_time_ms", "7", "a"), entry("disk_write_bytes", "4096", "a")]}
        b = {"gauge": [entry("run_cpu_time_ms", "7.0", "b"), entry("disk_write_bytes", "4096", "b")]}
        merged, _ = merge([("segment 0", a), ("segment 1", b)])
        self.assertEqual(find(merged, "gauge", "run_cpu_time_ms")["value"], "14")
        self.assertEqual(find(merged, "gauge", "disk_write_bytes")["value"], "8192")

    def test_one_proof_sent_twice_with_two_values_is_refused(self):
        a = {"gauge": [entry("total_proof_time_ms", "10", "a", group="fib", segment="0")]}
        b = {"gauge": [entry("total_proof_time_ms", "11", "b", group="fib", segment="0")]}
        with self.assertRaises(MergeError) as raised:
            merge([("segment 0", a), ("segment 0 again", b)])
        self.assertIn("segment 0, segment 0 again", str(raised.exception))


if __name__ == "__main__":
    unittest.main()
