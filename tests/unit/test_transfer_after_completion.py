"""What the transfer does after the destination completed on an earlier info sheet than the
origin's latest (the correction crossed the money or the conclusion): the lead's decision is
that money facts are never refused and that the 补转 is a person's decision.

- Staff resolve the origin (`ResolveAttention`): the transfer ends on the sheet the destination
  concluded on, and the corrected sheet's difference is recorded on the origin for a new case
  (`CorrectionForNewCase`). The joint view and conservation judge the origin against that
  sheet: a legitimate, human-decided end is neither a disagreement nor a violation, while a
  sheet that differs with no such record still is.
- Money an origin remitted between an excess return and the conclusion reaches a completed
  destination: it is recorded there and sent back at once (`LateFundsReturned`), so every fen
  sent is held or returned.

Setups as in test_transfer_correction_races.py.
"""

from __future__ import annotations

import dataclasses

import pytest

from domain import invariants as inv
from domain.protocols.casework_events import ResolveAttention
from domain.protocols.transfer import (
    ApproveTransferOut,
    RemitFunds,
)
from projections.joint import agreement
from tests.fixtures.transfers import TransferWorld
from tests.unit.test_transfer_correction_races import (
    BIGGER,
    DEST,
    ORIGIN,
    SHEET,
    SMALLER,
    _view,
    crossed,
    returned_on_the_first_sheet,
    staff,
    started,
    types,
)


def deliver(world: TransferWorld, kind: str) -> None:
    """Deliver the oldest message in flight of type `kind` (the next on its link)."""
    world.deliver(next(i for i in world.in_order() if kind == world.network[i].event.TYPE))


@pytest.mark.parametrize("correction", [SMALLER, BIGGER], ids=["downward", "upward"])
def test_a_resolved_origin_is_judged_on_the_sheet_the_destination_concluded_on(
        correction: object) -> None:
    world, case = started()
    crossed(world, case, correction)
    world.act(case, ORIGIN, ResolveAttention(actor=staff(ORIGIN), note="差额另案补转"))
    origin = world.summary(case, ORIGIN)
    assert (origin.status, origin.terminal, origin.amount_stated, origin.amount_sent) == (
        "transferred_out", True, SHEET.amount_fen, SHEET.amount_fen)
    difference = correction.amount_fen - SHEET.amount_fen  # type: ignore[attr-defined]
    assert origin.amount_for_new_case == difference
    assert "CorrectionForNewCase" in types(world, case, ORIGIN)
    assert inv.conservation(world.summaries()) == []
    judged = agreement([_view(world, case, r) for r in (DEST, ORIGIN)], complete=True)
    assert (judged.agreed, judged.disagreements, judged.attention) == (True, (), ())
    assert world.at_rest() == []


def test_a_sheet_differing_without_a_correction_for_a_new_case_is_still_a_violation() -> None:
    """The control: the same ended sides, but the origin's sheet differs and nothing records
    the difference for a new case — conservation reports it."""
    world, case = started()
    crossed(world, case, SMALLER)
    world.act(case, ORIGIN, ResolveAttention(actor=staff(ORIGIN), note="差额另案补转"))
    summaries = [dataclasses.replace(s, amount_stated=SMALLER.amount_fen, amount_for_new_case=0)
                 if s.role == "origin" else s for s in world.summaries()]
    assert [v.severity for v in inv.conservation(summaries)] == ["violation"]


def test_money_remitted_between_the_return_and_the_conclusion_is_sent_back() -> None:
    """The destination returns the 'excess' against its first sheet and completes on it; the
    return reaches the origin before the conclusion, so the origin remits the rest of its
    corrected sheet — into a completed case. The notice is recorded there and the money sent
    back: Σ sent = Σ held + Σ returned."""
    world, case = started()
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    returned_on_the_first_sheet(world, case)
    assert world.status(case, DEST) == "completed"
    deliver(world, "ExcessReturned")
    assert world.status(case, ORIGIN) == "remitting"
    rest = BIGGER.amount_fen - SHEET.amount_fen
    assert world.execute(world.sides[(case, ORIGIN)], RemitFunds(
        actor=staff(ORIGIN), amount_fen=rest, bank_ref="R-2"))
    deliver(world, "TransferConcluded")
    world.bank_deliver(0, "none")  # the rest reaches the completed destination
    assert world.refused_notices == []
    late = world.sides[(case, DEST)].events[-1]
    assert (late.TYPE, late.amount_fen, late.kept_fen) == (  # type: ignore[attr-defined]
        "LateFundsReturned", rest, SHEET.amount_fen)
    world.deliver_all()
    dest, origin = world.summary(case, DEST), world.summary(case, ORIGIN)
    assert (dest.status, dest.amount_received, dest.amount_credited) == (
        "completed", SHEET.amount_fen, SHEET.amount_fen)
    assert (origin.status, origin.amount_sent) == ("needs_attention", SHEET.amount_fen)
    assert inv.violations_only(inv.conservation(world.summaries())) == []
    world.act(case, ORIGIN, ResolveAttention(actor=staff(ORIGIN), note="差额另案补转"))
    assert world.summary(case, ORIGIN).amount_for_new_case == rest
    assert world.at_rest() == []
