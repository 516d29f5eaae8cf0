"""Each return of money is a message of its own: a destination may send an origin more than one
`ExcessReturned` or `LateFundsReturned` on one link, and `no_step_twice` must not call that a
repeat (`REPEATABLE_WIRE_TYPES`).

Why: every return answers its own fact — an excess after each downward correction, each bank
notice reaching a case that credits no more (each with its own bank reference) — so counting
them as one step sent twice reports a violation where the protocol did what it must.
"""

from __future__ import annotations

from domain.protocols import pension
from domain.protocols.transfer import (
    ApproveTransferOut,
    ContributionYear,
    CorrectInfoSheet,
    RefuseTransferOut,
    ReturnExcess,
)
from tests.fixtures.transfers import TRANSFERS, accepted_case, staff

DEST, A, B = "150600", "610800", "640100"
SHEET = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 500_000)])
LESS = pension.transfer_amount(900_000, [ContributionYear(2023, 12, 500_000)])
LEAST = pension.transfer_amount(800_000, [ContributionYear(2023, 12, 500_000)])


def test_an_excess_returned_after_each_downward_correction_is_no_repeat() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A, B), DEST)
    world.act(case, A, ApproveTransferOut(actor=staff(A)))
    world.act(case, B, ApproveTransferOut(actor=staff(B)))  # B's sheet keeps the case open
    world.transfer_out(case, A, SHEET)
    world.funds(case, DEST, A, SHEET.amount_fen, "R-A")
    for n, sheet in enumerate((LESS, LEAST), 1):
        world.act(case, A, CorrectInfoSheet(actor=staff(A), sheet=sheet, reason=f"更正 {n}"))
        world.act(case, DEST, ReturnExcess(actor=staff(DEST), from_region=A, bank_ref=f"X-{n}"))
    returns = [e for e in world.sides[(case, DEST)].events if e.TYPE == "ExcessReturned"]
    assert len(returns) == 2
    assert world.safety() == []


def test_each_notice_reaching_an_ended_case_goes_back_in_a_return_of_its_own() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A,), DEST)
    world.act(case, A, RefuseTransferOut(actor=staff(A), reason="不符合转出条件"))
    for ref in ("B-1", "B-2"):
        assert world.funds(case, DEST, A, 500, ref) is not None
    assert world.at_rest() == []
