"""The views take the state the node folded for each decision's last event (`NodeFolds`)
instead of folding it again: the views are the same as those folded from the events alone,
under every fault of the simulator, and most decisions' states are taken."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from domain.kernel import Event
from projections.cases import CaseView, apply
from regions.adapters.stores.views import NodeFolds
from simulations.bench.views import side_events_by_region
from simulations.faults import ALL_FAULTS


def plain(view: CaseView) -> dict[str, Any]:
    data = dataclasses.asdict(view)
    data.pop("state")
    return data


@pytest.mark.parametrize("seed", [1, 2])
def test_views_folded_with_the_nodes_states_equal_views_folded_alone(seed: int) -> None:
    folds = NodeFolds(kept=1_000_000)
    records = 0
    for code, (_, items, deciders) in side_events_by_region(
            60, seed, folds, faults=ALL_FAULTS).items():
        handed: dict[str, CaseView] = {}
        alone: dict[str, CaseView] = {}
        for r in items:
            if r.process not in deciders:
                continue
            decider = deciders[r.process]
            handed[r.case_id] = apply(handed.get(r.case_id), r, decider, folds.state_after)
            alone[r.case_id] = apply(alone.get(r.case_id), r.fresh(), decider)
            assert handed[r.case_id].state == alone[r.case_id].state, (code, r.type)
            records += 1
        assert {k: plain(v) for k, v in handed.items()} == {k: plain(v) for k, v in alone.items()}
    assert folds.taken > records // 10  # states were taken (not for events read back from a
    # store after a crash, nor for those before the last of a decision)


def test_a_state_is_taken_only_for_the_very_event_it_was_heard_with() -> None:
    @dataclasses.dataclass(frozen=True)
    class Seen:
        state: Any

    folds = NodeFolds(kept=2)
    first, second, third = (Event.__new__(Event) for _ in range(3))
    folds.heard(Seen("a"), [first])
    folds.heard(Seen("b"), [first, second])
    assert folds.state_after(first) == "a" and folds.state_after(second) == "b"
    folds.heard(Seen("c"), [third])  # the oldest falls out
    assert folds.state_after(first) is None and folds.state_after(third) == "c"
    folds.heard(Seen(None), [first])  # no side: nothing to hand on
    assert folds.state_after(first) is None
    folds.heard(Seen("d"), [])
    assert len(folds._states) == 2
