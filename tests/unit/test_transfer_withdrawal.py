"""Withdrawal of a transfer (issue 15, item 6): before anything was sent the holds are released;
once an origin has sent its sheet or money the transfer completes (a move back is a new case);
only an operator may reverse it, with a reason."""

from __future__ import annotations

import pytest

from domain import invariants as inv
from domain.kernel import Actor, DomainError
from domain.protocols import pension
from domain.protocols.intake import Withdraw
from domain.protocols.transfer import (
    ApproveTransferOut,
    Component,
    ContributionYear,
    InfoSheet,
    IssueInfoSheet,
    RemitFunds,
    ReverseTransfer,
)
from tests.fixtures.transfers import TRANSFERS, accepted_case, staff

DEST, ORIGIN = "150600", "610800"
PERSON = "e1" * 32
APPLICANT = Actor("applicant", PERSON, DEST)
OPERATOR = Actor("staff", "op-1", DEST, role="operator")
SHEET = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 500_000)])


def test_a_withdrawal_before_the_origin_transferred_out_releases_its_hold() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    assert world.registers[(ORIGIN, PERSON, "pension")].status == "in_transit"
    world.act(case, DEST, Withdraw(actor=APPLICANT, reason="申请人撤回"))
    assert world.registers[(ORIGIN, PERSON, "pension")].status == "active"
    assert [(world.status(case, r), world.summary(case, r).terminal) for r in (DEST, ORIGIN)] == [
        ("withdrawn", True), ("released", True)]


def test_a_withdrawal_is_refused_once_an_origin_sent_its_sheet() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    side = world.sides[(case, DEST)]
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, Withdraw(actor=APPLICANT), world.now)
    assert caught.value.code == "already_transferred"


def test_a_withdrawal_racing_the_transfer_out_lets_the_transfer_complete() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    origin_side = world.sides[(case, ORIGIN)]  # sheet and remittance already on their way...
    assert world.execute(origin_side, IssueInfoSheet(actor=staff(ORIGIN), sheet=SHEET))
    assert world.execute(origin_side, RemitFunds(actor=staff(ORIGIN), amount_fen=SHEET.amount_fen,
                                                 bank_ref="R-1"))
    withdrawal = world.execute(world.sides[(case, DEST)], Withdraw(actor=APPLICANT))
    assert withdrawal is not None  # ...when the applicant withdraws at the destination
    world.run_policies()
    world.deliver_all()
    assert world.status(case, DEST) == "withdrawing"  # the origin answered: already transferred
    world.bank_deliver(0, "none")  # the money arrives: it is the person's, the transfer completes
    world.run_policies()
    world.deliver_all()
    dest, origin = world.summary(case, DEST), world.summary(case, ORIGIN)
    assert (dest.status, origin.status, dest.terminal, origin.terminal) == (
        "completed", "transferred_out", True, True)
    assert dest.amount_credited == origin.amount_sent == SHEET.amount_fen
    assert world.registers[(DEST, PERSON, "pension")].status == "active"
    assert world.registers[(ORIGIN, PERSON, "pension")].status == "ended"
    assert inv.violations_only(world.safety()) == []


def test_a_relationship_only_transfer_racing_a_withdrawal_completes_too() -> None:
    world, case = accepted_case(TRANSFERS, "unemployment_transfer", (ORIGIN,), DEST)
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    world.execute(world.sides[(case, DEST)], Withdraw(actor=APPLICANT))  # before the sheet lands
    world.transfer_out(case, ORIGIN, InfoSheet(months=8, components=()))
    assert [(world.status(case, r), world.summary(case, r).terminal) for r in (DEST, ORIGIN)] == [
        ("completed", True), ("transferred_out", True)]


def test_only_an_operator_reverses_a_transfer_and_says_why() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET)
    side = world.sides[(case, DEST)]
    for actor, reason, code in ((staff(DEST), "错转", "operator_only"),
                                (APPLICANT, "错转", "operator_only"),
                                (OPERATOR, "  ", "reason_required")):
        with pytest.raises(DomainError) as caught:
            side.decider.decide(side.state, ReverseTransfer(actor=actor, reason=reason), world.now)
        assert caught.value.code == code
    world.act(case, DEST, ReverseTransfer(actor=OPERATOR, reason="经办错误：转入地错误"))
    world.bank_deliver(0, "none")  # the money arrives and is sent back
    world.run_policies()
    world.deliver_all()
    dest, origin = world.summary(case, DEST), world.summary(case, ORIGIN)
    assert (dest.status, origin.status, dest.terminal, origin.terminal) == (
        "withdrawn", "reinstated", True, True)
    assert (dest.amount_received, dest.amount_credited, origin.amount_sent) == (0, 0, 0)
    assert world.registers[(ORIGIN, PERSON, "pension")].status == "active"
    assert (DEST, PERSON, "pension") not in world.registers
    assert inv.violations_only(world.safety()) == []


def test_a_withdrawal_is_refused_once_the_relationship_was_taken_over() -> None:
    world, case = accepted_case(TRANSFERS, "unemployment_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, InfoSheet(months=24, components=(
        Component("unemployment_benefit", 1_000_000),)), remit=False)
    side = world.sides[(case, DEST)]
    assert side.state.taken_over
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, Withdraw(actor=APPLICANT), world.now)
    assert caught.value.code in ("relationship_taken_over", "already_transferred")


def test_a_withdrawal_is_refused_once_any_of_several_origins_sent_its_sheet() -> None:
    """The rule is per case, not per origin: one origin's sheet sent is enough, though the
    other origin still waits to transfer out (it then completes or is concluded on its own)."""
    other = "640100"
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN, other), DEST)
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    world.act(case, other, ApproveTransferOut(actor=staff(other)))
    world.act(case, ORIGIN, IssueInfoSheet(actor=staff(ORIGIN), sheet=SHEET))
    assert (world.status(case, ORIGIN), world.status(case, other)) == ("remitting", "approved")
    side = world.sides[(case, DEST)]
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, Withdraw(actor=APPLICANT), world.now)
    assert caught.value.code == "already_transferred"


def test_a_withdrawal_while_the_case_needs_attention_ends_it() -> None:
    """A wait that timed out (the origin never answered) needs a person, but the applicant may
    still withdraw: nothing was sent, so the holds are released and both sides end."""
    import datetime as dt

    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.now += dt.timedelta(days=120)
    world.fire_timers()
    assert world.status(case, DEST) == "needs_attention"
    world.act(case, DEST, Withdraw(actor=APPLICANT, reason="申请人撤回"))
    assert [(world.status(case, r), world.summary(case, r).terminal) for r in (DEST, ORIGIN)] == [
        ("withdrawn", True), ("released", True)]
    assert world.registers.get((ORIGIN, PERSON, "pension")) is None or \
        world.registers[(ORIGIN, PERSON, "pension")].status == "active"
    assert inv.violations_only(world.at_rest()) == []
