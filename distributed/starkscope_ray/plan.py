"""The run's units of work, from `starkscope plan --json` (the tree's shape and numbering
have one definition, the SDK's), as `UnitSpec`s in dependency order."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import List, Optional, Sequence

from starkscope_ray.unit import UnitSpec


class PlanError(Exception):
    """`starkscope plan` refused the run (bad program, inputs or options)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Options:
    segment_size: int
    children: int
    fri: str
    node_fri: str
    threads: int
    max_cycles: Optional[int]
    inputs: Sequence[str]
    has_input_file: bool


@dataclass
class Plan:
    program: str
    segments: int
    cycles: int
    units: List[UnitSpec]  # segments, then each layer, then the root
    layers: List[str]  # "segments", "leaf", "internal.0", .., "root"


def run_plan(binary: str, program_path: str, input_file: Optional[str], opts: Options) -> dict:
    argv = [
        binary, "plan", program_path,
        "--segment-size", str(opts.segment_size),
        "--children", str(opts.children),
        "--fri", opts.fri,
        "--node-fri", opts.node_fri,
        "--json",
    ]
    if opts.max_cycles is not None:
        argv += ["--max-cycles", str(opts.max_cycles)]
    if input_file is not None:
        argv += ["--input-file", input_file]
    if opts.inputs:
        argv += ["--input", *opts.inputs]
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    except OSError as e:
        raise PlanError(f"cannot run {binary}: {e}", 2) from e
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise PlanError(message[len("error: "):] if message.startswith("error: ") else message, done.returncode)
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise PlanError(f"{binary} printed no plan: is it a starkscope binary with `plan`?", 2) from None


def _input_args(opts: Options) -> List[str]:
    args: List[str] = []
    if opts.has_input_file:
        args += ["--input-file", "{inputs}"]
    if opts.inputs:
        args += ["--input", *opts.inputs]
    return args


def units_of(plan: dict, opts: Options) -> Plan:
    """Every unit of the run with its command line (placeholders filled by the task)."""
    common = ["--threads", str(opts.threads), "--out", "{out}", "--host", "{host}"]
    units: List[UnitSpec] = []
    segment_names = []
    for s in plan["segments"]:
        name = f"segment {s['segment']}"
        argv = [
            "prove-segment", "{program}",
            "--segment", str(s["segment"]),
            "--segment-size", str(opts.segment_size),
            "--fri", opts.fri,
            *common,
        ]
        if opts.max_cycles is not None:
            argv += ["--max-cycles", str(opts.max_cycles)]
        argv += _input_args(opts)
        units.append(UnitSpec(name=name, layer="segments", file=s["file"], argv=argv))
        segment_names.append(name)
    layers = ["segments"]
    below = segment_names
    for layer in plan["layers"]:
        group = layer["group"]
        layers.append(group)
        names = []
        for node in layer["nodes"]:
            name = f"{group} {node['idx']}"
            children = [below[c] for c in node["children"]]
            argv = [
                "aggregate", "--program", "{program}",
                "--children", *[f"{{child{i}}}" for i in range(len(children))],
                "--idx", str(node["idx"]),
                "--node-fri", opts.node_fri,
                *common,
            ]
            units.append(UnitSpec(name=name, layer=group, file=node["file"], argv=argv, children=children))
            names.append(name)
        below = names
    top = below[plan["root"]["child"]]
    argv = [
        "aggregate", "--program", "{program}", "--root",
        "--children", "{child0}",
        "--node-fri", opts.node_fri,
        *common,
        *(["--max-cycles", str(opts.max_cycles)] if opts.max_cycles is not None else []),
        *_input_args(opts),
    ]
    units.append(UnitSpec(name="root", layer="root", file=plan["root"]["file"], argv=argv, children=[top]))
    layers.append("root")
    return Plan(
        program=plan["program"],
        segments=len(plan["segments"]),
        cycles=plan["cycles"],
        units=units,
        layers=layers,
    )
