"""Both sides' views of every joint case agree, and reconciliation accounts for every transfer.

A simulated federation (faults on the wire) gives real histories: each region's views are fed
from its own log through the node's side-event tailer; the agreement view over every region's
side must never report a disagreement, and a completed transfer must show both sides'
milestones with the same money. Hand-built views check that a disagreement is reported with
its reason and that reconciliation's figures are the hand-computed ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import cache

from projections.cases import CaseView
from projections.joint import agreement
from projections.reconciliation import reconcile
from projections.views import Views
from regions.core.side_events import SideEventTailer
from regions.core.tailer import MemoryCursor
from simulations.runner import RunResult, run

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@cache
def federation() -> tuple[RunResult, dict[str, Views]]:
    result = run(seed=11, cases=40, faults=("drop", "duplicate", "reorder", "delay"))
    views: dict[str, Views] = {}
    for code, sim in result.world.regions.items():
        node = sim.region.node
        views[code] = Views({p: b.decider for p, b in node.protocols.items()})
        tailer = SideEventTailer(code, node.app, cursor=MemoryCursor())
        while (batch := tailer.step(NOW)) is not None:
            views[code].feed(batch.items)
            tailer.advance(batch, NOW)
    return result, views


def sides_by_case(views: dict[str, Views]) -> dict[str, list[CaseView]]:
    cases: dict[str, list[CaseView]] = {}
    for region_views in views.values():
        for view in region_views.cases.values():
            cases.setdefault(view.case_id, []).append(view)
    return cases


def test_both_sides_of_every_joint_case_agree() -> None:
    _, views = federation()
    joint = completed = 0
    for sides in sides_by_case(views).values():
        if not any(v.role == "destination" for v in sides) or len(sides) < 2:
            continue
        joint += 1
        verdict = agreement(sides, complete=True)
        assert verdict.agreed is not False, verdict.disagreements
        if sides[0].process == "pension_transfer" and verdict.agreed:
            dest = next(s for s in verdict.sides if s.role == "destination")
            origins = [s for s in verdict.sides if s.role == "origin"]
            if dest.status == "completed":
                completed += 1
                assert all(at is not None for _, at in dest.milestones), dest.milestones
                assert all(dict(o.milestones)["sheet_issued"] is not None for o in origins)
                # several origins: the destination received what they sent together
                assert dest.amount_received == sum(o.amount_sent for o in origins) > 0
    assert joint > 5 and completed > 0


def test_a_node_alone_shows_its_side_and_judges_nothing_it_cannot_know() -> None:
    _, views = federation()
    for region_views in views.values():
        for view in region_views.cases.values():
            if view.role == "destination" and view.peers:
                verdict = region_views.agreement(view.case_number)
                assert verdict is not None and len(verdict.sides) == 1
                assert verdict.agreed is None or not verdict.disagreements
                return
    raise AssertionError("no destination side in the run")


def test_reconciliation_accounts_for_every_funded_transfer() -> None:
    _, views = federation()
    start, end = dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    received = 0
    for code, region_views in views.items():
        rec = region_views.reconciliation(code, start, end)
        assert rec.mismatched == ()  # honest nodes remit what they stated
        funded = [v for v in region_views.cases.values()
                  if v.role == "destination" and v.amount_stated and v.amount_received]
        assert rec.matched + len(rec.outstanding) >= len(funded) - len(
            [v for v in funded if not v.terminal])
        received += rec.received
    assert received > 0


def _view(region: str, role: str, status: str, *, peers: tuple[str, ...] = (), **amounts: int,
          ) -> CaseView:
    return CaseView("c1", "N1", "pension_transfer", region, role=role, status=status,
                    terminal=status in ("completed", "transferred_out", "refused", "withdrawn"),
                    peers=peers, opened_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC), **amounts)


def test_a_disagreement_is_reported_with_its_reason() -> None:
    dest = _view("150600", "destination", "completed", peers=("610800",), amount_stated=1000,
                 amount_received=900, amount_credited=900)
    origin = _view("610800", "origin", "refused", amount_stated=1000, amount_sent=1000)
    verdict = agreement([dest, origin], complete=True)
    assert verdict.agreed is False
    assert any("difference -100" in r for r in verdict.disagreements)
    assert any("completed with origin 610800 refused" in r for r in verdict.disagreements)
    fine = dataclasses.replace(origin, status="transferred_out")
    ok = dataclasses.replace(dest, amount_received=1000, amount_credited=1000)
    assert agreement([ok, fine], complete=True).agreed is True


def test_reconciliation_figures_match_a_hand_count() -> None:
    d = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    views = [
        _view("150600", "destination", "completed", peers=("610800",), amount_stated=1000,
              amount_received=1000),  # matched
        dataclasses.replace(_view("150600", "destination", "completed", amount_stated=500,
                                  amount_received=500), case_number="N2",
                            amount_differed=True),  # matched after a correction
        dataclasses.replace(_view("150600", "destination", "completed", amount_stated=700,
                                  amount_received=650), case_number="N3"),  # short by 50
        dataclasses.replace(_view("150600", "destination", "sheets", amount_stated=300),
                            case_number="N4"),  # funds not arrived
        dataclasses.replace(_view("150600", "origin", "transferred_out", amount_stated=200,
                                  amount_sent=200), case_number="N5"),  # sent
        dataclasses.replace(_view("150600", "origin", "transferred_out", amount_sent=999),
                            case_number="N6", opened_at=d.replace(year=2025)),  # other period
    ]
    rec = reconcile(views, "150600", d, d.replace(month=12))
    assert (rec.sent, rec.sent_fen, rec.received) == (1, 200, 4)
    assert (rec.stated_fen, rec.received_fen) == (2500, 2150)
    assert (rec.matched, rec.corrected) == (2, 1)
    assert [(x.case_number, x.difference_fen) for x in rec.mismatched] == [("N3", -50)]
    assert [(x.case_number, x.difference_fen) for x in rec.outstanding] == [("N4", -300)]


def test_each_rating_shows_on_the_rated_region_and_a_poor_one_has_its_follow_up() -> None:
    _, views = federation()
    rated = 0
    for region_views in views.values():
        for view in region_views.cases.values():
            for score in view.ratings:
                rated += 1
                assert 1 <= score <= 5
                if score <= 2:
                    assert view.follow_up in ("open", "overdue", "closed"), view.case_number
    assert rated > 0
