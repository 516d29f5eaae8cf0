"""The destination (转入地) of a transfer: intake, letters, reconciliation, completion, timers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import uuid
from typing import Any

import pytest

from domain.deadlines import met_of
from domain.kernel import Actor, DomainError, EventRef, Receive
from domain.protocols import housing_fund, pension
from domain.protocols.intake import ProvideSupplement, RequestSupplement, Withdraw
from domain.protocols.transfer import (
    ApproveTransferOut,
    ContributionYear,
    RecordFundsReceived,
    RemitFunds,
    SendContactLetters,
    TransferOutHeld,
    application,
)
from domain.settling import receive
from domain.values import CaseNumber, RegionCode
from tests.fixtures.transfers import TRANSFERS, TransferWorld, accepted_case, staff
from tests.fixtures.world import RULES, START

DEST, ORIGIN = "150600", "610800"
SHEET = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 500_000)])  # 17,200.00


def started(process: str = "pension_transfer") -> tuple[TransferWorld, str]:
    return accepted_case(TRANSFERS, process, (ORIGIN,), DEST)


def status(world: TransferWorld, case: str, region: str = DEST) -> str:
    return world.status(case, region)


def test_destination_completes_only_when_info_sheet_and_funds_match() -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    assert status(world, case) == "awaiting_transfer"  # the sheet alone does not complete
    world.act(case, ORIGIN, RemitFunds(actor=staff(ORIGIN), amount_fen=SHEET.amount_fen,
                                       bank_ref="R-1"))
    assert status(world, case) == "awaiting_transfer"  # the origin's remittance is not evidence
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen, "B-1")
    dest = world.summary(case, DEST)
    assert (dest.status, dest.terminal) == ("completed", True)
    assert dest.amount_credited == dest.amount_received == dest.amount_stated == 1_720_000
    assert world.registers[(DEST, ("e1" * 32), "pension")].status == "active"


def test_funds_arriving_before_the_sheet_wait_for_it() -> None:
    world, case = started()
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen, "B-1")
    assert status(world, case) == "awaiting_transfer"
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    assert status(world, case) == "completed"


def test_short_funds_raise_needs_attention_and_a_matching_top_up_completes() -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    world.funds(case, DEST, ORIGIN, 1_000_000, "B-1")
    assert status(world, case) == "needs_attention"
    reconciled = [e for e in world.sides[(case, DEST)].events if e.TYPE == "Reconciled"]
    assert reconciled[-1].difference_fen == 720_000  # type: ignore[attr-defined]
    world.funds(case, DEST, ORIGIN, 720_000, "B-2")
    assert status(world, case) == "completed"


def test_more_funds_than_the_sheet_states_never_complete() -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen + 1, "B-1")
    assert status(world, case) == "needs_attention"
    assert world.summary(case, DEST).amount_credited == 0


def test_one_fen_short_never_completes_and_the_last_fen_does() -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen - 1, "B-1")
    assert status(world, case) == "needs_attention"
    reconciled = [e for e in world.sides[(case, DEST)].events if e.TYPE == "Reconciled"]
    assert reconciled[-1].difference_fen == 1  # type: ignore[attr-defined]
    assert world.summary(case, DEST).amount_credited == 0
    world.funds(case, DEST, ORIGIN, 1, "B-2")
    assert status(world, case) == "completed"


def test_the_exact_amount_split_across_two_credits_completes_on_the_second() -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen // 3, "B-1")
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen - SHEET.amount_fen // 3, "B-2")
    assert status(world, case) == "completed"
    assert world.summary(case, DEST).amount_credited == SHEET.amount_fen


def test_a_repeated_bank_reference_is_refused_and_changes_nothing() -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    world.funds(case, DEST, ORIGIN, 1_000, "B-1")
    side = world.sides[(case, DEST)]
    before = side.state
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, RecordFundsReceived(
            actor=Actor.backend("bank", DEST), from_region=ORIGIN, amount_fen=1_000, bank_ref="B-1",
            value_date=dt.date(2025, 3, 5)), world.now)
    assert caught.value.code == "duplicate_bank_ref"
    assert side.state is before


@pytest.mark.parametrize(("changes", "code"), [
    ({"amount_fen": 0}, "invalid_amount"),
    ({"amount_fen": -5}, "invalid_amount"),
    ({"amount_fen": True}, "invalid_amount"),
    ({"from_region": "640100"}, "unknown_origin"),
    ({"bank_ref": "  "}, "bank_ref_required"),
    ({"value_date": START}, "invalid_date"),
])
def test_malformed_funds_notices_are_refused(changes: dict[str, Any], code: str) -> None:
    world, case = started()
    side = world.sides[(case, DEST)]
    good = RecordFundsReceived(actor=Actor.backend("bank", DEST), from_region=ORIGIN,
                               amount_fen=100, bank_ref="B-1", value_date=dt.date(2025, 3, 5))
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, dataclasses.replace(good, **changes), world.now)
    assert caught.value.code == code


def test_acceptance_records_the_contact_letter_deadline_and_the_policy_meets_it() -> None:
    world, case = started()
    events = world.sides[(case, DEST)].events
    deadline = next(e for e in events if e.TYPE == "DeadlineSet")
    assert deadline.step == "contact_letter"  # type: ignore[attr-defined]
    assert "15 working days" in deadline.basis  # type: ignore[attr-defined]
    letter = next(e for e in events if e.TYPE == "ContactLetterIssued")
    assert letter.to_region == ORIGIN and letter.two_phase is False  # type: ignore[attr-defined]
    assert met_of(events[-1]) == ("contact_letter",) and events[-1] is letter  # met on it


@pytest.mark.parametrize("supplement", [False, True])
def test_contact_letters_before_acceptance_are_refused_like_other_wrong_state_commands(
        supplement: bool) -> None:
    world = TransferWorld(TRANSFERS, random.Random(1))
    case = world.submit("pension_transfer", ("e1" * 32), DEST, (ORIGIN,), 1)
    side = world.sides[(case, DEST)]
    if supplement:
        world.execute(side, RequestSupplement(actor=staff(DEST), missing_kinds=("id_card",)))
    before = side.state
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, SendContactLetters(actor=Actor.system(
            "transfer_policy", DEST)), world.now)
    assert caught.value.code == "not_accepted"
    assert side.state is before


def test_contact_letters_already_sent_are_a_quiet_no_op_for_the_policy_retry() -> None:
    world, case = started()
    side = world.sides[(case, DEST)]
    assert side.decider.decide(side.state, SendContactLetters(actor=Actor.system(
        "transfer_policy", DEST)), world.now) == []


def test_a_withdrawal_before_the_letters_ends_the_case_at_once() -> None:
    world = TransferWorld(TRANSFERS, random.Random(1))
    case = world.submit("pension_transfer", ("e1" * 32), DEST, (ORIGIN,), 1)
    world.execute(world.sides[(case, DEST)], Withdraw(actor=Actor("applicant", "p", DEST)))
    assert status(world, case) == "withdrawn"
    assert not world.network


def test_a_supplement_not_supplied_in_time_lapses_the_case() -> None:
    world = TransferWorld(TRANSFERS, random.Random(1))
    case = world.submit("housing_fund_transfer", ("e1" * 32), DEST, (ORIGIN,), 1)
    side = world.sides[(case, DEST)]
    world.execute(side, RequestSupplement(actor=staff(DEST), missing_kinds=("id_card",)))
    world.tick(24 * 29)
    assert status(world, case) == "supplement_requested"
    world.tick(24 * 2)
    assert status(world, case) == "lapsed"
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, ProvideSupplement(actor=staff(DEST), materials=()),
                            world.now)
    assert caught.value.code == "case_closed"


def test_a_silent_origin_ends_in_needs_attention_and_its_late_answer_clears_it() -> None:
    world, case = started()
    world.tick(24 * 45)  # 30 working days and more
    assert status(world, case) == "needs_attention"
    assert status(world, case, ORIGIN) == "needs_attention"  # its own staff were silent too
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    assert status(world, case) == "awaiting_transfer"


def test_a_duplicate_counterpart_event_has_no_effect() -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    side = world.sides[(case, DEST)]
    sheet = next(m for m in world.delivered if m.event.TYPE == "InfoSheetIssued")
    again = Receive(actor=Actor.system("inbox"), event=sheet.event, from_region=ORIGIN,
                    ref=sheet.ref)
    assert side.decider.decide(side.state, again, world.now) == []


def test_an_illegal_counterpart_event_is_recorded_as_rejected_and_needs_attention() -> None:
    world, case = started()
    side = world.sides[(case, DEST)]
    held = TransferOutHeld(at=world.now, actor=staff(ORIGIN), to_region=DEST, case_id=case,
                           person_key=("e1" * 32), scheme="pension")
    first = Receive(actor=Actor.system("inbox"), event=held, from_region=ORIGIN,
                    ref=EventRef("o", 3))
    for e in side.decider.decide(side.state, first, world.now):
        side.state = side.decider.evolve(side.state, e)
    second = dataclasses.replace(first, ref=EventRef("o", 4))
    events = receive(side.decider, side.state, second, world.now)
    assert [e.TYPE for e in events] == ["CounterpartEventRejected", "NeedsAttentionRaised"]
    for e in events:
        side.state = side.decider.evolve(side.state, e)
    assert side.decider.status(side.state) == "needs_attention"
    assert side.decider.decide(side.state, second, world.now) == []  # remembered, not re-rejected


def test_a_completed_case_refuses_further_commands() -> None:
    world, case = started("housing_fund_transfer")
    sheet = housing_fund.sample_sheet(random.Random(3))
    world.transfer_out(case, ORIGIN, sheet)
    world.bank_deliver(0, "none")
    world.run_policies()
    assert status(world, case) == "completed"
    side = world.sides[(case, DEST)]
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, Withdraw(actor=Actor("applicant", "p", DEST)), world.now)
    assert caught.value.code == "case_closed"


@pytest.mark.parametrize(("process", "origins", "code"), [
    ("pension_transfer", (), "invalid_details"),
    ("pension_transfer", (ORIGIN, ORIGIN), "invalid_origins"),
    ("pension_transfer", (DEST,), "invalid_origins"),
    ("medical_transfer", (ORIGIN, "640100"), "single_origin_only"),
    ("pension_transfer", ("99",), "invalid_region"),
])
def test_malformed_applications_are_refused(process: str, origins: tuple[str, ...],
                                            code: str) -> None:
    decider = TRANSFERS[process].decider(RULES)
    number = CaseNumber.new(RegionCode(DEST), START.date(), uuid.UUID(int=1))
    with pytest.raises(DomainError) as caught:
        decider.decide(None, application(process, number, ("e1" * 32), origins, staff(DEST)), START)
    assert caught.value.code == code


def test_an_application_for_another_process_is_refused() -> None:
    number = CaseNumber.new(RegionCode(DEST), START.date(), uuid.UUID(int=1))
    command = application("medical_transfer", number, ("e1" * 32), (ORIGIN,), staff(DEST))
    with pytest.raises(DomainError) as caught:
        pension.decider(RULES).decide(None, command, START)
    assert caught.value.code == "wrong_process"
