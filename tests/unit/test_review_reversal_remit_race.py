"""An upward correction's remittance crossing an operator's reversal (review of 28b4b2c, which
lets a reversal reinstate a `remitting` origin).

The interleaving: the origin remitted its sheet; the destination's operator reverses the
transfer (the origin receives the cancellation and answers `already_transferred`); the origin's
staff then correct the sheet upwards and remit the difference, as `remitting` lets them. The
destination reverses the first remittance as soon as its notice arrives and ends `withdrawn`.
Before the fix, the second notice was refused by the withdrawn destination (the oracle's
`bank` rule: "a genuine notice was refused"), and the origin refused the reversal because it
returns less than it sent (`reversal_mismatch`) and the conclusion (`conclusion_inconsistent`):
it believes it sent 18,200 held by a destination that holds nothing. The protocol's rule
(tests/unit/test_transfer_correction_races.py) is that money facts are never refused and the
money stays whole. Possible fixes (MONEY2's files): refuse `CorrectInfoSheet`/`RemitFunds` at an
origin that knows a reversal was ordered (the cancellation it answered `already_transferred`
is a reversal's), or let the origin book a partial reversal and need a person for the rest.
The fix taken: the destination sends money reaching a reversed origin's track straight back
(`LateFundsReturned`, keeping 0), and the origin takes a reversal for less than it sent but no
less than a sheet it sent; no one is asked, the money comes back whole.
"""

from __future__ import annotations

from domain import invariants as inv
from domain.kernel import Actor, EventRef, Receive
from domain.protocols.transfer import ReverseTransfer, TransferReversed
from domain.settling import execute
from tests.unit.test_transfer_correction_races import (
    BIGGER,
    DEST,
    OPERATOR,
    ORIGIN,
    SHEET,
    corrected,
    remitted,
    started,
)


def test_a_remittance_for_an_upward_correction_crossing_a_reversal_keeps_the_money_whole(
) -> None:
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    remitted(world, case, SHEET.amount_fen)
    world.act(case, DEST, ReverseTransfer(actor=OPERATOR, reason="经办错误：转入地错误"))
    corrected(world, case, BIGGER)
    world.bank_deliver(0, "none")  # the first notice: reversed at once
    world.run_policies()
    remitted(world, case, BIGGER.amount_fen - SHEET.amount_fen, "R-2")
    for _ in range(3):
        while world.bank:
            world.bank_deliver(0, "none")
        world.run_policies()
        world.deliver_all()
    assert world.at_rest() == []
    assert inv.violations_only(inv.conservation(world.summaries())) == []
    origin, dest = world.summary(case, ORIGIN), world.summary(case, DEST)
    assert origin.terminal or origin.needs_attention
    assert origin.amount_sent == dest.amount_received


def test_the_crossing_remittance_comes_back_as_a_late_return_and_the_reversal_is_partial(
) -> None:
    """What the fix does: the destination reverses what it received (the first sheet's money),
    records the second notice and sends it straight back (LateFundsReturned, keeping 0); the
    origin takes the reversal (it returns less than was sent, but no less than a sheet it sent:
    the rest is on its way back) and books the late return."""
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    remitted(world, case, SHEET.amount_fen)
    world.act(case, DEST, ReverseTransfer(actor=OPERATOR, reason="经办错误：转入地错误"))
    corrected(world, case, BIGGER)
    world.bank_deliver(0, "none")
    world.run_policies()
    remitted(world, case, BIGGER.amount_fen - SHEET.amount_fen, "R-2")
    world.bank_deliver(0, "split")
    world.bank_deliver(0, "none")
    world.run_policies()
    world.deliver_all()
    dest = [e for e in world.sides[(case, DEST)].events if e.TYPE == "LateFundsReturned"]
    assert [e.kept_fen for e in dest] == [0, 0]  # type: ignore[attr-defined]
    assert sum(e.amount_fen for e in dest) == BIGGER.amount_fen - SHEET.amount_fen  # type: ignore[attr-defined]
    origin = world.summary(case, ORIGIN)
    assert (origin.status, origin.terminal, origin.amount_sent) == ("reinstated", True, 0)
    assert inv.violations_only(inv.conservation(world.summaries())) == []


def test_a_reversal_returning_less_than_any_sheet_is_refused() -> None:
    """A reversal may return less than was sent only when a remittance is still on its way: a
    destination reverses once what it received covers its sheet, one of this side's."""
    world, case = started()
    world.transfer_out(case, ORIGIN, SHEET)
    world.act(case, DEST, ReverseTransfer(actor=OPERATOR, reason="经办错误：转入地错误"))
    world.deliver_all()
    origin = world.sides[(case, ORIGIN)]
    crafted = TransferReversed(at=world.now, actor=OPERATOR, to_region=ORIGIN, case_id=case,
                               person_key=origin.state.person_key, scheme="pension",
                               amount_fen=1, bank_ref="RETURN:X")
    _, events = execute(origin.decider, origin.state, Receive(
        actor=Actor.system("inbox", ORIGIN), event=crafted, from_region=DEST,
        ref=EventRef("dest-side", 77)), world.now)
    assert "reversal_mismatch" in getattr(events[0], "reason", "")
