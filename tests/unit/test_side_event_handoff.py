"""A node's readers take the domain event the node saved instead of decoding the payload again.

Why: the views fold every side event (`projections.cases.apply` calls `SideEvent.event()`), and
decoding the stored payload was 15 % of the views' thread at burst (docs/performance.md) for an
event the node had just built. The handed event must be the one the payload decodes to, or a
view folded live would differ from the same view folded again after a restart.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import pytest

from domain.kernel import Actor, event_from_payload
from domain.protocols import spec_of
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.recent_log import RecentLog
from regions.core.side_events import SideEventTailer
from regions.core.tailer import MemoryCursor
from regions.runtime.bootstrap import build_region
from simulations.runner import run
from tests.unit import toy_protocol as toy

A, B = "150600", "610800"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def test_side_events_read_from_the_latest_commits_carry_the_saved_event_equal_to_the_payload(
        ) -> None:
    region = build_region(RegionConfig(region=A, peers=(A, B)), clock=lambda: T0,
                          ids=uuid.uuid4, broker=None, store=MemoryStore(),
                          protocols={"toy": spec_of("toy", toy)})
    for n in range(3):
        case_id = toy.new_case(A)
        region.node.submit(case_id, toy.number_of(case_id), "toy", toy.Ping(
            actor=Actor("staff", "s", A), case_id=case_id, n=n, to=B, home=A), T0)
    tailer = SideEventTailer(A, region.node.app, cursor=MemoryCursor())
    batch = tailer.step(T0)
    assert batch is not None and len(batch.items) >= 3
    for item in batch.items:
        handed = item.__dict__.get("_event")
        assert handed is not None, item  # the node's own event, no decoding
        assert handed == event_from_payload(item.type, item.payload, item.schema_version)
        assert item.event() is handed
        assert "_event" not in asdict(item)  # not a field: the record's stored facts alone


def test_a_side_event_decodes_its_payload_once() -> None:
    region = build_region(RegionConfig(region=A, peers=(A, B)), clock=lambda: T0,
                          ids=uuid.uuid4, broker=None, store=MemoryStore(),
                          protocols={"toy": spec_of("toy", toy)})
    case_id = toy.new_case(A)
    region.node.submit(case_id, toy.number_of(case_id), "toy", toy.Ping(
        actor=Actor("staff", "s", A), case_id=case_id, n=0, to=B, home=A), T0)
    item = SideEventTailer(A, region.node.app, cursor=MemoryCursor()).step(T0).items[0]  # type: ignore[union-attr]
    fresh = type(item)(**asdict(item))  # as a reader elsewhere (the feed's decoder) builds it
    assert fresh.event() is fresh.event()
    assert fresh.event() == item.event()


def test_every_event_a_simulated_run_hands_to_its_readers_is_what_its_payload_decodes_to(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The real protocols (pension transfers and the rest the simulator drives), every event
    type they write: the handed event equals the stored payload decoded, so folding either
    gives the same view."""
    checked: set[str] = set()
    committed = RecentLog.committed

    def checking(log: RecentLog, recordings: Sequence[Any],
                 aggregates: Mapping[Any, Any] | None = None) -> None:
        committed(log, recordings, aggregates)
        for recording in recordings:
            saved = recording.domain_event
            handed = log.decoded(recording.notification)
            if handed is not None:
                assert handed == event_from_payload(saved.type, saved.payload,
                                                    saved.schema_version), saved.type
                checked.add(saved.type)

    monkeypatch.setattr(RecentLog, "committed", checking)
    run(3, 30)
    assert len(checked) >= 30, checked
