"""How a transfer's destination state changes with each of its events: the one fold of
`DestinationState` (`TransferDecider.evolve` runs it after the part both roles share).

Why apart from the destination's rules (`transfer_destination`, `transfer_destination_inbox`,
`transfer_money`): those decide, this only applies what was decided — one place that shows
every field an event sets, whichever rule emitted it, as `household_destination` does for 户口.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.fold import replace
from domain.kernel import Event
from domain.protocols.intake import (
    ApplicationWithdrawn,
    CaseLapsed,
    IntakeAccepted,
    IntakeRejected,
    SupplementProvided,
    SupplementRequested,
    evolve_intake,
)
from domain.protocols.transfer_events import (
    BenefitStarted,
    ContactLetterConfirmed,
    ContactLetterIssued,
    ExcessReturned,
    FundsReceived,
    LateFundsReturned,
    ProceedInstructed,
    Reconciled,
    RelationshipTakenOver,
    TransferCancelled,
    TransferCaseClosed,
    TransferCloseOrdered,
    TransferCompleted,
    TransferOutHeld,
    TransferReversalOrdered,
    TransferReversed,
)
from domain.protocols.transfer_receipts import (
    CancellationAnswerReceived,
    InfoSheetCorrectionReceived,
    InfoSheetReceived,
    OriginRefusalReceived,
    TransferMessageReceived,
)
from domain.protocols.transfer_states import DestinationState, OriginTrack


def evolve_destination(s: DestinationState, e: Event) -> DestinationState:
    """The destination's state after `e` (its own events and its receipts; the common ones:
    `TransferDecider._evolve_common`)."""
    def track(region: str, **changes: Any) -> Mapping[str, OriginTrack]:
        return {**s.tracks, region: replace(s.tracks[region], **changes)}

    if isinstance(e, (IntakeAccepted, IntakeRejected, SupplementRequested, SupplementProvided,
                      CaseLapsed)):
        intake = evolve_intake(s.intake, e)
        assert intake is not None
        return replace(s, intake=intake, phase=intake.status)
    if isinstance(e, ApplicationWithdrawn):
        intake = evolve_intake(s.intake, e)
        assert intake is not None
        return replace(s, intake=intake, phase="withdrawing" if s.letters_sent else "withdrawn")
    if isinstance(e, ContactLetterIssued):
        return replace(s, letters_sent=True,
                       phase="awaiting_holds" if s.two_phase else "awaiting_transfer")
    if isinstance(e, ProceedInstructed):
        return replace(s, proceed_sent=True, phase="awaiting_transfer")
    if isinstance(e, TransferMessageReceived):
        if e.event_type == TransferOutHeld.TYPE:
            return replace(s, tracks=track(e.from_region, vote="held"))
        if e.event_type == ContactLetterConfirmed.TYPE:
            return replace(s, tracks=track(e.from_region, confirmed=True))
        return s
    if isinstance(e, OriginRefusalReceived):
        phase = "refusing" if s.phase in ("awaiting_holds", "awaiting_transfer") else s.phase
        tracks = track(e.from_region, vote="refused", refusal=e.reason)
        return replace(s, phase=phase, tracks=tracks)
    if isinstance(e, TransferCancelled):
        return replace(s, tracks=track(e.to_region, cancel_sent=True))
    if isinstance(e, InfoSheetReceived):
        return replace(s, tracks=track(e.from_region, sheet=e.sheet))
    if isinstance(e, FundsReceived):  # new money voids an earlier match: reconcile again
        t = s.tracks[e.from_region]
        funds = (*t.funds, (e.bank_ref, e.amount_fen))
        return replace(s, tracks=track(e.from_region, funds=funds, matched=False))
    if isinstance(e, InfoSheetCorrectionReceived):
        t = s.tracks[e.from_region]
        return replace(s, tracks=track(e.from_region, sheet=e.sheet, matched=False,
                                       reconciled_count=-1, corrections=t.corrections + 1))
    if isinstance(e, ExcessReturned):
        t = s.tracks[e.to_region]
        return replace(s, tracks=track(e.to_region, matched=False, reconciled_count=-1,
                                       excess_returned_fen=t.excess_returned_fen
                                       + e.amount_fen))
    if isinstance(e, LateFundsReturned):  # on record, and gone again: nothing more held
        t = s.tracks[e.to_region]
        return replace(s, tracks=track(e.to_region, funds=(*t.funds, (e.notice_ref,
                                                                    e.amount_fen)),
                                       excess_returned_fen=t.excess_returned_fen
                                       + e.amount_fen))
    if isinstance(e, Reconciled):
        t = s.tracks[e.from_region]
        return replace(s, tracks=track(e.from_region, matched=e.matched,
                                       reconciled_count=len(t.funds)))
    if isinstance(e, RelationshipTakenOver):
        return replace(s, taken_over=True)
    if isinstance(e, BenefitStarted):
        return replace(s, benefit=(e.monthly_fen, e.period_months))
    if isinstance(e, TransferCompleted):
        r = e.reconciled  # the last origin's match, when it rode on the completion
        tracks = s.tracks if r is None else track(
            r.from_region, matched=True, reconciled_count=len(s.tracks[r.from_region].funds))
        return replace(s, phase="completed", credited_fen=e.credited_fen,
                       credited_months=e.credited_months, tracks=tracks)
    if isinstance(e, CancellationAnswerReceived):
        return replace(s, tracks=track(e.from_region, answer=e.outcome))
    if isinstance(e, TransferReversed):
        return replace(s, tracks=track(e.to_region, reversed_fen=e.amount_fen))
    if isinstance(e, TransferReversalOrdered):
        return replace(s, reversal=e.reason, phase="withdrawing")
    if isinstance(e, TransferCloseOrdered):
        return replace(s, closing=e.reason, phase="withdrawing")
    if isinstance(e, TransferCaseClosed):
        return replace(s, phase=e.outcome)
    return s
