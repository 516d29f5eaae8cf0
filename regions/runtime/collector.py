"""The cyclic garbage collector's thresholds in a process that runs nodes: `tongban node`, the
bench's nodes, `tongban simulate` and `simulations.bench_simulate`.

Why: with CPython's defaults (700, 10, 10) a node spent ~18 % of its CPU collecting — every 700
container allocations a young collection, and as its caches grew (50,000 side views, 16,384
recent records, the views' rows) a full collection of the whole heap every time it had grown by
a quarter, ~130 ms each (`gc.callbacks`, one `tongban bench --quick --cases 300`: 1.0 and 1.45
CPU s of 5.9 and 7.4); the 2,000-case simulation, whose world keeps every region's store, trace
and views, 7.7 of 45 CPU s (16 full collections, 6.0 s). Deciding a case allocates many
short-lived objects (events, states, payload dicts) and few cycles, so collecting the young
generation every 20,000 allocations and the middle one every 20 young collections took the
nodes' collector to ~0.3 and 0.4 s and the simulation's to 2.3 s, with the same RSS and the
same traces (docs/performance.md, DOMAIN). Cycles are still collected; full collections still
follow the heap's growth. Not in `regions.core` (sans-IO, no process state), nor in the
simulator's `run` (tests call it): set by each of those entry points.
"""

from __future__ import annotations

import gc

#: (young, middle, old): allocations before a young collection, young collections before a
#: middle one, middle ones before an old one is considered (CPython's default: 700, 10, 10).
THRESHOLDS = (20_000, 20, 20)


def tune() -> None:
    """Set this process's collector thresholds for a node (idempotent)."""
    gc.set_threshold(*THRESHOLDS)
