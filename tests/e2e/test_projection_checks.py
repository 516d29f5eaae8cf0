"""The simulator judges the projections: 0 mismatches on a faulty run, and a view that drops
events is caught (the check can fail)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from projections.records import SideEvent
from projections.views import Views
from simulations import projection_checks
from simulations.report import summarise
from simulations.runner import run

FAULTS = ("drop", "duplicate", "reorder", "crash_after_commit", "crash_mid_transaction")


def test_views_match_the_protocol_and_a_replay_under_faults() -> None:
    result = run(seed=5, cases=60, faults=FAULTS)
    assert summarise(result)["projection_mismatches"] == 0
    assert not [v for v in result.violations if "[projection]" in v]


def test_a_view_that_loses_events_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real_feed = Views.feed

    def lossy(self: Views, records: Iterable[SideEvent]) -> None:
        real_feed(self, [r for r in records if r.type != "IntakeAccepted"])

    monkeypatch.setattr(Views, "feed", lossy)
    result = run(seed=5, cases=30, faults=())
    assert projection_checks.mismatches(result.world) > 0
    assert any("[projection]" in v for v in result.violations)


def test_a_view_that_loses_events_without_changing_its_status_is_caught_at_the_end(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The replay at the end folds each case's records with `projections.cases.fold` itself
    (`projection_checks.replayed`), not through `Views.feed`: a feed that drops the applicants'
    ratings shows the right status at every step, and only a replay that does not share its code
    can see the difference."""
    real_feed = Views.feed

    def lossy(self: Views, records: Iterable[SideEvent]) -> None:
        real_feed(self, [r for r in records if r.type != "RatingGiven"])

    monkeypatch.setattr(Views, "feed", lossy)
    result = run(seed=5, cases=30, faults=())
    assert any("differs from a replay" in v for v in result.violations), result.violations[:5]


def test_sides_that_disagree_on_the_money_are_caught() -> None:
    """The final check puts every joint case's sides side by side; a destination that shows one
    fen less than the origins remitted is reported with the difference."""
    import dataclasses

    result = run(seed=5, cases=60, faults=())
    assert projection_checks.agreements(result.world) == []
    for live in projection_checks._regions(result.world).values():
        for case_id, view in live.views.cases.items():
            if view.role == "destination" and view.status == "completed" and view.amount_received:
                live.views.cases[case_id] = dataclasses.replace(
                    view, amount_received=view.amount_received - 1)
                found = projection_checks.agreements(result.world)
                assert [v.case_id for v in found] == [case_id]
                assert "difference -1" in found[0].detail
                return
    raise AssertionError("the run completed no transfer")
