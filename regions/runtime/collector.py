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
same traces (docs/performance.md, DOMAIN). At (20,000, 20, 20) the collector was still ~8 % of
both nodes' CPU in a 1,000-case burst (455 ms of 5.5 s, py-spy `--gil` and `gc.callbacks`), the
middle generation collected over and over as a burst's cases lived through two young
collections; at (100,000, 50, 100) it was 165 ms, burst CPU per case 5.55 → 4.85 ms, three
300-case pairs 5.39–6.74 → 4.99–5.89, the same RSS (docs/performance.md, CPU3). Cycles are
still collected; full collections still follow the heap's growth.

Why the young threshold is 25,000, not 100,000 (issue 17, the paced phases' p99): a young
collection walks every object allocated since the last one that is still alive, so its pause
grows with the threshold — at 100,000 one took 38–45 ms of CPU (80–450 ms of wall on a shared
machine), every thread of the node held meanwhile (the loop, the database thread: both hops
between regions), and a paced phase had one to three per node: every event in flight behind it,
more than the 1 % of events the p99 is. At 25,000 a young collection in the paced phases takes
7–10 ms (at most ~20), four times as often. What they walk in all is nearly the same (the count
is allocations less deallocations: mostly the same survivors, walked once each) but not quite:
an object that would have died before a rare collection is walked by a frequent one — at
10,000 (3–4 ms a pause) that was +0.3 ms of CPU a case in a burst whose caches are full, at
25,000 +0.2 (`gc.callbacks`, the bench's `--hops`). The middle generation is still collected
every 5,000,000 allocations (25,000 × 200), as CPU3 tuned it (docs/performance.md, P99).

Why the interpreter's switch interval is 1 ms, not CPython's 5 (issue 17, the paced phases): a
node's threads take the interpreter lock in turns — the loop (the broker), the database thread
(every hop's transaction), the views' writer (folding, ~a third of a paced phase) — and a thread
returning from PostgreSQL or the socket waits up to the interval for the lock while another
computes: every round trip of an inbox transaction paid it while the views' thread folded.
At 1 ms the paced-60 p99 was lower in 4 of 4 alternating pairs, and the burst faster in 4 of
4 (docs/performance.md, PACED). Threads that compute alone never switch, so it costs only where
the lock is contended.

Not in `regions.core` (sans-IO, no process state), nor in the simulator's `run` (tests call it):
set by each of those entry points.
"""

from __future__ import annotations

import gc
import sys

#: (young, middle, old): allocations before a young collection, young collections before a
#: middle one, middle ones before an old one is considered (CPython's default: 700, 10, 10).
THRESHOLDS = (25_000, 200, 100)
#: How long a thread may hold the interpreter lock while another waits for it (s).
SWITCH_INTERVAL = 0.001


def tune() -> None:
    """Set this process's collector thresholds and switch interval for a node (idempotent)."""
    gc.set_threshold(*THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL)
