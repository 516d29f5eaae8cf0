"""The destination's (转入地) rules of the transfer protocol: intake, letters, the two phases,
take-over, completion, withdrawal and closing; its money (bank notices, reconciliation,
returns) in `transfer_money`. State table: docs/transfer.md."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from domain.fold import replace
from domain.kernel import (
    Actor,
    Command,
    DomainError,
    Event,
    IllegalCommand,
    InvalidValue,
    Receive,
)
from domain.protocols.casework import pause_step, resume_step
from domain.protocols.casework_events import EscalateAttention, ResolveAttention
from domain.protocols.intake import (
    AcceptIntake,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CaseLapsed,
    IntakeAccepted,
    IntakeRejected,
    ProvideSupplement,
    RejectIntake,
    RequestSupplement,
    Submit,
    SupplementProvided,
    SupplementRequested,
    Withdraw,
    decide_intake,
    evolve_intake,
)
from domain.protocols.pension_payer import route_at_retirement
from domain.protocols.pension_temporary import OpenTemporaryAccount, open_temporary_account
from domain.protocols.transfer_application import (
    check_counterpart,
    check_direction,
    origins_of,
)
from domain.protocols.transfer_commands import (
    CloseCase,
    CloseTransfer,
    CompleteTransfer,
    InstructProceed,
    Reconcile,
    RecordFundsReceived,
    ReturnExcess,
    ReturnFunds,
    ReverseTransfer,
    SendContactLetters,
    StartBenefit,
    TakeOverRelationship,
)
from domain.protocols.transfer_events import (
    BenefitStarted,
    CancellationAnswered,
    ContactLetterConfirmed,
    ContactLetterIssued,
    ExcessReturned,
    FundsReceived,
    InfoSheetCorrected,
    InfoSheetIssued,
    LateFundsReturned,
    ProceedInstructed,
    Reconciled,
    RelationshipTakenOver,
    TransferCancelled,
    TransferCaseClosed,
    TransferCloseOrdered,
    TransferCompleted,
    TransferConcluded,
    TransferOutHeld,
    TransferOutRefused,
    TransferReversalOrdered,
    TransferReversed,
)
from domain.protocols.transfer_money import DestinationMoney
from domain.protocols.transfer_receipts import (
    CancellationAnswerReceived,
    InfoSheetCorrectionReceived,
    InfoSheetReceived,
    LateCorrectionReceived,
    OriginRefusalReceived,
    TransferMessageReceived,
)
from domain.protocols.transfer_sheets import MAX_CORRECTIONS
from domain.protocols.transfer_states import (
    DestinationState,
    OriginTrack,
    SideState,
    close_reason,
    deadline_clock,
    escalate_attention,
    resolve_attention,
    stated,
)
from domain.values import CaseNumber

#: The destination's review clock: from the submission to the 联系函 or a written refusal.
REVIEW_STEP = "contact_letter"


class DestinationSide(DestinationMoney):
    """Decisions and state changes of the side that accepted the application."""

    def policy(self, state: SideState, now: dt.datetime) -> list[Command]:
        if not isinstance(state, DestinationState) or self.is_terminal(state):
            return []
        actor = Actor.system("transfer_policy", state.region)
        s, out = state, list[Command]()
        if s.phase == "accepted" and not s.letters_sent:
            out.append(SendContactLetters(actor=actor))
        if (s.phase == "awaiting_holds" and not s.proceed_sent
                and all(t.vote == "held" for t in s.tracks.values())):
            out.append(InstructProceed(actor=actor))
        if s.phase == "awaiting_transfer":
            for o in s.origins:
                if self._reconcile_due(s.tracks[o]):
                    out.append(Reconcile(actor=actor, from_region=o))
            if self._takeover_due(s):
                out.append(TakeOverRelationship(actor=actor))
            if self._completion_due(s):
                out.append(CompleteTransfer(actor=actor))
        if s.phase == "withdrawing":
            out.extend(ReturnFunds(actor=actor, to_region=o) for o in s.origins
                       if self._return_due(s, s.tracks[o]))
            out.extend(Reconcile(actor=actor, from_region=o) for o in s.origins
                       if self._overtaken(s, s.tracks[o]) and self._reconcile_due(s.tracks[o]))
        if s.phase in ("withdrawing", "refusing") and self._closable(s):
            out.append(CloseCase(actor=actor))
        return out

    def _destination(self, s: DestinationState | None, c: Command, now: dt.datetime) -> list[Event]:
        if isinstance(c, Submit):
            if s is not None:
                raise IllegalCommand("the application was already submitted",
                                     code="already_submitted")
            return self._submit(c, now)
        if s is None:
            raise IllegalCommand("no application has been submitted", code="not_submitted")
        if isinstance(c, RecordFundsReceived) and self._money_back(s, c.from_region):
            return self._late_funds(s, c, now)  # never refused, even after the end
        common = self._common(s, c, now)
        if common is not None:
            return common
        if isinstance(c, Receive):
            return self._destination_receive(s, c, now)
        if isinstance(c, (AcceptIntake, RejectIntake)):
            return decide_intake(s.intake, c, now)  # a refusal ends the case: its clocks clear
        if isinstance(c, OpenTemporaryAccount):  # 临时缴费账户: the written refusal and the account
            return open_temporary_account(self.spec.temporary_accounts, s.phase, s.region, c, now)
        if isinstance(c, RequestSupplement):  # 补正: the applicant's time is not the office's
            return decide_intake(s.intake, c, now) + pause_step(
                self.rules, self.process, s.book, REVIEW_STEP, now, deadline_clock(s.region))
        if isinstance(c, ProvideSupplement):
            return decide_intake(s.intake, c, now) + resume_step(
                self.rules, self.process, s.paused, REVIEW_STEP, now, deadline_clock(s.region))
        if isinstance(c, Withdraw):
            return self._withdraw(s, c, now)
        if isinstance(c, ReverseTransfer):
            return self._reverse(s, c, now)
        if isinstance(c, RecordFundsReceived):
            return self._funds(s, c, now)
        if isinstance(c, StartBenefit):
            return self._benefit(s, c, now)
        if isinstance(c, ReturnExcess):
            return self._return_excess(s, c, now)
        if isinstance(c, ResolveAttention):
            return self._resolve(s, c, now)
        if isinstance(c, EscalateAttention):
            return escalate_attention(s, c, now)
        if isinstance(c, CloseTransfer):
            return self._close(s, c, now)
        policy = self._policy_command(s, c, now)
        if policy is not None:
            return policy
        raise IllegalCommand(f"{type(c).__name__} is not a command of a transfer's destination",
                             code="unknown_command")

    def _policy_command(self, s: DestinationState, c: Command,
                        now: dt.datetime) -> list[Event] | None:
        """The destination's own next steps (`policy` issues them); [] when no longer due."""
        if isinstance(c, SendContactLetters):
            if s.phase in ("submitted", "supplement_requested"):
                # too early is a wrong state (refused); already sent is a policy retry ([])
                raise IllegalCommand(f"no contact letters before the intake is accepted "
                                     f"({s.phase})", code="not_accepted")
            if s.phase != "accepted" or s.letters_sent:
                return []
            letters: list[Event] = [ContactLetterIssued(
                at=now, actor=c.actor, to_region=o, case_id=s.case_id, case_number=s.case_number,
                process=s.process, person_key=s.person_key, applicant_masked=s.applicant_masked,
                destination_region=s.region, origins=s.origins, two_phase=s.two_phase,
                letter_no=f"{s.case_number}/{o}", agency=s.agency, direction=s.direction)
                for o in s.origins]
            return letters + self._clear(s, REVIEW_STEP, now)
        if isinstance(c, InstructProceed):
            if (s.phase != "awaiting_holds" or s.proceed_sent
                    or not all(t.vote == "held" for t in s.tracks.values())):
                return []
            return [ProceedInstructed(at=now, actor=c.actor, to_region=o) for o in s.origins]
        if isinstance(c, Reconcile):
            return self._reconcile(s, c, now)
        if isinstance(c, (TakeOverRelationship, CompleteTransfer)):
            return self._take_over_or_complete(s, c, now)
        if isinstance(c, (ReturnFunds, CloseCase)):
            return self._return_or_close(s, c, now)
        return None

    def _take_over_or_complete(self, s: DestinationState,
                               c: TakeOverRelationship | CompleteTransfer,
                               now: dt.datetime) -> list[Event]:
        """接续 before the money (some schemes), then 办结 once sheets and funds match."""
        if isinstance(c, TakeOverRelationship):
            if s.phase != "awaiting_transfer" or not self._takeover_due(s):
                return []
            months = sum(t.sheet.months for t in s.tracks.values() if t.sheet is not None)
            return [RelationshipTakenOver(at=now, actor=c.actor, case_id=s.case_id,
                                          person_key=s.person_key, scheme=s.scheme, months=months),
                    *self._clear(s, "transfer_in", now)]
        if isinstance(c, CompleteTransfer):
            if s.phase != "awaiting_transfer" or not self._completion_due(s):
                return []
            tracks = s.tracks.values()
            return [
                *(TransferConcluded(at=now, actor=c.actor, to_region=o, outcome="completed",
                                    corrections=s.tracks[o].corrections) for o in s.origins),
                TransferCompleted(
                    at=now, actor=c.actor, case_id=s.case_id, person_key=s.person_key,
                    scheme=s.scheme, credited_fen=sum(t.received_fen for t in tracks),
                    credited_months=sum(t.sheet.months for t in tracks if t.sheet is not None),
                    opens_relationship=not s.taken_over),
            ]
        return []

    def _return_or_close(self, s: DestinationState, c: ReturnFunds | CloseCase,
                         now: dt.datetime) -> list[Event]:
        """Withdrawn or refused: send back what came, then conclude with every origin."""
        if isinstance(c, ReturnFunds):
            t = s.tracks.get(c.to_region)
            if s.phase != "withdrawing" or t is None or not self._return_due(s, t):
                return []
            refs = "+".join(ref for ref, _ in t.funds) or "none"
            return [TransferReversed(at=now, actor=c.actor, to_region=c.to_region,
                                     case_id=s.case_id, person_key=s.person_key, scheme=s.scheme,
                                     amount_fen=t.received_fen, bank_ref=f"RETURN:{refs}")]
        if isinstance(c, CloseCase):
            if s.phase not in ("withdrawing", "refusing") or not self._closable(s):
                return []
            if s.phase == "withdrawing" and any(self._overtaken(s, t) for t in s.tracks.values()):
                return self._complete_overtaken(s, c, now)
            outcome: Literal["withdrawn", "refused_by_origin", "closed"] = (
                "refused_by_origin" if s.phase == "refusing" else
                "closed" if s.closing else "withdrawn")
            reasons = "; ".join(f"{o}: {t.refusal}" for o, t in s.tracks.items() if t.refusal)
            if s.closing:
                reasons = "; ".join(r for r in (s.closing, reasons) if r)
            return [*(TransferConcluded(at=now, actor=c.actor, to_region=o, outcome=outcome,
                                        corrections=s.tracks[o].corrections) for o in s.origins),
                    TransferCaseClosed(at=now, actor=c.actor, outcome=outcome, reason=reasons)]
        return []

    def _submit(self, c: Submit, now: dt.datetime) -> list[Event]:
        if c.process != self.process:
            raise InvalidValue(f"this is the {self.process} protocol, not {c.process}",
                               code="wrong_process")
        number = CaseNumber.parse(c.case_number)
        events = decide_intake(None, c, now)
        submitted = events[0]
        assert isinstance(submitted, ApplicationSubmitted)
        origins = origins_of(submitted)
        check_counterpart(self.spec, submitted)
        check_direction(self.spec, submitted)
        if len(set(origins)) != len(origins):
            raise InvalidValue(f"an origin is named twice: {list(origins)}", code="invalid_origins")
        if str(number.region) in origins:
            raise InvalidValue("the destination cannot be its own origin", code="invalid_origins")
        if len(origins) > 1 and not self.spec.multi_origin:
            raise InvalidValue(f"{self.process} transfers have exactly one origin",
                               code="single_origin_only")
        routed = route_at_retirement(self.spec.scheme, submitted, str(number.region))
        return events + routed + self._deadline(REVIEW_STEP, now, str(number.region))

    def _complete_overtaken(self, s: DestinationState, c: CloseCase,
                            now: dt.datetime) -> list[Event]:
        """A withdrawal overtaken by a transfer-out: what was sent completes, the rest ends."""
        done = [t for t in s.tracks.values() if self._overtaken(s, t)]
        return [
            *(TransferConcluded(at=now, actor=c.actor, to_region=o,
                                outcome="completed" if self._overtaken(s, t) else "withdrawn",
                                corrections=t.corrections) for o, t in s.tracks.items()),
            TransferCompleted(
                at=now, actor=c.actor, case_id=s.case_id, person_key=s.person_key,
                scheme=s.scheme, credited_fen=sum(t.received_fen for t in done),
                credited_months=sum(t.sheet.months for t in done if t.sheet is not None),
                opens_relationship=not s.taken_over),
        ]

    def _withdraw(self, s: DestinationState, c: Withdraw, now: dt.datetime) -> list[Event]:
        """撤回: before any origin has sent its sheet or money (已上传的结果信息不允许撤销).

        After that the transfer completes and a move back is a new case; an operator alone may
        reverse it (`ReverseTransfer`). A withdrawal the destination accepted before a sheet it
        did not know of arrived is overtaken: that origin's transfer completes (`_overtaken`).
        """
        withdrawn = ApplicationWithdrawn(at=now, actor=c.actor, reason=c.reason)
        if s.phase in ("submitted", "supplement_requested", "accepted") and not s.letters_sent:
            return [withdrawn]
        if s.phase not in ("awaiting_holds", "awaiting_transfer"):
            raise IllegalCommand(f"a {s.phase} case cannot be withdrawn", code="cannot_withdraw")
        if s.taken_over:
            raise IllegalCommand("the relationship was already taken over here; apply to transfer "
                                 "it back instead", code="relationship_taken_over")
        sent = sorted(o for o, t in s.tracks.items() if t.sheet is not None or t.funds)
        if sent:
            raise IllegalCommand(f"{', '.join(sent)} already transferred out (sheet or money "
                                 f"sent); the transfer completes and a move back is a new "
                                 f"application", code="already_transferred")
        return [withdrawn, *self._cancel_all(s, c.actor, now)]

    def _cancel_all(self, s: DestinationState, actor: Actor, now: dt.datetime) -> list[Event]:
        cancels: list[Event] = [TransferCancelled(at=now, actor=actor, to_region=o,
                                                  reason="withdrawn")
                                for o, t in s.tracks.items() if not t.settled and not t.cancel_sent]
        return [*cancels, *self._clear(s, "completion", now), *self._clear(s, "transfer_in", now)]

    def _close(self, s: DestinationState, c: CloseTransfer, now: dt.datetime) -> list[Event]:
        """Staff end a transfer that needs attention, with the reason; never over money or a
        sheet that came (the transfer completes, or an operator reverses it). After the letters
        the origins are asked to cancel and the case ends when each answered (`CloseCase`)."""
        reason = close_reason(s, c)
        if s.phase in ("withdrawing", "refusing"):
            raise IllegalCommand(f"the case is already ending ({self.status(s)}); escalate it "
                                 f"if an origin does not answer", code="already_ending")
        if s.taken_over:
            raise IllegalCommand("the relationship was already taken over here",
                                 code="relationship_taken_over")
        sent = sorted(o for o, t in s.tracks.items() if t.sheet is not None or t.funds)
        if sent:
            raise IllegalCommand(f"{', '.join(sent)} already transferred out (sheet or money "
                                 f"in): correct it, pay or return the difference, or have an "
                                 f"operator reverse it", code="already_transferred")
        if not s.letters_sent:
            return [TransferCaseClosed(at=now, actor=c.actor, outcome="closed", reason=reason)]
        return [TransferCloseOrdered(at=now, actor=c.actor, reason=reason),
                *self._cancel_all(s, c.actor, now)]

    def _reverse(self, s: DestinationState, c: ReverseTransfer, now: dt.datetime) -> list[Event]:
        """An operator's exceptional reversal of a transfer already made, with a reason: the
        destination returns what arrived and the origins reinstate the relationship."""
        if c.actor.kind != "staff" or c.actor.role != "operator":
            raise IllegalCommand("only an operator may reverse a transfer",
                                 code="operator_only")
        reason = stated(c.reason, "a reversal states its reason", field="reason",
                        code="reason_required")
        if s.reversal:
            raise IllegalCommand("the transfer is already being reversed",
                                 code="already_reversing")
        if s.phase not in ("awaiting_transfer", "withdrawing") or s.taken_over:
            raise IllegalCommand(f"a {s.phase} transfer cannot be reversed here",
                                 code="cannot_reverse")
        if s.phase == "awaiting_transfer" and not any(
                t.sheet is not None or t.funds for t in s.tracks.values()):
            raise IllegalCommand("nothing was transferred yet: the applicant may withdraw",
                                 code="nothing_to_reverse")
        ordered = TransferReversalOrdered(at=now, actor=c.actor, reason=reason)
        if s.phase == "withdrawing":
            return [ordered]
        return [ordered, *self._cancel_all(s, c.actor, now)]

    @staticmethod
    def _resolve(s: DestinationState, c: ResolveAttention, now: dt.datetime) -> list[Event]:
        """Staff resume a case that needs a person (retry: its waiting timer starts again); a
        money mismatch is not resolved by a note but by a correction (`ReturnExcess`, the
        origin's `CorrectInfoSheet`, or the missing funds)."""
        if s.mismatched:
            raise IllegalCommand("sheet and funds disagree: return the excess, or have the origin "
                                 "correct its sheet or pay the rest", code="correction_needed")
        return resolve_attention(s, c, now)

    def _benefit(self, s: DestinationState, c: StartBenefit, now: dt.datetime) -> list[Event]:
        if not self.spec.has_benefit:
            raise IllegalCommand(f"{self.process} has no benefit to start", code="no_benefit")
        if not s.taken_over:
            raise IllegalCommand("the relationship has not been taken over yet",
                                 code="relationship_not_taken_over")
        if s.benefit is not None:
            raise IllegalCommand("the benefit has already started", code="benefit_already_started")
        monthly = c.monthly_fen
        if isinstance(monthly, bool) or not isinstance(monthly, int) or monthly <= 0:
            raise InvalidValue("the monthly benefit is a positive number of fen",
                               code="invalid_amount", field="monthly_fen")
        if (isinstance(c.period_months, bool) or not isinstance(c.period_months, int)
                or not 1 <= c.period_months <= 24):
            raise InvalidValue("the benefit period is 1 to 24 months (失业保险条例 第十七条)",
                               code="invalid_period")
        return [BenefitStarted(at=now, actor=c.actor, monthly_fen=c.monthly_fen,
                               period_months=c.period_months)]

    def _takeover_due(self, s: DestinationState) -> bool:
        return (self.spec.relationship_on_sheet and not s.taken_over
                and all(t.sheet is not None for t in s.tracks.values()))

    def _completion_due(self, s: DestinationState) -> bool:
        return (all(t.matched for t in s.tracks.values())
                and (s.taken_over or not self.spec.relationship_on_sheet))

    def _closable(self, s: DestinationState) -> bool:
        """Nothing more will happen with any origin: settled, or (overtaken) sheet and funds
        matched."""
        return all(t.settled or (self._overtaken(s, t) and t.matched)
                   for t in s.tracks.values())

    def _destination_receive(self, s: DestinationState, c: Receive, now: dt.datetime,
                             ) -> list[Event]:
        if c.ref in s.seen:
            return []
        ev, frm = c.event, c.from_region
        t = s.tracks.get(frm)
        if t is None:
            raise DomainError(f"{frm} is not an origin of this case", code="unknown_counterpart")
        inbox = Actor.system("inbox", s.region)
        if isinstance(ev, TransferOutHeld):
            if t.vote is not None:
                raise IllegalCommand(f"{frm} already answered ({t.vote})", code="duplicate_vote")
            return [TransferMessageReceived(at=now, actor=inbox, ref=c.ref, from_region=frm,
                                            event_type=ev.TYPE)]
        if isinstance(ev, ContactLetterConfirmed):
            if t.confirmed:
                raise IllegalCommand(f"{frm} already confirmed the letter",
                                     code="duplicate_confirmation")
            return [TransferMessageReceived(at=now, actor=inbox, ref=c.ref, from_region=frm,
                                            event_type=ev.TYPE)]
        if isinstance(ev, TransferOutRefused):
            return self._refusal_received(s, t, c, ev, now)
        if isinstance(ev, InfoSheetIssued):
            return self._sheet_received(s, t, c, ev, now)
        if isinstance(ev, InfoSheetCorrected):
            return self._correction_received(s, t, c, ev, now)
        if isinstance(ev, CancellationAnswered):
            if not t.cancel_sent or t.answer is not None:
                raise IllegalCommand(f"no cancellation answer is expected from {frm}",
                                     code="unexpected_answer")
            if ev.outcome == "already_transferred" and t.sheet is None:
                raise IllegalCommand(f"{frm} says it transferred out, but no sheet arrived",
                                     code="answer_before_sheet")
            answered: list[Event] = [CancellationAnswerReceived(
                at=now, actor=inbox, ref=c.ref, from_region=frm, outcome=ev.outcome)]
            if ev.outcome == "released":
                answered += self._unclaimed(s, frm, t, now)
            return answered
        raise IllegalCommand(f"{ev.TYPE} is not expected by a transfer's destination",
                             code="unexpected_event")

    def _refusal_received(self, s: DestinationState, t: OriginTrack, c: Receive,
                          ev: TransferOutRefused, now: dt.datetime) -> list[Event]:
        """One origin refused: the others, unless settled, are asked to cancel (invariant 4)."""
        frm = c.from_region
        if t.vote is not None:
            raise IllegalCommand(f"{frm} refused after answering {t.vote}",
                                 code="refusal_after_hold")
        events: list[Event] = [OriginRefusalReceived(
            at=now, actor=Actor.system("inbox", s.region), ref=c.ref, from_region=frm,
            reason=ev.reason), *self._unclaimed(s, frm, t, now)]
        if s.phase in ("awaiting_holds", "awaiting_transfer"):
            policy = Actor.system("transfer_policy", s.region)
            events += [TransferCancelled(at=now, actor=policy, to_region=o,
                                         reason="refused_by_other_origin")
                       for o, other in s.tracks.items() if o != frm and not other.settled]
        elif s.phase not in ("withdrawing", "refusing"):
            raise IllegalCommand(f"a refusal is not expected while {s.phase}",
                                 code="unexpected_refusal")
        return events

    def _sheet_received(self, s: DestinationState, t: OriginTrack, c: Receive,
                        ev: InfoSheetIssued, now: dt.datetime) -> list[Event]:
        """An origin's 信息表, only after its hold (and, with several origins, the instruction)."""
        frm = c.from_region
        if t.sheet is not None:
            raise IllegalCommand(f"{frm} already sent its info sheet",
                                 code="duplicate_info_sheet")
        if t.vote != "held":
            raise IllegalCommand(f"{frm} sent an info sheet without holding first",
                                 code="sheet_before_hold")
        if s.two_phase and not s.proceed_sent:
            raise IllegalCommand(f"{frm} transferred out without the all-hold instruction",
                                 code="sheet_before_proceed")
        if s.phase not in ("awaiting_transfer", "withdrawing"):
            raise IllegalCommand(f"an info sheet is not expected while {s.phase}",
                                 code="unexpected_info_sheet")
        self.spec.sheet_rule(s.direction)(ev.sheet)
        events: list[Event] = [InfoSheetReceived(
            at=now, actor=Actor.system("inbox", s.region), ref=c.ref, from_region=frm,
            sheet=ev.sheet)]
        if s.phase == "awaiting_transfer" and "transfer_in" not in s.book:
            events += self._deadline("transfer_in", now, s.region)
        return events

    def _correction_received(self, s: DestinationState, t: OriginTrack, c: Receive,
                             ev: InfoSheetCorrected, now: dt.datetime) -> list[Event]:
        """A corrected 信息表 replaces the origin's sheet; sheet and funds are reconciled again.
        After the conclusion it is only recorded (`LateCorrectionReceived`): the origin's
        conclusion tells it the correction was not applied."""
        if t.sheet is None:
            raise IllegalCommand(f"{c.from_region} corrected a sheet that never arrived",
                                 code="correction_before_sheet")
        inbox = Actor.system("inbox", s.region)
        if self.is_terminal(s):  # it crossed the conclusion: on record, not applied
            return [LateCorrectionReceived(at=now, actor=inbox, ref=c.ref,
                                           from_region=c.from_region, sheet=ev.sheet,
                                           reason=ev.reason)]
        if s.phase not in ("awaiting_transfer", "withdrawing"):
            raise IllegalCommand(f"a corrected info sheet is not expected while {s.phase}",
                                 code="unexpected_correction")
        if t.corrections >= MAX_CORRECTIONS:  # the count goes on the wire, bounded there
            raise IllegalCommand(f"{c.from_region} corrected its sheet {t.corrections} times "
                                 f"already: a person decides the rest",
                                 code="too_many_corrections")
        self.spec.sheet_rule(s.direction)(ev.sheet)
        return [InfoSheetCorrectionReceived(at=now, actor=inbox, ref=c.ref,
                                            from_region=c.from_region, sheet=ev.sheet,
                                            reason=ev.reason)]

    @staticmethod
    def _evolve_destination(s: DestinationState, e: Event) -> DestinationState:
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
            return replace(s, phase="completed", credited_fen=e.credited_fen,
                           credited_months=e.credited_months)
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
