"""What a transfer's origin does with each message from the destination: the contact letter
(which opens the side), the instruction to proceed, a cancellation, a reversal, returned
money and the conclusion (a base of `OriginSide`, `transfer_origin`).

Why apart from the origin's commands: these are the destination's facts, judged against what
this side knows before anything is rebooked on the peer's word (`_judge_kept`: what a return
says the destination keeps) and recorded as receipts or refused as a whole (`settling.receive`
then records `CounterpartEventRejected`); the commands read better without them.
"""

from __future__ import annotations

import datetime as dt

from domain.kernel import (
    Actor,
    DomainError,
    Event,
    IllegalCommand,
    NeedsAttentionRaised,
    Receive,
)
from domain.protocols.casework import resume_step
from domain.protocols.transfer_events import (
    CancellationAnswered,
    ContactLetterConfirmed,
    ContactLetterIssued,
    CorrectionNotApplied,
    ExcessReturned,
    HoldReleased,
    LateFundsReturned,
    ProceedInstructed,
    TransferCancelled,
    TransferConcluded,
    TransferOutReversed,
    TransferReversed,
)
from domain.protocols.transfer_receipts import (
    CancellationReceived,
    ConclusionReceived,
    ContactLetterReceived,
    ExcessReturnReceived,
    LateFundsReturnReceived,
    TransferMessageReceived,
    TransferReversalReceived,
)
from domain.protocols.transfer_states import (
    CONCLUSION_FITS,
    OriginState,
    TransferBase,
    deadline_clock,
)
from domain.values import Money


class OriginInbox(TransferBase):
    """The origin's receipt of the destination's messages (a base of `OriginSide`)."""

    def _origin_first(self, c: Receive, now: dt.datetime) -> list[Event]:
        ev = c.event
        if not isinstance(ev, ContactLetterIssued):
            raise IllegalCommand(f"{ev.TYPE} for a case this region has no contact letter for",
                                 code="no_contact_letter")
        if ev.process != self.process:
            raise DomainError(f"a {ev.process} letter reached the {self.process} protocol",
                              code="wrong_process")
        actor = Actor.system("inbox", ev.to_region)
        events: list[Event] = [ContactLetterReceived(
            at=now, actor=actor, ref=c.ref, from_region=c.from_region, case_id=ev.case_id,
            case_number=ev.case_number, process=ev.process, person_key=ev.person_key,
            applicant_masked=ev.applicant_masked, region=ev.to_region, origins=ev.origins,
            two_phase=ev.two_phase, letter_no=ev.letter_no, agency=ev.agency,
            direction=ev.direction)]
        events += self._deadline("transfer_out", now, ev.to_region)
        if self.spec.confirms_receipt:
            events.append(ContactLetterConfirmed(at=now, actor=actor, to_region=c.from_region))
        return events

    def _origin_receive(self, s: OriginState, c: Receive, now: dt.datetime) -> list[Event]:
        if c.ref in s.seen:
            return []
        ev = c.event
        if c.from_region != s.destination:
            raise DomainError(f"{c.from_region} is not this case's destination",
                              code="unknown_counterpart")
        actor = inbox = Actor.system("inbox", s.region)
        frm = c.from_region
        if isinstance(ev, ContactLetterIssued):
            raise IllegalCommand("a second contact letter for one case",
                                 code="duplicate_contact_letter")
        if isinstance(ev, ProceedInstructed):
            if s.phase != "held":
                raise IllegalCommand(f"an instruction to proceed is not expected while {s.phase}",
                                     code="unexpected_instruction")
            events: list[Event] = [TransferMessageReceived(
                at=now, actor=inbox, ref=c.ref, from_region=frm, event_type=ev.TYPE)]
            return events + resume_step(self.rules, self.process, s.paused, "transfer_out", now,
                                        deadline_clock(s.region))
        if isinstance(ev, TransferCancelled):
            return self._cancelled(s, c, ev, now)
        if isinstance(ev, TransferReversed):  # also while a correction asks for more
            if (s.phase not in ("remitting", "transferred_out") or not s.cancel_received
                    or s.sheet is None):
                raise IllegalCommand(f"a reversal is not expected while {s.phase}",
                                     code="unexpected_reversal")
            least = min((sheet.amount_fen for sheet in s.sheets), default=0)
            if not least <= ev.amount_fen <= s.sent_fen:
                raise IllegalCommand(f"the reversal returns {Money(ev.amount_fen)} but "
                                     f"{Money(s.sent_fen)} was remitted",
                                     code="reversal_mismatch")
            return [TransferReversalReceived(at=now, actor=inbox, ref=c.ref, from_region=frm,
                                             amount_fen=ev.amount_fen,
                                             bank_ref=ev.bank_ref),
                    TransferOutReversed(at=now, actor=actor, case_id=s.case_id,
                                        person_key=s.person_key, scheme=s.scheme,
                                        amount_fen=ev.amount_fen)]
        if isinstance(ev, ExcessReturned):
            if not _returnable(s, "remitting", "transferred_out"):
                raise IllegalCommand(f"money returned while {s.phase}",
                                     code="unexpected_return")
            _judge_kept(s, ev.kept_fen, late=False)
            return [ExcessReturnReceived(at=now, actor=inbox, ref=c.ref, from_region=frm,
                                         amount_fen=ev.amount_fen, bank_ref=ev.bank_ref,
                                         kept_fen=ev.kept_fen)]
        if isinstance(ev, LateFundsReturned):  # money that reached an ended or reversed case
            if not _returnable(s, "remitting", "transferred_out", "reinstated"):
                raise IllegalCommand(f"money returned while {s.phase}",
                                     code="unexpected_return")
            _judge_kept(s, ev.kept_fen, late=True)
            return [LateFundsReturnReceived(at=now, actor=inbox, ref=c.ref, from_region=frm,
                                            amount_fen=ev.amount_fen, bank_ref=ev.bank_ref,
                                            kept_fen=ev.kept_fen)]
        if isinstance(ev, TransferConcluded):
            return self._concluded(s, c, ev, now)
        raise IllegalCommand(f"{ev.TYPE} is not expected by a transfer's origin",
                             code="unexpected_event")

    @staticmethod
    def _concluded(s: OriginState, c: Receive, ev: TransferConcluded,
                   now: dt.datetime) -> list[Event]:
        """The destination's last word. Completed without this side's last correction (it
        applied fewer than were sent: one crossed the money or the conclusion): the side does
        not end as if it had been applied — `CorrectionNotApplied`, a person decides."""
        fits = CONCLUSION_FITS.get(ev.outcome, frozenset())
        if s.concluded or s.phase not in fits:
            raise IllegalCommand(f"the destination concluded {ev.outcome!r} but this side is "
                                 f"{s.phase}", code="conclusion_inconsistent")
        applied = ev.corrections
        if applied is not None and applied > s.corrections:
            raise IllegalCommand(f"the destination says it applied {applied} corrected sheets, "
                                 f"this side sent {s.corrections}",
                                 code="conclusion_inconsistent")
        inbox = Actor.system("inbox", s.region)
        events: list[Event] = [ConclusionReceived(at=now, actor=inbox, ref=c.ref,
                                                  from_region=c.from_region, outcome=ev.outcome,
                                                  corrections=ev.corrections)]
        if ev.outcome == "completed" and applied is not None and applied < s.corrections:
            assert s.sheet is not None  # corrections need a sheet
            sheet, sent = Money(s.sheet.amount_fen), Money(s.sent_fen)
            events += [CorrectionNotApplied(
                at=now, actor=inbox, corrections=s.corrections, applied=applied,
                sheet_fen=s.sheet.amount_fen, sent_fen=s.sent_fen),
                NeedsAttentionRaised(
                at=now, actor=inbox,
                reason=f"the destination completed on an earlier info sheet ({applied} of "
                       f"{s.corrections} corrections applied): the corrected sheet states "
                       f"{sheet}, {sent} was sent and is held there; a 补转 or return after "
                       f"completion is for staff to decide")]
        return events

    def _cancelled(self, s: OriginState, c: Receive, ev: TransferCancelled,
                   now: dt.datetime) -> list[Event]:
        """Released if the sheet is not out yet; too late (`already_transferred`) once it is."""
        if s.cancel_received:
            raise IllegalCommand("the case was already cancelled", code="duplicate_cancellation")
        actor = Actor.system("inbox", s.region)
        events: list[Event] = [CancellationReceived(at=now, actor=actor, ref=c.ref,
                                                    from_region=c.from_region, reason=ev.reason)]
        if s.phase in ("received", "held", "approved"):
            if s.phase != "received":
                events.append(HoldReleased(at=now, actor=actor, case_id=s.case_id,
                                           person_key=s.person_key, scheme=s.scheme))
            events.append(CancellationAnswered(at=now, actor=actor, to_region=s.destination,
                                               outcome="released"))
            events += self._clear(s, "transfer_out", now)
        elif s.phase in ("remitting", "transferred_out"):
            events.append(CancellationAnswered(at=now, actor=actor, to_region=s.destination,
                                               outcome="already_transferred"))
        elif s.phase != "refused":
            raise IllegalCommand(f"a cancellation is not expected while {s.phase}",
                                 code="unexpected_cancellation")
        return events


def _returnable(s: OriginState, *phases: str) -> bool:
    """Whether money coming back is expected: in `phases` with a sheet sent, or at a side that
    refused or was released before sending one (the destination returns a bank notice that
    was not this transfer's money; `_sent_back` books none of it)."""
    if s.sheet is None:
        return s.phase in ("refused", "released")
    return s.phase in phases


def _judge_kept(s: OriginState, kept: int | None, *, late: bool) -> None:
    """A peer's `kept_fen` against what this side knows, before it rebooks anything on the
    peer's word (the return has no bank notice here): what a destination keeps is the amount
    of a sheet this side sent (its sheet is this side's first or a correction); a late return
    at a side the conclusion named the sheet of keeps that sheet's amount; after a reversal it
    keeps nothing. Anything else cannot be true and is refused (`kept_inconsistent`: the
    kernel records `CounterpartEventRejected` and a person looks), never booked. A v1 return
    (no `kept_fen`) is judged against this side's sheet, as before."""
    if kept is None or s.sheet is None:  # sent nothing: nothing to rebook on the peer's word
        return
    if s.phase == "reinstated":
        possible = {0}
    elif late and s.concluded_sheet is not None:
        possible = {s.concluded_sheet.amount_fen}
    else:
        possible = {sheet.amount_fen for sheet in s.sheets}
    if kept not in possible:
        stated = ", ".join(str(Money(fen)) for fen in sorted(possible))
        raise IllegalCommand(f"the destination says it keeps {Money(kept)}, but it can only "
                             f"keep {stated}", code="kept_inconsistent")
