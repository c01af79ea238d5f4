"""Prove a starkscope run on Ray: each segment proof and each aggregation node is a task
running one `starkscope` unit of work (`prove-segment`, `aggregate`); proofs move between
tasks as Ray objects; every unit's metrics snapshot is merged into one run file that
`starkscope prof` reads like a local run (docs/distributed.md)."""

__version__ = "0.1.0"
