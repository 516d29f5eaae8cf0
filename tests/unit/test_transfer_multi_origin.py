"""Several origins in one application: hold, then proceed; one refusal releases the others."""

from __future__ import annotations

import pytest

from domain.kernel import Actor, DomainError, EventRef, Receive
from domain.protocols import pension
from domain.protocols.transfer import (
    ApproveTransferOut,
    ContributionYear,
    IssueInfoSheet,
    RefuseTransferOut,
    TransferOutRefused,
)
from tests.fixtures.transfers import TRANSFERS, accepted_case, staff

DEST, A, B = "150600", "610800", "640100"
SHEET_A = pension.transfer_amount(1_850_000, [ContributionYear(2019, 12, 600_000),
                                              ContributionYear(2020, 12, 650_000),
                                              ContributionYear(2021, 7, 700_000)])
SHEET_B = pension.transfer_amount(400_000, [ContributionYear(2022, 5, 432_117)])


def test_origins_transfer_out_only_after_every_origin_holds() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A, B), DEST)
    world.act(case, A, ApproveTransferOut(actor=staff(A)))
    assert world.status(case, A) == "held"
    side = world.sides[(case, A)]
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, IssueInfoSheet(actor=staff(A), sheet=SHEET_A), world.now)
    assert caught.value.code == "awaiting_instruction"
    world.act(case, B, ApproveTransferOut(actor=staff(B)))
    assert (world.status(case, A), world.status(case, B)) == ("approved", "approved")


def test_the_clock_of_a_holding_origin_stops_and_resumes_with_the_days_it_had_left() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A, B), DEST)
    world.act(case, A, ApproveTransferOut(actor=staff(A)))
    paused = [e for e in world.sides[(case, A)].events if e.TYPE == "DeadlinePaused"]
    assert [p.remaining_days for p in paused] == [15]  # type: ignore[attr-defined]
    world.tick(24 * 14)  # two weeks waiting for B are not A's time
    world.act(case, B, ApproveTransferOut(actor=staff(B)))
    resumed = [e for e in world.sides[(case, A)].events if e.TYPE == "DeadlineSet"][-1]
    assert resumed.at == world.now and "resumed" in resumed.basis  # type: ignore[attr-defined]
    assert world.sides[(case, A)].state.book["transfer_out"].due_at == resumed.due_at  # type: ignore[attr-defined]


def test_several_origins_complete_with_the_sum_of_their_sheets() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A, B), DEST)
    world.act(case, A, ApproveTransferOut(actor=staff(A)))
    world.act(case, B, ApproveTransferOut(actor=staff(B)))
    world.transfer_out(case, A, SHEET_A)
    world.transfer_out(case, B, SHEET_B)
    world.funds(case, DEST, A, SHEET_A.amount_fen, "B-A")
    assert world.status(case, DEST) == "awaiting_transfer"  # B's money is still missing
    world.funds(case, DEST, B, SHEET_B.amount_fen, "B-B")
    dest = world.summary(case, DEST)
    # A: 42,380.00 (see test_pension_amounts); B: 4,000.00 + 4,321.17 × 5 × 12% = 2,592.70
    assert (dest.status, dest.amount_credited, dest.months_credited) == (
        "completed", 4_238_000 + 659_270, 36)
    assert world.summary(case, A).terminal and world.summary(case, B).terminal
    assert world.registers[(DEST, ("e1" * 32), "pension")].status == "active"
    assert {world.registers[(r, ("e1" * 32), "pension")].status for r in (A, B)} == {"ended"}


def test_one_refusal_releases_the_other_origins_and_the_application_is_refused() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A, B), DEST)
    world.act(case, A, ApproveTransferOut(actor=staff(A)))
    assert world.registers[(A, ("e1" * 32), "pension")].status == "in_transit"
    world.act(case, B, RefuseTransferOut(actor=staff(B), reason="不符合转出条件: 已领取待遇"))
    assert world.registers[(A, ("e1" * 32), "pension")].status == "active"
    ends = [(world.summary(case, r).status, world.summary(case, r).terminal) for r in (DEST, A, B)]
    assert ends == [("refused_by_origin", True), ("released", True), ("refused", True)]


def test_a_held_origins_late_refusal_is_rejected_by_the_destination() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A, B), DEST)
    world.act(case, A, ApproveTransferOut(actor=staff(A)))
    side = world.sides[(case, DEST)]
    late = TransferOutRefused(at=world.now, actor=staff(A), to_region=DEST, reason="改变主意")
    command = Receive(actor=Actor.system("inbox"), event=late, from_region=A, ref=EventRef("a", 9))
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, command, world.now)
    assert caught.value.code == "refusal_after_hold"


def test_an_info_sheet_sent_before_the_all_hold_instruction_is_rejected() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A, B), DEST)
    world.act(case, A, ApproveTransferOut(actor=staff(A)))
    side = world.sides[(case, DEST)]
    early = pension.transfer.InfoSheetIssued(
        at=world.now, actor=staff(A), to_region=DEST, case_id=case, person_key=("e1" * 32),
        scheme="pension", sheet=SHEET_A)
    command = Receive(actor=Actor.system("inbox"), event=early, from_region=A, ref=EventRef("a", 9))
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, command, world.now)
    assert caught.value.code == "sheet_before_proceed"


def test_funds_arriving_after_a_match_void_it_and_are_never_credited() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A, B), DEST)
    world.act(case, A, ApproveTransferOut(actor=staff(A)))
    world.act(case, B, ApproveTransferOut(actor=staff(B)))
    world.transfer_out(case, A, SHEET_A)
    world.transfer_out(case, B, SHEET_B)
    world.funds(case, DEST, A, SHEET_A.amount_fen, "B-A")
    world.funds(case, DEST, A, 1_000, "B-A-again")  # a second notice for A, after A matched
    world.funds(case, DEST, B, SHEET_B.amount_fen, "B-B")
    dest = world.summary(case, DEST)
    assert (dest.status, dest.amount_credited) == ("needs_attention", 0)
