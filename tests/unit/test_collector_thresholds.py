"""A node process's collector thresholds (regions/runtime/collector.py).

Why: a young collection holds every thread of the node (the event loop, the database thread:
both hops between regions) for as long as it walks the young generation, which grows with the
young threshold; the paced phases' p99 propagation is set by such pauses when they are long.
The middle generation's spacing in allocations was tuned for CPU (docs/performance.md, CPU3)
and must not move when the young threshold does.
"""

from __future__ import annotations

import gc
import sys

from regions.runtime import collector

#: Allocations between middle collections, as CPU3 tuned them ((100,000, 50, ...)).
MIDDLE_SPACING = 5_000_000


def test_a_young_collection_walks_at_most_a_quarter_of_what_it_did() -> None:
    young, _, _ = collector.THRESHOLDS
    assert young <= 25_000  # 100,000 before: 38-45 ms of CPU a pause


def test_the_middle_generation_is_collected_as_seldom_as_before() -> None:
    young, middle, old = collector.THRESHOLDS
    assert young * middle == MIDDLE_SPACING
    assert old == 100


def test_tune_sets_the_process_thresholds() -> None:
    before, interval = gc.get_threshold(), sys.getswitchinterval()
    try:
        collector.tune()
        assert gc.get_threshold() == collector.THRESHOLDS
        collector.tune()  # idempotent
        assert gc.get_threshold() == collector.THRESHOLDS
    finally:
        gc.set_threshold(*before)
        sys.setswitchinterval(interval)


def test_tune_gives_the_interpreter_lock_in_turns_of_a_millisecond() -> None:
    """A thread back from PostgreSQL waits at most this for a thread that computes (PACED)."""
    interval = sys.getswitchinterval()
    try:
        collector.tune()
        assert abs(sys.getswitchinterval() - 0.001) < 1e-9  # CPython's default: 0.005
    finally:
        sys.setswitchinterval(interval)
