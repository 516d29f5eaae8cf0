"""The destination's (转入地) rules of the transfer protocol: intake, letters, the two phases,
take-over, completion, withdrawal and closing — its commands and its policy. What it does with
an origin's message is in `transfer_destination_inbox`, its money (bank notices,
reconciliation, returns) in `transfer_money`, how its state changes with each event in
`transfer_destination_fold`. State table: docs/transfer.md."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from domain.kernel import (
    Actor,
    Command,
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
    ProvideSupplement,
    RejectIntake,
    RequestSupplement,
    Submit,
    Withdraw,
    decide_intake,
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
from domain.protocols.transfer_destination_fold import evolve_destination
from domain.protocols.transfer_destination_inbox import DestinationInbox
from domain.protocols.transfer_events import (
    BenefitStarted,
    ContactLetterIssued,
    ProceedInstructed,
    Reconciled,
    Reconciliation,
    RelationshipTakenOver,
    TransferCancelled,
    TransferCaseClosed,
    TransferCloseOrdered,
    TransferCompleted,
    TransferConcluded,
    TransferReversalOrdered,
    TransferReversed,
)
from domain.protocols.transfer_states import (
    DestinationState,
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


class DestinationSide(DestinationInbox):
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
            return self._reconcile_or_complete(s, c, now)
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
            return self._complete(s, c.actor, now)
        return []

    def _reconcile_or_complete(self, s: DestinationState, c: Reconcile,
                               now: dt.datetime) -> list[Event]:
        """核对; and 办结 in the same decision when this match is the last the completion
        waits for (issue 17, rows): the match then rides on `TransferCompleted` (`reconciled`)
        instead of a `Reconciled` row, and the completion's deadline, which would be set and
        met in the same instant, is not recorded. Old streams, with the `Reconciled`, the
        `CompleteTransfer`'s decision and the deadline's two rows, fold to the same state."""
        events = self._reconcile(s, c, now)
        r = events[0] if events else None
        if not isinstance(r, Reconciled) or not r.matched or s.phase != "awaiting_transfer":
            return events
        after = evolve_destination(s, r)
        if not self._completion_due(after):
            return events
        return self._complete(after, c.actor, now, Reconciliation(
            r.from_region, stated_fen=r.stated_fen, received_fen=r.received_fen))

    @staticmethod
    def _complete(s: DestinationState, actor: Actor, now: dt.datetime,
                  reconciled: Reconciliation | None = None) -> list[Event]:
        """办结: the conclusion to each origin, then the completion crediting the person."""
        tracks = s.tracks.values()
        return [
            *(TransferConcluded(at=now, actor=actor, to_region=o, outcome="completed",
                                corrections=s.tracks[o].corrections) for o in s.origins),
            TransferCompleted(
                at=now, actor=actor, case_id=s.case_id, person_key=s.person_key,
                scheme=s.scheme, credited_fen=sum(t.received_fen for t in tracks),
                credited_months=sum(t.sheet.months for t in tracks if t.sheet is not None),
                opens_relationship=not s.taken_over, reconciled=reconciled),
        ]

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

    #: The fold of this side's events (`transfer_destination_fold`), where `TransferDecider`
    #: looks for it beside the origin's.
    _evolve_destination = staticmethod(evolve_destination)

