"""The receiving window's (R, 收件地) rules of a proxy application: formal review and identity
check, forwarding, relaying the handler's 补正, following the handler's notices, delivering the
result (收受分离: intake and decision belong to the handling region). State table:
`domain.protocols.application`."""

from __future__ import annotations

import datetime as dt

from domain.kernel import Actor, Command, Event, IllegalCommand, InvalidValue, Receive
from domain.protocols.application_events import (
    ApplicationForwarded,
    Approve,
    CaseCompleted,
    CompletionNotified,
    DeliverResult,
    Deny,
    FormalReviewPassed,
    HandlingNoticeReceived,
    SupplementForwarded,
    VerifyAndForward,
    result_delivered,
)
from domain.protocols.application_states import (
    AWAITING_HANDLER,
    NOTICE_PHASE,
    RECEIVING_WAIT,
    TERMINAL,
    ApplicationBase,
    ApplicationSide,
)
from domain.protocols.casework import (
    COUNTERPART_WAIT,
    clear_steps,
    pause_for_supplement,
    resume_after_supplement,
    start_wait,
)
from domain.protocols.intake import (
    AcceptIntake,
    IntakeRejected,
    ProvideSupplement,
    RejectIntake,
    RequestSupplement,
    SupplementProvided,
    decide_intake,
)

#: The phases in which R takes each of H's notices.
RECEIVING_ACCEPTS: dict[str, frozenset[str]] = {
    "HandlingAccepted": AWAITING_HANDLER,
    "HandlingSupplementRequested": AWAITING_HANDLER,
    "HandlingRejected": AWAITING_HANDLER,
    "HandlingApproved": AWAITING_HANDLER,
    "HandlingDenied": AWAITING_HANDLER,
    "HandlingLapsed": AWAITING_HANDLER,
    "HandlingWithdrawalConfirmed": frozenset({"withdrawing"}),
    "HandlingResultSent": frozenset({"awaiting_result", "withdrawing", "under_review"}),
}


class ReceivingSide(ApplicationBase):
    """Decisions of the window that took a proxy application for another region."""

    def _receiving(self, side: ApplicationSide, command: Command, now: dt.datetime) -> list[Event]:
        actor = command.actor
        if isinstance(command, VerifyAndForward):
            return self._verify_and_forward(side, command, now)
        if isinstance(command, ProvideSupplement) and not side.forwarded:
            # The window's own 补正 (形式审查): back to the window, then forwarded.
            return [*decide_intake(side.intake, command, now),
                    *resume_after_supplement(self.rules, side.facts.process, side.keep, now,
                                             actor)]
        if isinstance(command, ProvideSupplement):
            if side.phase != "supplement_requested":
                raise IllegalCommand(f"no supplement was requested (status {side.phase})")
            still = sorted(set(side.missing_kinds) - {m.kind for m in command.materials})
            if still:
                raise InvalidValue(f"the supplement lacks: {', '.join(still)}",
                                   code="supplement_incomplete")
            return [SupplementProvided(at=now, actor=actor, materials=command.materials),
                    SupplementForwarded(at=now, actor=actor, to_region=side.peer,
                                        materials=command.materials),
                    self._wait_for_handler(side, now, actor)]
        if isinstance(command, DeliverResult):
            if side.phase != "result_received":
                raise IllegalCommand(f"no result to deliver in status {side.phase}",
                                     code="nothing_to_deliver")
            delivered = result_delivered(command, ("online", "post", "window"), now)
            return [delivered, *clear_steps(side.keep.clocked, [RECEIVING_WAIT], now, actor),
                    CompletionNotified(at=now, actor=actor, to_region=side.peer,
                                       channel=command.channel),
                    CaseCompleted(at=now, actor=actor)]
        if isinstance(command, (AcceptIntake, RejectIntake, RequestSupplement, Approve, Deny)):
            raise IllegalCommand("intake and decision belong to the handling region (收受分离)",
                                 code="handled_elsewhere")
        raise IllegalCommand(f"{type(command).__name__} is not a command of the receiving side",
                             code="not_applicable")

    def _verify_and_forward(self, side: ApplicationSide, command: VerifyAndForward,
                            now: dt.datetime) -> list[Event]:
        """形式审查 and 身份核验: forwarded with its materials, or refused at the window.

        The review is of form and completeness only (收受分离): everything the deciding
        region's guide requires (`required`, from the operator's materials file) that the
        applicant did not bring is asked for at once (一次性告知, 行政许可法 art. 32), before
        anything is forwarded; the substantive 补正 is the handler's."""
        actor = command.actor
        if side.phase != "submitted":
            raise IllegalCommand(f"the application was already {side.phase}",
                                 code="already_forwarded")
        if not command.identity_verified:
            reason = "身份核验未通过 (identity check failed)"
            if command.note.strip():
                reason = f"{reason}: {command.note.strip()}"
            return [IntakeRejected(at=now, actor=actor, reason=reason)]
        have = {m.kind for m in side.intake.materials} | {m.title for m in side.intake.materials}
        missing = tuple(t for t in side.intake.submitted.required if t not in have)
        if missing:
            told = decide_intake(side.intake, RequestSupplement(
                actor=actor, missing_kinds=missing, note="形式审查: 一次性告知所缺材料"), now)
            return told + pause_for_supplement(self.rules, side.facts.process, side.keep, now,
                                               actor)
        mailed = command.originals_tracking_no.strip()
        return [FormalReviewPassed(at=now, actor=actor, identity_verified=True,
                                   originals_tracking_no=mailed),
                ApplicationForwarded(at=now, actor=actor, to_region=side.peer, facts=side.facts,
                                     materials=side.intake.materials,
                                     details=side.intake.submitted.details,
                                     originals_tracking_no=mailed),
                self._wait_for_handler(side, now, actor)]

    def _wait_for_handler(self, side: ApplicationSide, now: dt.datetime, actor: Actor) -> Event:
        """Every wait for the handler has a timer: overdue, then escalated to a person."""
        return start_wait(self.rules, side.facts.process, RECEIVING_WAIT, COUNTERPART_WAIT, now,
                          actor)

    def _receiving_receives(self, side: ApplicationSide, command: Receive,
                            now: dt.datetime) -> list[Event]:
        """R follows H's notices; an older notice than one applied is recorded, not applied."""
        event, actor = command.event, command.actor
        notice = event.TYPE
        if command.ref.version < side.notice_version:
            # Older than a notice already applied (a reordered link): it changes nothing.
            return [] if side.terminal else [HandlingNoticeReceived(
                at=now, actor=actor, ref=command.ref, from_region=command.from_region,
                notice=notice, stale=True)]
        if side.phase not in RECEIVING_ACCEPTS[notice]:
            raise IllegalCommand(f"{notice} in status {side.phase}", code="unexpected_event")
        receipt = HandlingNoticeReceived(
            at=now, actor=actor, ref=command.ref, from_region=command.from_region, notice=notice,
            reason=getattr(event, "reason", ""),
            missing_kinds=getattr(event, "missing_kinds", ()),
            due_at=getattr(event, "due_at", None), channel=getattr(event, "channel", ""),
            tracking_no=getattr(event, "tracking_no", ""), result=getattr(event, "result", ()),
            note=getattr(event, "note", ""))
        target = NOTICE_PHASE[notice]
        if getattr(event, "to_applicant", False):
            # Posted straight to the applicant: nothing left for the window to deliver.
            return [*clear_steps(side.keep.clocked, [RECEIVING_WAIT], now, actor), receipt,
                    CompletionNotified(at=now, actor=actor, to_region=side.peer, channel="post"),
                    CaseCompleted(at=now, actor=actor)]
        if target in TERMINAL or target == "result_received":
            return [*clear_steps(side.keep.clocked, [RECEIVING_WAIT], now, actor), receipt]
        return [receipt, self._wait_for_handler(side, now, actor)]
