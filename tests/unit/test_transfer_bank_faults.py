"""The property suite's bank (`tests.fixtures.transfers.TransferWorld.bank_deliver`) repeats and
splits notices: a repeat is the same notice again (its reference, not money), a split is one
remittance arriving in parts. Neither may bring money the origin never sent, or the suite's
conservation check blames the protocol for the bank model's invention."""

from __future__ import annotations

from domain.protocols import pension
from domain.protocols.transfer import ContributionYear
from tests.fixtures.transfers import TRANSFERS, accepted_case

DEST, ORIGIN = "150600", "610800"
SHEET = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 500_000)])


def test_a_repeated_notice_however_split_brings_no_money_the_origin_did_not_send() -> None:
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET)
    world.bank_deliver(0, "repeat")  # the remittance's notice, and the same notice again
    world.bank_deliver(0, "split")  # the bank splits what it repeats
    while world.bank:
        world.bank_deliver(0, "none")
    world.run_policies()
    world.deliver_all()
    assert world.summary(case, DEST).amount_received == SHEET.amount_fen
    assert world.summary(case, DEST).amount_received <= world.summary(case, ORIGIN).amount_sent
