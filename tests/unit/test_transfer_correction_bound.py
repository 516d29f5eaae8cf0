"""A destination's count of an origin's corrected sheets stays within what the wire carries.

The wire bounds a conclusion's count of corrections (`TransferConcluded.corrections`, 0 to
`MAX_CORRECTIONS`), and a node reads its own stored events back as strictly as a peer's. The
origin refuses a correction beyond the bound (`too_many_corrections`); the destination, which
counts what it receives, must refuse one too many from a peer, never count it.
"""

from __future__ import annotations

from domain.kernel import Actor, EventRef, Receive, event_from_payload, to_payload
from domain.protocols import pension
from domain.protocols.transfer import ContributionYear, InfoSheetCorrected, RemitFunds
from domain.protocols.transfer_sheets import MAX_CORRECTIONS
from tests.fixtures.transfers import TRANSFERS, accepted_case, staff

DEST, A = "150600", "610800"
SHEET = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 500_000)])


def test_a_destination_counts_at_most_max_corrections_so_its_conclusion_can_be_read_back(
) -> None:
    """The wire bounds a conclusion's count of corrections (0 to `MAX_CORRECTIONS`), and the
    store reads every event back as strictly: a peer sending more corrected sheets than any
    origin may (`too_many_corrections` there) has the one too many refused, never counted, so
    the destination never records a conclusion it could not read back or send."""
    world, case = accepted_case(TRANSFERS, "pension_transfer", (A,), DEST)
    world.transfer_out(case, A, SHEET, remit=False)
    dest = world.sides[(case, DEST)]
    for n in range(MAX_CORRECTIONS + 1):
        corrected = InfoSheetCorrected(at=world.now, actor=staff(A), to_region=DEST, sheet=SHEET,
                                       reason=f"更正 {n}")
        assert world.execute(dest, Receive(actor=Actor.system("inbox", DEST), event=corrected,
                                           from_region=A, ref=EventRef("forged", n + 1)))
    assert dest.events[-2].TYPE == "CounterpartEventRejected"
    assert "too_many_corrections" in dest.events[-2].reason  # type: ignore[attr-defined]
    assert dest.state.tracks[A].corrections == MAX_CORRECTIONS
    world.act(case, A, RemitFunds(actor=staff(A), amount_fen=SHEET.amount_fen, bank_ref="R-1"))
    world.funds(case, DEST, A, SHEET.amount_fen, "R-1")
    assert world.status(case, DEST) == "completed"
    for e in dest.events:  # what the store and the relay read back
        assert event_from_payload(e.TYPE, to_payload(e), e.SCHEMA_VERSION) == e
