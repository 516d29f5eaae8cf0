"""The origin (转出地) of a transfer: receipt, eligibility, info sheet, remittance, conclusion."""

from __future__ import annotations

import dataclasses
import random

import pytest

from domain.kernel import Actor, DomainError, EventRef, Receive
from domain.protocols import medical, pension
from domain.protocols.transfer import (
    ApproveTransferOut,
    ContributionYear,
    IssueInfoSheet,
    RefuseTransferOut,
    RemitFunds,
    TransferConcluded,
)
from tests.fixtures.transfers import TRANSFERS, TransferWorld, accepted_case, staff

DEST, ORIGIN = "150600", "610800"
SHEET = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 500_000)])


def refused(world: TransferWorld, case: str, command: object, region: str = ORIGIN) -> str:
    side = world.sides[(case, region)]
    before = side.state
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, command, world.now)
    assert side.state is before
    return caught.value.code


def test_the_origins_deadline_runs_from_its_receipt_of_the_contact_letter() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    events = world.sides[(case, ORIGIN)].events
    assert [e.TYPE for e in events[:2]] == ["ContactLetterReceived", "DeadlineSet"]
    deadline = events[1]
    assert deadline.step == "transfer_out" and deadline.at == events[0].at  # type: ignore[attr-defined]
    assert "receipt of the contact letter" in deadline.basis  # type: ignore[attr-defined]


def test_a_refusal_states_its_reason_and_ends_the_case_for_both_sides() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    blank = RefuseTransferOut(actor=staff(ORIGIN), reason="  ")
    assert refused(world, case, blank) == "reason_required"
    world.act(case, ORIGIN, RefuseTransferOut(actor=staff(ORIGIN), reason="不符合转出条件: 欠费"))
    assert world.summary(case, DEST).status == "refused_by_origin"
    origin = world.summary(case, ORIGIN)
    assert (origin.status, origin.terminal) == ("refused", True)


def test_no_info_sheet_before_approval_and_no_second_decision() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    assert refused(world, case, IssueInfoSheet(actor=staff(ORIGIN), sheet=SHEET)) == "not_approved"
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    assert refused(world, case, ApproveTransferOut(actor=staff(ORIGIN))) == "already_decided"
    late = RefuseTransferOut(actor=staff(ORIGIN), reason="x")
    assert refused(world, case, late) == "already_decided"


def test_an_invalid_info_sheet_is_refused_before_it_leaves_the_origin() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    wrong = dataclasses.replace(SHEET, months=SHEET.months + 1)
    issue = IssueInfoSheet(actor=staff(ORIGIN), sheet=wrong)
    assert refused(world, case, issue) == "months_mismatch"


def test_the_remittance_must_equal_the_info_sheet() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    short = RemitFunds(actor=staff(ORIGIN), amount_fen=SHEET.amount_fen - 1, bank_ref="R")
    assert refused(world, case, short) == "amount_mismatch"
    nameless = RemitFunds(actor=staff(ORIGIN), amount_fen=SHEET.amount_fen, bank_ref="")
    assert refused(world, case, nameless) == "bank_ref_required"


def test_the_origin_ends_only_when_the_destination_concludes() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET)
    origin = world.summary(case, ORIGIN)
    assert (origin.status, origin.terminal) == ("transferred_out", False)
    assert origin.amount_sent == SHEET.amount_fen
    world.bank_deliver(0, "none")
    world.run_policies()
    world.deliver_all()
    assert world.summary(case, ORIGIN).terminal
    assert world.registers[(ORIGIN, ("e1" * 32), "pension")].status == "ended"


def test_a_conclusion_that_contradicts_the_origin_is_rejected() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    side = world.sides[(case, ORIGIN)]
    wrong = TransferConcluded(at=world.now, actor=staff(DEST), to_region=ORIGIN,
                              outcome="completed")
    command = Receive(actor=Actor.system("inbox"), event=wrong, from_region=DEST,
                      ref=EventRef("d", 99))
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, command, world.now)
    assert caught.value.code == "conclusion_inconsistent"


def test_a_housing_fund_origin_confirms_receipt_of_the_letter() -> None:
    world, case = accepted_case(TRANSFERS, "housing_fund_transfer", (ORIGIN,), DEST)
    origin_events = [e.TYPE for e in world.sides[(case, ORIGIN)].events]
    assert origin_events[:3] == ["ContactLetterReceived", "DeadlineSet", "ContactLetterConfirmed"]
    track = world.sides[(case, DEST)].state.tracks[ORIGIN]
    assert track.confirmed


def test_a_medical_origin_must_have_stopped_the_insurance_before_transferring_out() -> None:
    world, case = accepted_case(TRANSFERS, "medical_transfer", (ORIGIN,), DEST)
    unsuspended = ApproveTransferOut(actor=staff(ORIGIN))
    assert refused(world, case, unsuspended) == "insurance_not_suspended"
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN), suspended_on=world.now.date()))
    assert world.status(case, ORIGIN) == "approved"


def test_options_offer_only_commands_the_origin_accepts_now() -> None:
    world, case = accepted_case(TRANSFERS, "medical_transfer", (ORIGIN,), DEST)
    side = world.sides[(case, ORIGIN)]
    rng = random.Random(5)
    for _ in range(3):
        options = medical.options(side.state, world.now, rng)
        assert options
        for command in options:
            side.decider.decide(side.state, command, world.now)  # none raises
        world.execute(side, next(c for c in options if not isinstance(c, RefuseTransferOut)))
    assert side.state.phase in ("remitting", "transferred_out")
