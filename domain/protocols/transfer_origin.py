"""The origin's (转出地) rules of the transfer protocol: eligibility and hold, info sheet,
correction, remittance, refusal, and the fold of its events. What it does with the
destination's messages (the letter, the instruction, a cancellation, a reversal, returned
money, the conclusion) is in `transfer_origin_inbox`. State table: docs/transfer.md."""

from __future__ import annotations

import datetime as dt

from domain.fold import replace
from domain.kernel import (
    Actor,
    Command,
    Event,
    IllegalCommand,
    InvalidValue,
    Receive,
)
from domain.protocols.casework import pause_step
from domain.protocols.casework_events import (
    AttentionResolved,
    EscalateAttention,
    ResolveAttention,
)
from domain.protocols.transfer_commands import (
    ApproveTransferOut,
    CloseTransfer,
    CorrectInfoSheet,
    IssueInfoSheet,
    RefuseTransferOut,
    RemitFunds,
)
from domain.protocols.transfer_events import (
    CancellationAnswered,
    CorrectionForNewCase,
    CorrectionNotApplied,
    FundsRemitted,
    InfoSheetCorrected,
    InfoSheetIssued,
    ProceedInstructed,
    TransferOutHeld,
    TransferOutRefused,
    TransferOutReversed,
)
from domain.protocols.transfer_origin_inbox import OriginInbox
from domain.protocols.transfer_receipts import (
    CancellationReceived,
    ConclusionReceived,
    ExcessReturnReceived,
    LateFundsReturnReceived,
    TransferMessageReceived,
)
from domain.protocols.transfer_sheets import MAX_CORRECTIONS
from domain.protocols.transfer_states import (
    OriginState,
    close_reason,
    deadline_clock,
    escalate_attention,
    resolve_attention,
    stated,
)
from domain.values import Money


class OriginSide(OriginInbox):
    """Decisions and state changes of a region asked to transfer a relationship out."""

    def _origin(self, s: OriginState, c: Command, now: dt.datetime) -> list[Event]:
        common = self._common(s, c, now)
        if common is not None:
            return common
        if isinstance(c, Receive):
            return self._origin_receive(s, c, now)
        if isinstance(c, ApproveTransferOut):
            return self._approve_out(s, c, now)
        if isinstance(c, RefuseTransferOut):
            if s.phase != "received":
                raise IllegalCommand(f"the transfer out was already decided ({s.phase})",
                                     code="already_decided")
            reason = stated(c.reason, "a refusal states its reason (不符合转出条件…)",
                            field="reason", code="reason_required")
            return self._refuse(s, c.actor, reason, now)
        if isinstance(c, CloseTransfer):  # the destination owns the case (transfer.py)
            reason = close_reason(s, c)
            if s.phase != "received":
                raise IllegalCommand(f"the transfer out was decided ({s.phase}): the destination "
                                     f"closes the case; escalate it if it does not",
                                     code="destination_owns_case")
            return self._refuse(s, c.actor, reason, now)
        if isinstance(c, EscalateAttention):
            return escalate_attention(s, c, now)
        if isinstance(c, IssueInfoSheet):
            return self._issue_sheet(s, c, now)
        if isinstance(c, RemitFunds):
            return self._remit(s, c, now)
        if isinstance(c, CorrectInfoSheet):
            return self._correct_sheet(s, c, now)
        if isinstance(c, ResolveAttention):
            resolved = resolve_attention(s, c, now)
            return [*self._for_new_case(s, c, now), *resolved]
        raise IllegalCommand(f"{type(c).__name__} is not a command of a transfer's origin",
                             code="unknown_command")

    def _refuse(self, s: OriginState, actor: Actor, reason: str,
                now: dt.datetime) -> list[Event]:
        """不予转出 with the written reason: the origin's one way to end its side."""
        return [TransferOutRefused(at=now, actor=actor, to_region=s.destination, reason=reason),
                *self._clear(s, "transfer_out", now)]

    def _approve_out(self, s: OriginState, c: ApproveTransferOut,
                     now: dt.datetime) -> list[Event]:
        """Eligible: hold the relationship (with several origins, until the instruction)."""
        if s.phase != "received":
            raise IllegalCommand(f"the transfer out was already decided ({s.phase})",
                                 code="already_decided")
        if self.spec.requires_suspension and c.suspended_on is None:
            raise InvalidValue("the insurance here must be stopped (中止参保) before the "
                               "transfer out; give the date", code="insurance_not_suspended")
        held: list[Event] = [TransferOutHeld(
            at=now, actor=c.actor, to_region=s.destination, case_id=s.case_id,
            person_key=s.person_key, scheme=s.scheme, suspended_on=c.suspended_on)]
        if s.two_phase:  # the wait for the instruction is not this region's own time
            held += pause_step(self.rules, self.process, s.book, "transfer_out", now,
                               deadline_clock(s.region))
        return held

    def _issue_sheet(self, s: OriginState, c: IssueInfoSheet, now: dt.datetime) -> list[Event]:
        """信息表: the transfer out is done (the relationship ends here); the money may follow."""
        if s.phase != "approved":
            code = "awaiting_instruction" if s.phase == "held" else "not_approved"
            raise IllegalCommand(f"no info sheet can be issued while {s.phase}", code=code)
        self.spec.sheet_rule(s.direction)(c.sheet)
        events: list[Event] = [InfoSheetIssued(
            at=now, actor=c.actor, to_region=s.destination, case_id=s.case_id,
            person_key=s.person_key, scheme=s.scheme, sheet=c.sheet)]
        if c.sheet.amount_fen == 0 or self.spec.separate_remittance:
            events += self._clear(s, "transfer_out", now)
        if c.sheet.amount_fen > 0 and self.spec.separate_remittance:
            events += self._deadline("funds_remittance", now, s.region)
        return events

    def _correct_sheet(self, s: OriginState, c: CorrectInfoSheet,
                       now: dt.datetime) -> list[Event]:
        """更正信息表: a compensating sheet while the destination has not concluded the case.
        More money than was sent: the rest is remitted (back to `remitting`); less: the
        destination returns the excess (`ExcessReturned`)."""
        if s.phase not in ("remitting", "transferred_out") or s.sheet is None or s.concluded:
            raise IllegalCommand(f"no sheet to correct while {s.phase}",
                                 code="nothing_to_correct")
        reason = stated(c.reason, "a correction states its reason", field="reason",
                        code="reason_required")
        self.spec.sheet_rule(s.direction)(c.sheet)
        if c.sheet == s.sheet:
            raise InvalidValue("the corrected sheet is the sheet already sent",
                               code="sheet_unchanged", field="sheet")
        if s.corrections >= MAX_CORRECTIONS:
            raise IllegalCommand(f"the sheet was corrected {s.corrections} times already: a "
                                 f"person decides the rest", code="too_many_corrections")
        return [InfoSheetCorrected(at=now, actor=c.actor, to_region=s.destination,
                                   sheet=c.sheet, reason=reason)]

    def _remit(self, s: OriginState, c: RemitFunds, now: dt.datetime) -> list[Event]:
        """基金划转 of exactly what the sheet states beyond what was already sent."""
        if s.phase != "remitting" or s.sheet is None:
            raise IllegalCommand(f"nothing to remit while {s.phase}", code="nothing_to_remit")
        owed = s.sheet.amount_fen - s.sent_fen
        if c.amount_fen != owed:
            raise InvalidValue(f"the remittance must equal what the info sheet states beyond "
                               f"what was sent ({Money(owed)}), got {c.amount_fen!r} fen",
                               code="amount_mismatch")
        ref = stated(c.bank_ref, "a remittance needs its bank reference", field="bank_ref",
                     code="bank_ref_required")
        step = "funds_remittance" if self.spec.separate_remittance else "transfer_out"
        return [FundsRemitted(at=now, actor=c.actor, amount_fen=c.amount_fen, bank_ref=ref),
                *self._clear(s, step, now)]

    @staticmethod
    def _for_new_case(s: OriginState, c: ResolveAttention, now: dt.datetime) -> list[Event]:
        """Resolving a side the destination completed without its last correction: the
        transfer ends on the sheet the destination concluded on, the corrected sheet's
        difference is left to a new case (a 补转, or a return after completion) — recorded
        before the resolution, which ends the side."""
        done, latest = s.concluded_sheet, s.sheet
        if not s.correction_unapplied or done is None or latest is None:
            return []
        return [CorrectionForNewCase(at=now, actor=c.actor, concluded=done, latest=latest,
                                     difference_fen=latest.amount_fen - done.amount_fen,
                                     difference_months=latest.months - done.months)]

    @staticmethod
    def _evolve_origin(s: OriginState, e: Event) -> OriginState:
        if isinstance(e, TransferOutHeld):
            return replace(s, phase="held" if s.two_phase else "approved")
        if isinstance(e, TransferMessageReceived) and e.event_type == ProceedInstructed.TYPE:
            return replace(s, phase="approved")
        if isinstance(e, TransferOutRefused):
            return replace(s, phase="refused")
        if isinstance(e, InfoSheetIssued):
            return replace(s, sheet=e.sheet, sheets=(e.sheet,),
                           phase="transferred_out" if e.sheet.amount_fen == 0 else "remitting")
        if isinstance(e, FundsRemitted):
            return _owing(replace(s, remitted_fen=s.remitted_fen + e.amount_fen))
        if isinstance(e, InfoSheetCorrected):
            return _owing(replace(s, sheet=e.sheet, sheets=(*s.sheets, e.sheet),
                                  corrections=s.corrections + 1))
        if isinstance(e, ExcessReturnReceived):
            returned = replace(s, returned_fen=s.returned_fen + _sent_back(s, e))
            if s.concluded or s.sheet is None:  # nothing owed into an end, nor without a sheet
                return returned
            return _owing(returned)
        if isinstance(e, LateFundsReturnReceived):
            return replace(s, returned_fen=s.returned_fen + _sent_back(s, e))
        if isinstance(e, CancellationReceived):
            return replace(s, cancel_received=True)
        if isinstance(e, CancellationAnswered) and e.outcome == "released":
            return replace(s, phase="released")
        if isinstance(e, TransferOutReversed):
            return replace(s, returned_fen=s.returned_fen + e.amount_fen, phase="reinstated")
        if isinstance(e, ConclusionReceived):  # completed without the last correction: not an
            #                                        end, even before `CorrectionNotApplied`
            count = e.corrections if e.outcome == "completed" else None
            unapplied = count is not None and count < s.corrections
            done = s.sheets[count] if count is not None and count < len(s.sheets) \
                else s.concluded_sheet
            return replace(s, concluded=e.outcome, concluded_sheet=done,
                           correction_unapplied=s.correction_unapplied or unapplied)
        if isinstance(e, CorrectionNotApplied):  # over: what is still owed is for a 补转
            done = s.sheets[e.applied] if e.applied < len(s.sheets) else None
            return replace(s, correction_unapplied=True, phase="transferred_out", waiting=None,
                           concluded_sheet=done)
        if isinstance(e, CorrectionForNewCase):  # this transfer ends on the destination's sheet
            return replace(s, sheet=e.concluded, new_case=e.latest)
        if isinstance(e, AttentionResolved):
            return replace(s, correction_unapplied=False)
        return s


def _owing(s: OriginState) -> OriginState:
    """After the sheet or the remittance changed: still remitting while the sheet states more than
    was sent, transferred out otherwise."""
    assert s.sheet is not None
    return replace(s, phase="remitting" if s.sheet.amount_fen > s.sent_fen else "transferred_out")


def _sent_back(s: OriginState, e: ExcessReturnReceived | LateFundsReturnReceived) -> int:
    """The part of a returned excess that is money this side sent: what it had sent beyond what
    the destination keeps (`kept_fen`: the destination's sheet, whatever this side's own says —
    a correction may still be in flight). The rest is the bank's error (a notice for more than
    was remitted) coming back, money this side never recorded sending. A v1 return (no
    `kept_fen`) is judged against this side's sheet, as before; a side that sent no sheet
    sent nothing, and books none of it."""
    if s.sheet is None:
        return 0
    kept = s.sheet.amount_fen if e.kept_fen is None else e.kept_fen
    return min(e.amount_fen, max(0, s.sent_fen - kept))
