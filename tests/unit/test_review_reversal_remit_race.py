"""An upward correction's remittance crossing an operator's reversal (review of 28b4b2c, which
lets a reversal reinstate a `remitting` origin).

The interleaving: the origin remitted its sheet; the destination's operator reverses the
transfer (the origin receives the cancellation and answers `already_transferred`); the origin's
staff then correct the sheet upwards and remit the difference, as `remitting` lets them. The
destination reverses the first remittance as soon as its notice arrives and ends `withdrawn`.
What happens now: the second notice is refused by the withdrawn destination (the oracle's
`bank` rule: "a genuine notice was refused"), and the origin refuses the reversal because it
returns less than it sent (`reversal_mismatch`) and the conclusion (`conclusion_inconsistent`):
it believes it sent 18,200 held by a destination that holds nothing. The protocol's rule
(tests/unit/test_transfer_correction_races.py) is that money facts are never refused and the
money stays whole. Possible fixes (MONEY2's files): refuse `CorrectInfoSheet`/`RemitFunds` at an
origin that knows a reversal was ordered (the cancellation it answered `already_transferred`
is a reversal's), or let the origin book a partial reversal and need a person for the rest.
"""

from __future__ import annotations

import pytest

from domain import invariants as inv
from domain.protocols.transfer import ReverseTransfer
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


@pytest.mark.xfail(strict=True, reason="a reversal crossing an upward correction's remittance: "
                   "the notice is refused at the withdrawn destination, the reversal at the "
                   "origin (domain/protocols/transfer_origin.py TransferReversed / _remit)")
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
