"""A restarted node's quarantine budget reads on from where the last start's reading stopped
(`quarantine_budget.Parked`): the same records and bytes as a full read of the store, without
reading every record again (the simulator restarts its regions hundreds of times)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from domain.protocols import spec_of
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.inbox import Incoming
from regions.core.quarantine_budget import QuarantineBudget
from regions.runtime.bootstrap import Region, build_region
from regions.wire import subjects
from tests.unit import toy_protocol as toy

HOME, TARGET = "150600", "610800"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def region(store: MemoryStore, records: int = 10_000) -> Region:
    return build_region(RegionConfig(region=TARGET, peers=(HOME,), gap_bound_seconds=10,
                                     quarantine_max_records=records),
                        clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store,
                        protocols={"toy": spec_of("toy", toy)})


def junk(n: int) -> Incoming:
    return Incoming(subjects.event_subject(TARGET, HOME), f"junk {n} ".encode() * (n + 1), {},
                    token=n, subject_origin=HOME)


def full_read(target: Region) -> tuple[int, int]:
    fresh = QuarantineBudget()
    fresh.load(target.node.app)
    return fresh.records, fresh.size


def test_a_restart_reads_only_what_was_parked_since_and_counts_the_same() -> None:
    store = MemoryStore()
    target = region(store)
    starts: list[Any] = []
    for round_ in range(3):
        target.inbox.handle([junk(10 * round_ + n) for n in range(round_ + 1)], T0)
        budget = target.inbox.budget
        assert (budget.records, budget.size) == full_read(target)
        recorder = target.node.app.recorder
        position = budget.parked.position
        original = recorder.select_notifications

        def spy(*args: Any, original: Any = original, **kwargs: Any) -> Any:
            starts.append(kwargs.get("start"))
            return original(*args, **kwargs)

        target.restart()
        target.node.app.recorder.select_notifications = spy  # type: ignore[method-assign]
        starts.clear()
        target.inbox.handle([junk(100 + round_)], T0)
        assert starts and min(starts) >= position  # read on, never from the start
        assert position > 0 or round_ == 0  # (the first start read an empty store)
        budget = target.inbox.budget
        assert (budget.records, budget.size) == full_read(target)


def test_the_count_bound_holds_across_restarts_read_on() -> None:
    store = MemoryStore()
    target = region(store, records=3)
    target.inbox.handle([junk(0), junk(1)], T0)
    target.restart()
    target.inbox.handle([junk(2)], T0)
    target.restart()
    target.inbox.handle([junk(3), junk(4)], T0)
    assert full_read(target)[0] == 3
    assert target.inbox.stats["quarantine_dropped"] == 2
