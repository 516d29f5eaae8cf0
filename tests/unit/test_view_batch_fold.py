"""A case's events of a batch folded together (`projections.cases.fold`, what the views' writer
does) make the same view and state as `apply` of each in turn, under every fault of the
simulator, whatever the batches' sizes, with the node's states or without, and with events
handed on again after a crash (at or below the view's position)."""

from __future__ import annotations

from typing import Any

import pytest

from projections.cases import CaseView, apply, fold
from projections.records import SideEvent
from projections.views import Views
from regions.adapters.stores.views import NodeFolds, ViewWriter
from simulations.bench.views import side_events_by_region
from simulations.faults import ALL_FAULTS
from simulations.projection_checks import replayed
from tests.unit.test_view_folds import plain


def side_events(seed: int, folds: NodeFolds) -> list[tuple[list[SideEvent], dict[str, Any]]]:
    """Each region's side events of its protocols, and its deciders, of a 60-case run under
    every fault, the nodes' states heard in `folds`."""
    return [([r for r in items if r.process in deciders], deciders) for _, items, deciders in
            side_events_by_region(60, seed, folds, faults=ALL_FAULTS).values()]


@pytest.mark.parametrize("seed", [3, 4])
def test_a_batchs_events_folded_together_equal_those_applied_one_by_one(seed: int) -> None:
    folds = NodeFolds(kept=1_000_000)
    regions = side_events(seed, folds)
    assert sum(len(items) for items, _ in regions) > 500
    for items, deciders in regions:
        alone: dict[str, CaseView] = {}
        for r in items:
            alone[r.case_id] = apply(alone.get(r.case_id), r.fresh(), deciders[r.process])
        for batch, handed in ((1, True), (7, True), (60, False), (150, True), (10_000, True)):
            views: dict[str, CaseView] = {}
            for start in range(0, len(items), batch):
                for case_id, events in ViewWriter._group(items[start:start + batch]).items():
                    views[case_id] = fold(views.get(case_id), events,
                                          deciders[events[0].process],
                                          folds.state_after if handed else None)
            assert {k: plain(v) for k, v in views.items()} == \
                {k: plain(v) for k, v in alone.items()}, batch
            assert all(views[k].state == alone[k].state for k in alone), batch


def test_events_handed_on_again_are_skipped_inside_a_fold() -> None:
    regions = side_events(5, NodeFolds())
    items, deciders = regions[0]
    case_id = max({r.case_id for r in items}, key=lambda c: sum(r.case_id == c for r in items))
    events = [r for r in items if r.case_id == case_id]
    decider = deciders[events[0].process]
    half = len(events) // 2
    first = fold(None, events[:half], decider)
    again = fold(first, events[half - 2:], decider)  # two seen already, then the rest
    assert plain(again) == plain(fold(None, events, decider))
    assert fold(first, events[:half], decider) is first  # nothing new: the same view


@pytest.mark.parametrize("seed", [3])
def test_live_views_fed_in_batches_and_a_whole_case_replayed_equal_apply_one_by_one(
        seed: int) -> None:
    """`Views.feed` folds each case's records of a batch together and the simulator's replay
    (`projection_checks.replayed`) a whole case at once, each record decoded afresh (VIEWS3):
    the same views and states as `apply` one by one, batches handed on again included."""
    regions = side_events(seed, NodeFolds())
    for items, deciders in regions:
        alone: dict[str, CaseView] = {}
        by_case: dict[str, list[SideEvent]] = {}
        for r in items:
            alone[r.case_id] = apply(alone.get(r.case_id), r.fresh(), deciders[r.process])
            by_case.setdefault(r.case_id, []).append(r)
        replays = {case_id: replayed(records, deciders) for case_id, records in by_case.items()}
        for batch in (1, 7, 60, 10_000):
            views = Views(deciders)
            for start in range(0, len(items), batch):
                views.feed(items[start:start + batch])
                views.feed(items[max(0, start + batch - 3):start + batch])  # handed on again
            for found in (views.cases, replays):
                assert {k: plain(v) for k, v in found.items() if v} == \
                    {k: plain(v) for k, v in alone.items()}, batch
                assert all(found[k].state == alone[k].state for k in alone), batch  # type: ignore[union-attr]
            assert views.position == max((r.position for r in items), default=0)
