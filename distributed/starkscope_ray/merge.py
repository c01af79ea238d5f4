"""One run file from the snapshots of a distributed run's units (docs/distributed.md,
"The merged run").

Each unit's snapshot labels every value with its `host`. A value is keyed by its metric and
its labels without `host` (as `starkscope prof` keys it). Values of one proof (a `segment`
or `idx` label) come from the one unit that proved it. Values several units measured:
- the process totals, as prof combines files of several processes: the largest
  `run_peak_rss_bytes`, the summed `run_cpu_time_ms` and `disk_*_bytes`;
- a group's values measured in each unit (`keygen`, which every unit re-derives; an app's
  `app_proof` span, one per segment unit): `cpu_time_ms` summed (the work spent there),
  `peak_rss_bytes` the largest, other durations the largest (the group's part of the
  critical path were its units side by side; never more than the wall clock);
- any other value equal in every unit (a key's constraint counts): kept once.
Sums are sums even of equal values: two units' equal CPU times are twice the work.
Merged values lose their `host` when their units ran on several hosts. Only a unit's
accepted attempt sends a snapshot, so a retried unit is counted once.
"""

from __future__ import annotations

import json
from typing import Dict, Iterable, List, Optional, Tuple

HOST = "host"
SCOPE_KEYS = ("segment", "idx")
SUM_OF = {"run_cpu_time_ms", "disk_read_bytes", "disk_write_bytes", "cpu_time_ms"}
KINDS = ("counter", "gauge", "histogram")


class MergeError(Exception):
    """Two units sent one proof's value twice with two values: not one run."""


def _number(text: str) -> float:
    return float(text)


def _all_equal(values: list) -> bool:
    """Equal as numbers (`"7"` and `"7.0"` are one value); histograms as lists."""
    try:
        first = [_number(x) for x in values[0]] if isinstance(values[0], list) else _number(values[0])
        return all(([_number(x) for x in v] if isinstance(v, list) else _number(v)) == first for v in values)
    except (TypeError, ValueError):
        return all(v == values[0] for v in values)


def _format(value: float, kind: str) -> str:
    if kind == "counter":
        return str(int(value))
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def merge(units: Iterable[Tuple[str, dict]]) -> Tuple[dict, List[str]]:
    """`(unit name, snapshot)` pairs -> (merged snapshot without meta, notes on combined
    values)."""
    sources: Dict[Tuple[str, str, Tuple], List[Tuple[str, object, Optional[str]]]] = {}
    for unit, snapshot in units:
        for kind in KINDS:
            for e in snapshot.get(kind, []):
                labels = [tuple(l) for l in e.get("labels", [])]
                host = next((v for k, v in labels if k == HOST), None)
                bare = tuple(sorted((k, v) for k, v in labels if k != HOST))
                key = (kind, e["metric"], bare)
                sources.setdefault(key, []).append((unit, e["value"], host))
    notes = []
    out = {k: [] for k in KINDS}
    for (kind, metric, bare), seen in sources.items():
        hosts = {h for _, _, h in seen}
        values = [v for _, v, _ in seen]
        is_proof = any(k in SCOPE_KEYS for k, _ in bare)
        if len(seen) == 1:
            value = values[0]
        elif is_proof:
            if not _all_equal(values):
                names = ", ".join(u for u, _, _ in seen)
                raise MergeError(
                    f"{metric}{dict(bare)} was sent by {len(seen)} units ({names}) with "
                    f"different values: one proof's value must come from one unit"
                )
            value = values[0]
        elif kind == "histogram":
            value = [x for v in values for x in v]
            notes.append(f"{metric}{dict(bare)}: samples of {len(seen)} units joined")
        elif metric in SUM_OF:
            value = _format(sum(_number(v) for v in values), kind)
            notes.append(f"{metric}{dict(bare)}: summed over {len(seen)} units")
        elif _all_equal(values):
            value = values[0]
        else:
            value = _format(max(_number(v) for v in values), kind)
            notes.append(f"{metric}{dict(bare)}: largest over {len(seen)} units")
        labels = [list(l) for l in bare]
        if len(hosts) == 1 and None not in hosts:
            labels.append([HOST, next(iter(hosts))])
        out[kind].append({"metric": metric, "labels": labels, "value": value})
    for kind in KINDS:
        out[kind].sort(key=lambda e: (e["metric"], e["labels"]))
    return out, notes


def to_json(snapshot: dict) -> str:
    """As the Rust writer lays it out: one metric entry per line."""
    parts = []
    if "meta" in snapshot:
        parts.append('  "meta": ' + json.dumps(snapshot["meta"], sort_keys=True))
    for kind in KINDS:
        entries = snapshot.get(kind, [])
        if not entries:
            parts.append(f'  "{kind}": []')
        else:
            lines = ",\n".join("    " + json.dumps(e) for e in entries)
            parts.append(f'  "{kind}": [\n{lines}\n  ]')
    return "{\n" + ",\n".join(parts) + "\n}\n"
