"""The case views agree with the protocol, and a replay in any batching gives the same views."""

from __future__ import annotations

import datetime as dt
import itertools
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.records import SideEvent
from projections.views import Views
from regions.core.side_events import SideEventTailer
from regions.core.tailer import MemoryCursor
from simulations.runner import RunResult, run

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@cache
def simulated() -> RunResult:
    return run(seed=11, cases=40, faults=("drop", "duplicate", "reorder", "delay"))


def side_events(result: RunResult, code: str) -> list[SideEvent]:
    region = result.world.regions[code].region
    tailer = SideEventTailer(code, region.node.app, cursor=MemoryCursor())
    records: list[SideEvent] = []
    while (batch := tailer.step(NOW)) is not None:
        records.extend(batch.items)
        tailer.advance(batch, NOW)
    return records


def deciders(result: RunResult, code: str) -> dict[str, object]:
    return {p: b.decider for p, b in result.world.regions[code].region.node.protocols.items()}


def test_each_view_shows_the_status_the_protocol_decided() -> None:
    result = simulated()
    checked = 0
    for code, sim in result.world.regions.items():
        deciding = deciders(result, code)
        views = Views(deciding)  # type: ignore[arg-type]
        views.feed(side_events(result, code))
        for case_id, view in views.cases.items():
            side = sim.region.node.side(case_id)
            assert side is not None
            summary = deciding[side.process].summary(side.state)  # type: ignore[attr-defined]
            assert (view.status, view.terminal) == (summary.status, summary.terminal), case_id
            assert view.timeline and view.timeline[0].at <= view.timeline[-1].at
            if view.terminal:
                assert view.deadlines == ()
            checked += 1
    assert checked > 40  # joint cases have a view on each side


def test_a_completed_transfer_shows_both_regions_steps() -> None:
    result = simulated()
    for code in result.world.regions:
        views = Views(deciders(result, code))  # type: ignore[arg-type]
        views.feed(side_events(result, code))
        for view in views.cases.values():
            if view.process == "pension_transfer" and view.status == "completed":
                regions = {step.region for step in view.timeline}
                assert view.region in regions and len(regions) >= 2, view.timeline
                assert any(step.received_from for step in view.timeline)
                assert view.status_text == "已办结"
                return
    raise AssertionError("the run completed no pension transfer")


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
       repeat=st.integers(min_value=0, max_value=30))
def test_live_equals_replay_whatever_the_batches_and_repeats(cuts: list[int], repeat: int) -> None:
    """Fed batch by batch, with a batch handed on again (a crash between sink and cursor),
    the views equal those of one replay from scratch."""
    result = simulated()
    code = sorted(result.world.regions)[0]
    records = side_events(result, code)
    replay = Views(deciders(result, code))  # type: ignore[arg-type]
    replay.feed(records)
    live = Views(deciders(result, code))  # type: ignore[arg-type]
    bounds = sorted({0, len(records), *(min(c, len(records)) for c in cuts)})
    for start, end in itertools.pairwise(bounds):
        live.feed(records[start:end])
        live.feed(records[max(0, end - repeat):end])  # handed on again
    assert live.cases == replay.cases
    assert live.queue() == replay.queue()
