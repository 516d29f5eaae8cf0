"""Money a transfer will not credit never stays at the destination when the case ends.

A bank notice is a money fact: it is recorded whatever the case's state, and money the case
will not credit — from an origin that refused or was released, or reaching a case that is
refusing or has ended — goes back to that origin, on record, before or as the case closes
(`ExcessReturned` for what was held, `LateFundsReturned` for what comes after). An origin that
sent nothing books none of it: it is the bank's money coming back, not this side's.
"""

from __future__ import annotations

import pytest

from domain.kernel import Actor, DomainError, EventRef, Receive
from domain.protocols import pension
from domain.protocols.intake import Withdraw
from domain.protocols.transfer import (
    ApproveTransferOut,
    ContributionYear,
    IssueInfoSheet,
    RefuseTransferOut,
    TransferOutRefused,
)
from tests.fixtures.transfers import TRANSFERS, TransferWorld, accepted_case, staff

DEST, A, B = "150600", "610800", "640100"
PERSON = "e1" * 32
SHEET = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 500_000)])


def deliver_except(world: TransferWorld, region: str) -> None:
    """Deliver what is in flight, policies between, except on `region`'s links."""
    while ready := [i for i in world.in_order()
                    if region not in (world.network[i].from_region, world.network[i].to_region)]:
        world.deliver(ready[0])
        world.run_policies()


def at_rest_holding_nothing(world: TransferWorld, case: str) -> None:
    """The case ended, nothing is held at the destination, no invariant is broken, and no
    side refused what the other sent (the origins took the money back)."""
    dest = world.summary(case, DEST)
    assert dest.terminal and dest.amount_received == 0 and dest.amount_credited == 0
    assert world.at_rest() == []
    assert not [e for side in world.sides.values() for e in side.events
                if e.TYPE == "CounterpartEventRejected"]


def test_a_refusing_destination_never_has_an_origin_that_transferred_out() -> None:
    """Why `refused_by_origin` cannot close over an overtaken origin's money: an origin refuses
    only before it holds (`refusal_after_hold` otherwise), every origin holds before any is told
    to proceed, and none sends its sheet before the instruction — so when one refuses, no
    origin has transferred out, and a sheet reaching a refusing case is refused. No origin of a
    refusing case ever answers `already_transferred` (that needs a sheet)."""
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A, B), DEST)
    world.act(case, A, ApproveTransferOut(actor=staff(A)))
    world.act(case, B, ApproveTransferOut(actor=staff(B)))
    world.transfer_out(case, A, SHEET)
    origin_b = world.sides[(case, B)]
    with pytest.raises(DomainError) as caught:  # B held: its refusal is too late here...
        origin_b.decider.decide(origin_b.state, RefuseTransferOut(actor=staff(B), reason="改"),
                                world.now)
    assert caught.value.code == "already_decided"
    dest = world.sides[(case, DEST)]  # ...and at the destination, whoever sends it
    late = TransferOutRefused(at=world.now, actor=staff(B), to_region=DEST, reason="改变主意")
    with pytest.raises(DomainError) as caught:
        dest.decider.decide(dest.state, Receive(actor=Actor.system("inbox"), event=late,
                                                from_region=B, ref=EventRef("b", 9)), world.now)
    assert caught.value.code == "refusal_after_hold"

    world, case = accepted_case(TRANSFERS, "pension_transfer", (A, B), DEST)
    world.act(case, A, ApproveTransferOut(actor=staff(A)))
    origin_a = world.sides[(case, A)]  # A holds, B refuses: A was never told to proceed
    with pytest.raises(DomainError) as caught:
        origin_a.decider.decide(origin_a.state, IssueInfoSheet(actor=staff(A), sheet=SHEET),
                                world.now)
    assert caught.value.code == "awaiting_instruction"
    world.act(case, B, RefuseTransferOut(actor=staff(B), reason="不符合转出条件"))
    assert [world.status(case, r) for r in (DEST, A, B)] == [
        "refused_by_origin", "released", "refused"]
    at_rest_holding_nothing(world, case)


def test_money_from_an_origin_that_refused_goes_back_before_the_case_closes() -> None:
    """A notice the bank sent before the origin refused (not a remittance of this transfer: the
    origin never sent a sheet) is returned when the refusal arrives, and the case closes on
    nothing held."""
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A,), DEST)
    assert world.funds(case, DEST, A, 1_000, "B-stray") is not None
    world.act(case, A, RefuseTransferOut(actor=staff(A), reason="不符合转出条件"))
    assert [world.status(case, r) for r in (DEST, A)] == ["refused_by_origin", "refused"]
    at_rest_holding_nothing(world, case)
    assert world.summary(case, A).amount_sent == 0  # the origin books none of it
    assert not world.summary(case, A).needs_attention


def test_money_from_an_origin_released_by_a_withdrawal_goes_back_before_it_closes() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A, B), DEST)
    world.act(case, A, ApproveTransferOut(actor=staff(A)))
    dest = world.sides[(case, DEST)]  # the withdrawal is on its way when the bank's notice comes
    assert world.execute(dest, Withdraw(actor=Actor("applicant", PERSON, DEST), reason="撤回"))
    assert world.funds(case, DEST, B, 700, "B-stray") is not None
    assert [world.status(case, r) for r in (DEST, A, B)] == ["withdrawn", "released", "released"]
    at_rest_holding_nothing(world, case)


def test_money_reaching_a_refused_case_is_recorded_and_sent_back() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A,), DEST)
    world.act(case, A, RefuseTransferOut(actor=staff(A), reason="不符合转出条件"))
    events = world.funds(case, DEST, A, 500, "B-after")
    assert events is not None and [e.TYPE for e in events] == ["LateFundsReturned"]
    at_rest_holding_nothing(world, case)
    assert not world.summary(case, A).needs_attention


def test_money_reaching_a_refusing_case_goes_back_at_once() -> None:
    """B refused, A has not answered its cancellation yet: no origin of a refusing case has
    transferred out, so a notice from A is the bank's and goes straight back."""
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A, B), DEST)
    world.act(case, A, ApproveTransferOut(actor=staff(A)))
    assert world.execute(world.sides[(case, B)],
                         RefuseTransferOut(actor=staff(B), reason="不符合转出条件"))
    deliver_except(world, A)
    assert world.status(case, DEST) == "refusing"
    events = world.funds(case, DEST, A, 400, "B-stray")
    assert events is not None and [e.TYPE for e in events] == ["LateFundsReturned"]
    assert [world.status(case, r) for r in (DEST, A, B)] == [
        "refused_by_origin", "released", "refused"]
    at_rest_holding_nothing(world, case)


def test_money_reaching_a_withdrawal_from_an_origin_already_released_is_sent_back() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A, B), DEST)
    world.act(case, A, ApproveTransferOut(actor=staff(A)))
    dest = world.sides[(case, DEST)]  # the withdrawal is out; A's answer comes, B's does not
    assert world.execute(dest, Withdraw(actor=Actor("applicant", PERSON, DEST), reason="撤回"))
    deliver_except(world, B)
    assert world.sides[(case, DEST)].state.tracks[A].answer == "released"
    events = world.funds(case, DEST, A, 300, "B-after")
    assert events is not None and "LateFundsReturned" in [e.TYPE for e in events]
    at_rest_holding_nothing(world, case)
