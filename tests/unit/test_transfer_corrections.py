"""Money that can be corrected (issue 15, item 5): an excess returned by the destination, a
corrected info sheet from the origin, staff resolving a transfer's attention, and a withdrawal
that ends whatever state the case is in.

Before these, more money than the sheet stated left the case in needs_attention for good, an
origin could not correct a wrong sheet, and staff had no way to resume a transfer that waited
too long (`ResolveAttention` was not a transfer command).
"""

from __future__ import annotations

import datetime as dt

from domain import invariants as inv
from domain.kernel import Actor
from domain.protocols import pension
from domain.protocols.casework_events import ResolveAttention
from domain.protocols.intake import Withdraw
from domain.protocols.transfer import (
    ApproveTransferOut,
    Component,
    ContributionYear,
    CorrectInfoSheet,
    InfoSheet,
    IssueInfoSheet,
    RemitFunds,
    ReturnExcess,
)
from tests.fixtures.transfers import TRANSFERS, TransferWorld, accepted_case, staff

DEST, ORIGIN = "150600", "610800"
SHEET = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 500_000)])  # 17,200.00
BIGGER = pension.transfer_amount(1_100_000, [ContributionYear(2023, 12, 500_000)])  # 18,200.00
SMALLER = pension.transfer_amount(900_000, [ContributionYear(2023, 12, 500_000)])  # 16,200.00


def started(origins: tuple[str, ...] = (ORIGIN,)) -> tuple[TransferWorld, str]:
    return accepted_case(TRANSFERS, "pension_transfer", origins, DEST)


def at_rest(world: TransferWorld) -> None:
    world.drain(diligent_steps=0)
    assert not world.at_rest()


def test_an_excess_is_returned_to_the_origin_and_the_transfer_completes() -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen + 500, "B-1")
    assert world.status(case, DEST) == "needs_attention"
    events = world.act(case, DEST, ReturnExcess(actor=staff(DEST), from_region=ORIGIN,
                                                bank_ref="RET-1"))
    returned = [e for e in events if e.TYPE == "ExcessReturned"]
    assert [(e.to_region, e.amount_fen) for e in returned] == [(ORIGIN, 500)]  # type: ignore
    dest = world.summary(case, DEST)
    assert (dest.status, dest.amount_credited, dest.amount_received) == (
        "completed", SHEET.amount_fen, SHEET.amount_fen)
    origin_events = [e.TYPE for e in world.sides[(case, ORIGIN)].events]
    assert "ExcessReturnReceived" in origin_events


def test_no_excess_can_be_returned_when_the_funds_match_or_fall_short() -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen - 1, "B-1")
    refused = world.execute(world.sides[(case, DEST)], ReturnExcess(
        actor=staff(DEST), from_region=ORIGIN, bank_ref="RET-1"))
    assert refused is None
    assert world.last_refusal.split(":")[0] == "no_excess"


def test_a_corrected_sheet_asking_for_more_is_remitted_and_completes() -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET)
    world.act(case, ORIGIN, CorrectInfoSheet(actor=staff(ORIGIN), sheet=BIGGER,
                                             reason="个人账户漏记 2023 年利息"))
    world.bank_deliver(0, "none")  # the first remittance arrives: short of the corrected sheet
    world.run_policies()
    world.deliver_all()
    assert world.status(case, ORIGIN) == "remitting"
    assert world.status(case, DEST) == "needs_attention"
    world.act(case, ORIGIN, RemitFunds(actor=staff(ORIGIN),
                                       amount_fen=BIGGER.amount_fen - SHEET.amount_fen,
                                       bank_ref="R-2"))
    at_rest(world)
    dest = world.summary(case, DEST)
    assert (dest.status, dest.amount_stated, dest.amount_credited) == (
        "completed", BIGGER.amount_fen, BIGGER.amount_fen)
    assert world.summary(case, ORIGIN).amount_sent == BIGGER.amount_fen


def test_a_corrected_sheet_asking_for_less_ends_with_the_excess_returned() -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    world.act(case, ORIGIN, RemitFunds(actor=staff(ORIGIN), amount_fen=SHEET.amount_fen,
                                       bank_ref="R-1"))
    world.act(case, ORIGIN, CorrectInfoSheet(actor=staff(ORIGIN), sheet=SMALLER,
                                             reason="个人账户多记"))
    world.bank_deliver(0, "none")  # the bank carries the first sheet's amount
    world.run_policies()
    world.deliver_all()
    assert world.status(case, DEST) == "needs_attention"  # received more than now stated
    world.act(case, DEST, ReturnExcess(actor=staff(DEST), from_region=ORIGIN, bank_ref="RET-1"))
    at_rest(world)
    assert world.summary(case, DEST).amount_credited == SMALLER.amount_fen
    assert world.summary(case, ORIGIN).amount_sent == SMALLER.amount_fen


def test_a_corrected_sheet_is_checked_like_the_first() -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    wrong = InfoSheet(months=SHEET.months, components=(
        Component("individual_account", 1_000_000), Component("pooled", 1)),
        years=SHEET.years)
    assert world.execute(world.sides[(case, ORIGIN)], CorrectInfoSheet(
        actor=staff(ORIGIN), sheet=wrong, reason="x")) is None
    assert world.execute(world.sides[(case, ORIGIN)], CorrectInfoSheet(
        actor=staff(ORIGIN), sheet=SHEET, reason="same")) is None
    assert world.last_refusal.split(":")[0] == "sheet_unchanged"
    assert world.execute(world.sides[(case, ORIGIN)], CorrectInfoSheet(
        actor=staff(ORIGIN), sheet=BIGGER, reason=" ")) is None
    assert world.last_refusal.split(":")[0] == "reason_required"


def test_staff_resolve_a_transfer_that_waited_too_long_and_it_waits_again() -> None:
    world, case = started()
    world.now += dt.timedelta(days=120)
    world.fire_timers()
    assert world.status(case, DEST) == "needs_attention"
    events = world.act(case, DEST, ResolveAttention(actor=staff(DEST), note="已电话催办转出地"))
    types = [e.TYPE for e in events]
    assert "AttentionResolved" in types and "TransferWaitingTimerSet" in types
    assert world.status(case, DEST) == "awaiting_transfer"


def test_a_funds_mismatch_is_not_resolved_by_a_note() -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen + 500, "B-1")
    assert world.execute(world.sides[(case, DEST)], ResolveAttention(
        actor=staff(DEST), note="ok")) is None
    assert world.last_refusal.split(":")[0] == "correction_needed"


def test_a_withdrawal_overtaken_by_an_overpaid_transfer_out_still_ends() -> None:
    """Withdrawn while the origin's sheet was on its way, then the sheet corrected downwards:
    the returned excess lets the overtaken transfer complete instead of hanging in attention."""
    world, case = started()
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    origin_side = world.sides[(case, ORIGIN)]
    assert world.execute(origin_side, IssueInfoSheet(actor=staff(ORIGIN), sheet=SHEET))
    assert world.execute(origin_side, RemitFunds(actor=staff(ORIGIN), amount_fen=SHEET.amount_fen,
                                                 bank_ref="R-1"))
    assert world.execute(world.sides[(case, DEST)], Withdraw(
        actor=Actor("applicant", "e1" * 32, DEST), reason="申请人撤回"))
    world.run_policies()
    world.deliver_all()
    assert world.status(case, DEST) == "withdrawing"
    world.act(case, ORIGIN, CorrectInfoSheet(actor=staff(ORIGIN), sheet=SMALLER,
                                             reason="个人账户多记"))
    world.bank_deliver(0, "none")  # the bank carries the first sheet's amount
    world.run_policies()
    world.deliver_all()
    assert world.status(case, DEST) == "needs_attention"
    world.act(case, DEST, ReturnExcess(actor=staff(DEST), from_region=ORIGIN, bank_ref="RET-1"))
    at_rest(world)
    assert world.summary(case, DEST).status == "completed"
    assert world.summary(case, DEST).amount_credited == SMALLER.amount_fen


def test_a_correction_crossing_the_destinations_excess_return_keeps_the_money_whole() -> None:
    """Found by the property suite (single origin, seeded example). The origin corrects its
    sheet upwards and remits the new amount; the bank's notice reaches the destination before
    the corrected sheet, so the money looks like too much: its finance returns the difference,
    the rest reconciles against the old sheet and the case completes. The correction then
    arrives at a completed side (rejected), and the origin's `_over_sent` booked none of the
    return (it sent no more than its sheet): Σ sent ≠ Σ held. Now the return says what the
    destination keeps (`kept_fen`) and the origin books what it sent beyond it; the other
    interleavings: test_transfer_correction_races.py."""
    world, case = started()
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    world.act(case, ORIGIN, IssueInfoSheet(actor=staff(ORIGIN), sheet=SHEET))
    origin = world.sides[(case, ORIGIN)]
    assert world.execute(origin, CorrectInfoSheet(actor=staff(ORIGIN), sheet=BIGGER,
                                                  reason="缴费基数更正"))
    assert world.execute(origin, RemitFunds(actor=staff(ORIGIN), amount_fen=BIGGER.amount_fen,
                                            bank_ref="R-1"))
    assert [m.event.TYPE for m in world.network] == ["InfoSheetCorrected"]  # still in flight
    world.bank_deliver(0, "none")
    assert world.execute(world.sides[(case, DEST)], ReturnExcess(
        actor=Actor.backend("bank", DEST), from_region=ORIGIN, bank_ref="RET-1"))
    world.run_policies()
    assert world.status(case, DEST) == "completed"
    world.deliver_all()
    assert inv.violations_only(inv.conservation(world.summaries())) == []
