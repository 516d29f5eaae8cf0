"""A corrected info sheet racing the money (issue 17, the race ROWS' property run found).

The origin (转出地) corrects its sheet while its money, or the destination's answer to it, is on
the way. The protocol's decision: money facts are never refused, and a destination that
completed on a sheet other than the origin's latest is a person's decision (a 补转 after
completion), never an end as if the correction had been applied. So:

- the origin books every return of money it sent: an excess the destination sends back lowers
  its net sent down to what the destination keeps, whatever its own sheet says (a bank's
  over-credit coming back is still not money it sent);
- the destination's conclusion tells the origin how many of its corrections it applied; an
  origin whose last correction was not applied needs attention instead of ending.

Each test below is one interleaving of a correction with a bank notice, a return and the
conclusion; conservation (`domain.invariants.conservation`) must hold in every one of them.
"""

from __future__ import annotations

import dataclasses

import pytest

from domain import invariants as inv
from domain.kernel import Actor, DomainError, EventRef, Receive, to_payload
from domain.protocols import pension
from domain.protocols.casework_events import ResolveAttention
from domain.protocols.transfer import (
    ApproveTransferOut,
    ContributionYear,
    CorrectInfoSheet,
    ExcessReturned,
    IssueInfoSheet,
    RemitFunds,
    ReturnExcess,
    ReverseTransfer,
    TransferConcluded,
)
from domain.settling import execute
from projections import cases
from projections.cases import CaseView
from projections.joint import agreement
from projections.records import SideEvent
from tests.fixtures.transfers import TRANSFERS, TransferWorld, accepted_case, staff

DEST, ORIGIN, OTHER = "150600", "610800", "640100"
SHEET = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 500_000)])  # 17,200.00
BIGGER = pension.transfer_amount(1_100_000, [ContributionYear(2023, 12, 500_000)])  # 18,200.00
SMALLER = pension.transfer_amount(900_000, [ContributionYear(2023, 12, 500_000)])  # 16,200.00
BANK = Actor.backend("bank", DEST)
OPERATOR = Actor("staff", "op-1", DEST, role="operator")

def started(origins: tuple[str, ...] = (ORIGIN,)) -> tuple[TransferWorld, str]:
    return accepted_case(TRANSFERS, "pension_transfer", origins, DEST)


def remitted(world: TransferWorld, case: str, amount: int, ref: str = "R-1") -> None:
    """The origin's treasury remits `amount` (the bank's notice waits in `world.bank`)."""
    assert world.execute(world.sides[(case, ORIGIN)], RemitFunds(
        actor=staff(ORIGIN), amount_fen=amount, bank_ref=ref))


def corrected(world: TransferWorld, case: str, sheet: object) -> None:
    """The origin corrects its sheet; the correction stays on the link (not delivered)."""
    assert world.execute(world.sides[(case, ORIGIN)], CorrectInfoSheet(
        actor=staff(ORIGIN), sheet=sheet, reason="缴费基数更正"))  # type: ignore[arg-type]


def returned_on_the_first_sheet(world: TransferWorld, case: str) -> None:
    """The origin (approved) issues SHEET, corrects it upwards and remits BIGGER; the bank's
    notice reaches the destination before the correction, so its finance returns the 'excess'
    against SHEET and policies run (the correction and the return still on the links)."""
    world.act(case, ORIGIN, IssueInfoSheet(actor=staff(ORIGIN), sheet=SHEET))
    corrected(world, case, BIGGER)
    remitted(world, case, BIGGER.amount_fen)
    world.bank_deliver(0, "none")
    assert world.execute(world.sides[(case, DEST)], ReturnExcess(
        actor=BANK, from_region=ORIGIN, bank_ref="RET-1"))
    world.run_policies()


def crossed(world: TransferWorld, case: str, correction: object) -> None:
    """The first sheet remitted; `correction` crosses the bank notice; the destination
    completes on the first sheet and the origin learns it (needs a person)."""
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    remitted(world, case, SHEET.amount_fen)
    corrected(world, case, correction)
    world.bank_deliver(0, "none")
    world.run_policies()
    world.deliver_all()
    assert world.status(case, ORIGIN) == "needs_attention"


def whole(world: TransferWorld) -> None:
    """No money lost or made up: conservation holds (a side needing a person is not a
    violation, as everywhere)."""
    assert inv.violations_only(inv.conservation(world.summaries())) == []


def types(world: TransferWorld, case: str, region: str) -> list[str]:
    return [e.TYPE for e in world.sides[(case, region)].events]


def test_a_downward_correction_crossing_the_bank_notice_needs_a_person_at_the_origin() -> None:
    """Sheet 17,200 remitted; the origin corrects to 16,200 while the notice is on its way; the
    destination completes on the notice and the first sheet; the correction arrives late."""
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    remitted(world, case, SHEET.amount_fen)
    corrected(world, case, SMALLER)
    world.bank_deliver(0, "none")
    world.run_policies()
    assert world.status(case, DEST) == "completed"
    world.deliver_all()
    origin = world.summary(case, ORIGIN)
    assert (origin.status, origin.terminal, origin.amount_sent) == (
        "needs_attention", False, SHEET.amount_fen)
    assert "CorrectionNotApplied" in types(world, case, ORIGIN)
    whole(world)


def test_an_upward_correction_crossing_the_bank_notice_remits_nothing_more() -> None:
    """The origin corrects upwards after remitting; the destination completed on the first
    money: the rest is not remitted into a completed case (it would be refused at its bank)."""
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    remitted(world, case, SHEET.amount_fen)
    corrected(world, case, BIGGER)
    assert world.status(case, ORIGIN) == "remitting"
    world.bank_deliver(0, "none")
    world.run_policies()
    world.deliver_all()
    assert world.status(case, ORIGIN) == "needs_attention"
    assert world.execute(world.sides[(case, ORIGIN)], RemitFunds(
        actor=staff(ORIGIN), amount_fen=BIGGER.amount_fen - SHEET.amount_fen,
        bank_ref="R-2")) is None
    assert world.summary(case, ORIGIN).amount_sent == SHEET.amount_fen
    whole(world)


def test_the_return_before_the_refused_correction_is_booked_and_the_origin_needs_a_person(
) -> None:
    """The xfail of test_transfer_corrections in full: the excess the destination returns
    (against its old sheet) reaches the origin before the conclusion; the correction itself is
    refused by the completed destination. The origin books the return (net sent = what the
    destination keeps), then needs a person; staff resolve it with a note and it ends."""
    world, case = started()
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    returned_on_the_first_sheet(world, case)
    assert world.status(case, DEST) == "completed"
    world.deliver_all()
    assert "LateCorrectionReceived" in types(world, case, DEST)  # on record, not refused
    origin = world.summary(case, ORIGIN)
    assert (origin.status, origin.amount_sent) == ("needs_attention", SHEET.amount_fen)
    whole(world)
    world.act(case, ORIGIN, ResolveAttention(actor=staff(ORIGIN),
                                             note="已与转入地联系，差额另行补转"))
    origin = world.summary(case, ORIGIN)
    assert (origin.status, origin.terminal) == ("transferred_out", True)


def test_a_return_before_the_correction_arrives_is_booked_and_the_rest_remitted() -> None:
    """Two origins: the destination returns ORIGIN's 'excess' against its first sheet, then
    the correction arrives while the other origin is still out: ORIGIN owes the difference
    again (the return is booked), remits it, and the case completes with the money whole."""
    world, case = started((ORIGIN, OTHER))
    for region in (ORIGIN, OTHER):
        world.act(case, region, ApproveTransferOut(actor=staff(region)))
    returned_on_the_first_sheet(world, case)
    world.deliver_all()  # the return and the correction arrive
    assert world.status(case, DEST) == "needs_attention"  # short of the corrected sheet
    assert world.status(case, ORIGIN) == "remitting"
    assert world.summary(case, ORIGIN).amount_sent == SHEET.amount_fen
    world.act(case, ORIGIN, RemitFunds(actor=staff(ORIGIN),
                                       amount_fen=BIGGER.amount_fen - SHEET.amount_fen,
                                       bank_ref="R-2"))
    world.bank_deliver(0, "none")
    world.transfer_out(case, OTHER, SMALLER)
    world.bank_deliver(0, "none")
    world.run_policies()
    world.deliver_all()
    assert world.status(case, DEST) == "completed"
    assert world.summary(case, DEST).amount_credited == BIGGER.amount_fen + SMALLER.amount_fen
    assert world.summary(case, ORIGIN).terminal
    whole(world)
    assert world.at_rest() == []


def test_of_two_corrections_the_second_crossing_the_completion_needs_a_person() -> None:
    """The first correction was applied, the second crossed the conclusion."""
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    world.act(case, ORIGIN, CorrectInfoSheet(actor=staff(ORIGIN), sheet=BIGGER, reason="漏记"))
    remitted(world, case, BIGGER.amount_fen)
    corrected(world, case, SHEET)  # back to the first figures: 1,000 to come back
    world.bank_deliver(0, "none")
    world.run_policies()
    assert world.status(case, DEST) == "completed"
    world.deliver_all()
    assert world.status(case, ORIGIN) == "needs_attention"
    whole(world)


def test_two_corrections_both_applied_end_as_usual() -> None:
    """No false alarm: every correction arrived before the money, the case ends on both sides."""
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    world.act(case, ORIGIN, CorrectInfoSheet(actor=staff(ORIGIN), sheet=BIGGER, reason="漏记"))
    world.act(case, ORIGIN, CorrectInfoSheet(actor=staff(ORIGIN), sheet=SMALLER, reason="多记"))
    world.act(case, ORIGIN, RemitFunds(actor=staff(ORIGIN), amount_fen=SMALLER.amount_fen,
                                       bank_ref="R-1"))
    world.bank_deliver(0, "none")
    world.run_policies()
    world.deliver_all()
    assert (world.status(case, DEST), world.status(case, ORIGIN)) == (
        "completed", "transferred_out")
    assert world.at_rest() == []


def test_a_correction_arriving_before_finance_returns_the_excess_completes_on_it() -> None:
    """The bank's notice for the corrected amount came first (needs_attention: more than the
    first sheet), then the correction: nothing is returned, the case completes on it."""
    world, case = started()
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    world.act(case, ORIGIN, IssueInfoSheet(actor=staff(ORIGIN), sheet=SHEET))
    corrected(world, case, BIGGER)
    remitted(world, case, BIGGER.amount_fen)
    world.bank_deliver(0, "none")
    world.run_policies()
    assert world.status(case, DEST) == "needs_attention"
    world.deliver_all()
    assert (world.status(case, DEST), world.status(case, ORIGIN)) == (
        "completed", "transferred_out")
    assert world.summary(case, DEST).amount_credited == BIGGER.amount_fen
    assert world.at_rest() == []


def test_a_banks_over_credit_returned_is_not_booked_as_money_sent_back() -> None:
    """One fen more on the notice than was remitted: the destination returns it; the origin
    sent exactly its sheet, so its net sent stays the sheet (the fen was never its own)."""
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET)
    world.bank.clear()
    world.funds(case, DEST, ORIGIN, SHEET.amount_fen + 1, "B-1")
    world.act(case, DEST, ReturnExcess(actor=BANK, from_region=ORIGIN, bank_ref="RET-1"))
    assert world.summary(case, ORIGIN).amount_sent == SHEET.amount_fen
    assert world.summary(case, DEST).status == "completed"
    assert world.at_rest() == []


def test_a_correction_asking_for_more_crossing_an_operators_reversal_is_reinstated() -> None:
    """The operator reverses while the origin's upward correction is on its way: the reversal
    returns what was sent, and the origin, remitting for its corrected sheet, takes it back
    (a money fact is never refused) and reinstates; the destination ends withdrawn."""
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    remitted(world, case, SHEET.amount_fen)
    world.act(case, DEST, ReverseTransfer(actor=OPERATOR, reason="经办错误：转入地错误"))
    corrected(world, case, BIGGER)
    world.bank_deliver(0, "none")  # the money arrives and is sent back at once
    world.run_policies()
    world.deliver_all()
    dest, origin = world.summary(case, DEST), world.summary(case, ORIGIN)
    assert (dest.status, origin.status, origin.amount_sent, dest.amount_received) == (
        "withdrawn", "reinstated", 0, 0)
    assert "LateCorrectionReceived" in types(world, case, DEST)
    assert world.at_rest() == []


def test_a_v1_return_and_conclusion_are_judged_as_before() -> None:
    """From a node not yet upgraded: a return without `kept_fen` is judged against the origin's
    own sheet (here: nothing it sent beyond it) and a conclusion without `corrections` is not
    compared, so the origin ends as a v1 origin did."""
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET)
    origin = world.sides[(case, ORIGIN)]
    state = origin.state
    inbox = Actor.system("inbox", ORIGIN)
    for i, event in enumerate((
            ExcessReturned(at=world.now, actor=BANK, to_region=ORIGIN, amount_fen=500,
                           bank_ref="RET-1"),
            TransferConcluded(at=world.now, actor=BANK, to_region=ORIGIN, outcome="completed"))):
        state, _ = execute(origin.decider, state, Receive(
            actor=inbox, event=event, from_region=DEST, ref=EventRef("dest-side", 20 + i)),
            world.now)
    summary = origin.decider.summary(state)
    assert (summary.status, summary.terminal, summary.amount_sent) == (
        "transferred_out", True, SHEET.amount_fen)


def test_the_joint_view_and_conservation_report_a_deciding_origin_as_attention() -> None:
    """While the origin waits for a person, the sheets' difference is its attention, not a
    disagreement; once staff resolved it, the origin ends on the sheet the destination
    concluded on and the difference is left to a new case: the sides agree."""
    world, case = started()
    crossed(world, case, SMALLER)
    found = inv.conservation(world.summaries())
    assert found and {v.severity for v in found} == {"attention"}
    views = [_view(world, case, region) for region in (DEST, ORIGIN)]
    judged = agreement(views, complete=True)
    assert (judged.agreed, judged.disagreements) == (None, ())
    assert any("补转" in line for line in judged.attention)
    world.act(case, ORIGIN, ResolveAttention(actor=staff(ORIGIN), note="差额由转入地退回，另案办理"))
    # ended on the sheet the destination concluded on, the difference left to a new case
    assert agreement([_view(world, case, r) for r in (DEST, ORIGIN)], complete=True).agreed


def _view(world: TransferWorld, case: str, region: str) -> CaseView:
    """The region's case view, folded from its side's events as a node's views fold them."""
    side = world.sides[(case, region)]
    view = None
    for i, event in enumerate(side.events, 1):
        record = SideEvent(i, region, case, "150600-20250101-0000000001", "pension_transfer",
                           "side", i, event.TYPE, type(event).SCHEMA_VERSION, to_payload(event))
        view = cases.apply(view, record, side.decider)
    assert view is not None
    return view


def test_nothing_is_returned_as_an_excess_once_a_reversal_sent_everything_back() -> None:
    """Found by the simulator's crossing edge (seed 2): a reversal had returned the funds, then
    a downward correction reached the still-withdrawing destination, whose finance returned
    the 'excess' again — it held minus that amount."""
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    remitted(world, case, SHEET.amount_fen)
    world.act(case, DEST, ReverseTransfer(actor=OPERATOR, reason="经办错误：转入地错误"))
    world.bank_deliver(0, "none")
    world.run_policies()
    side = world.sides[(case, DEST)]
    track = side.state.tracks[ORIGIN]
    assert track.reversed_fen == SHEET.amount_fen
    smaller = dataclasses.replace(side.state, phase="withdrawing", tracks={
        ORIGIN: dataclasses.replace(track, sheet=SMALLER)})
    with pytest.raises(DomainError) as refused:
        side.decider.decide(smaller, ReturnExcess(actor=BANK, from_region=ORIGIN,
                                                  bank_ref="RET-2"), world.now)
    assert refused.value.code == "no_excess"
