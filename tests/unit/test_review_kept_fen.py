"""A crafted ExcessReturned v2 (`kept_fen`) makes an origin owe its whole sheet again (review of
28b4b2c).

Why it matters: since v2 the origin books as sent back whatever it sent beyond the peer's
`kept_fen`, whatever its own sheet says, and then `_owing` puts it back to `remitting` for the
difference. The origin has no bank notice of its own for the return: the peer's word is all.
A destination that is hostile or broken says it returned everything and keeps 0 fen: the origin
now shows 0 sent, `remitting`, and asks its staff to remit the full sheet a second time. A v1
return could only lower the net sent to the origin's own sheet (nothing, here). An honest
destination's `kept_fen` is always the amount of a sheet this origin issued (its first or a
correction: `DestinationMoney.return_excess` sends `t.sheet.amount_fen`), so a check against
the origin's own sheets (which the state would have to remember) refuses this without
refusing any honest race. (MONEY2's file: domain/protocols/transfer_origin.py `_sent_back` and
the ExcessReturned branch of `_origin_receive`.)
"""

from __future__ import annotations

from domain.kernel import Actor, DomainError, EventRef, Receive
from domain.protocols.transfer_events import ExcessReturned, LateFundsReturned
from domain.settling import execute
from tests.unit.test_transfer_correction_races import (
    BIGGER,
    DEST,
    ORIGIN,
    SHEET,
    SMALLER,
    corrected,
    crossed,
    started,
)


def test_a_return_keeping_an_amount_no_sheet_stated_does_not_reopen_the_remittance() -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET)
    origin = world.sides[(case, ORIGIN)]
    assert origin.decider.summary(origin.state).status == "transferred_out"
    crafted = ExcessReturned(at=world.now, actor=Actor.system("finance", DEST), to_region=ORIGIN,
                             amount_fen=SHEET.amount_fen, bank_ref="RET-X", kept_fen=0)
    try:
        state, events = execute(origin.decider, origin.state, Receive(
            actor=Actor.system("inbox", ORIGIN), event=crafted, from_region=DEST,
            ref=EventRef("dest-side", 40)), world.now)
    except DomainError:
        return  # refused: the origin's books are as they were
    summary = origin.decider.summary(state)
    # refused as the protocol refuses an impossible counterpart event (the kernel records
    # CounterpartEventRejected and a person looks: needs_attention over transferred_out), or
    # booked harmlessly; never rebooked to remitting with nothing sent
    assert (state.phase, summary.amount_sent) == ("transferred_out", SHEET.amount_fen)
    assert summary.status == "transferred_out" or "CounterpartEventRejected" in [
        e.TYPE for e in events]


def test_a_late_return_keeping_nothing_does_not_empty_an_ended_origins_books() -> None:
    """The same trust in `kept_fen` on the late return to a completed case: an ended origin
    told its whole remittance came back (keeping 0 fen, no sheet's amount) books 0 sent, and
    conservation then reports money lost that the destination still holds."""
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET)
    while world.bank:
        world.bank_deliver(0, "none")
    world.run_policies()
    world.deliver_all()
    origin = world.sides[(case, ORIGIN)]
    assert origin.decider.summary(origin.state).terminal
    crafted = LateFundsReturned(at=world.now, actor=Actor.system("finance", DEST),
                                to_region=ORIGIN, amount_fen=SHEET.amount_fen,
                                notice_ref="N-X", bank_ref="RETURN:N-X", kept_fen=0)
    try:
        state, _ = execute(origin.decider, origin.state, Receive(
            actor=Actor.system("inbox", ORIGIN), event=crafted, from_region=DEST,
            ref=EventRef("dest-side", 41)), world.now)
    except DomainError:
        return
    assert origin.decider.summary(state).amount_sent == SHEET.amount_fen


def _receive(world: object, origin: object, event: object, seq: int) -> list[str]:
    state, events = execute(origin.decider, origin.state, Receive(  # type: ignore[attr-defined]
        actor=Actor.system("inbox", ORIGIN), event=event, from_region=DEST,  # type: ignore[arg-type]
        ref=EventRef("dest-side", seq)), world.now)  # type: ignore[attr-defined]
    origin.state = state  # type: ignore[attr-defined]
    return [e.TYPE for e in events]


def test_a_return_keeping_the_amount_of_a_sheet_this_side_sent_is_booked() -> None:
    """The honest race stays booked: the destination keeps the first sheet's amount while the
    origin's corrected (smaller) sheet is on its way."""
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET)
    origin = world.sides[(case, ORIGIN)]
    corrected(world, case, SMALLER)
    returned = ExcessReturned(at=world.now, actor=Actor.system("finance", DEST),
                              to_region=ORIGIN, amount_fen=500, bank_ref="RET-1",
                              kept_fen=SHEET.amount_fen)
    assert _receive(world, origin, returned, 40) == ["ExcessReturnReceived"]
    assert origin.decider.summary(origin.state).amount_sent == SHEET.amount_fen


def test_a_late_return_keeping_another_sheet_than_the_one_concluded_on_is_refused() -> None:
    """The conclusion named the sheet the destination completed on (0 corrections applied: the
    first): a late return saying it keeps the corrected sheet's amount cannot be true."""
    world, case = started()
    crossed(world, case, BIGGER)
    origin = world.sides[(case, ORIGIN)]
    crafted = LateFundsReturned(at=world.now, actor=Actor.system("finance", DEST),
                                to_region=ORIGIN, amount_fen=100_000, notice_ref="N-X",
                                bank_ref="RETURN:N-X", kept_fen=BIGGER.amount_fen)
    assert _receive(world, origin, crafted, 42)[0] == "CounterpartEventRejected"
    assert origin.decider.summary(origin.state).amount_sent == SHEET.amount_fen
