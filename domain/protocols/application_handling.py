"""The deciding region's rules: the online side (single) and the handling side of a proxy
application (H, 办理地) — intake (受理, 补正, 不予受理), the decision, the result, the lapse of an
unanswered 补正, and what H does with the window's messages. State table:
`domain.protocols.application`."""

from __future__ import annotations

import datetime as dt

from domain.deadlines import DeadlineSet
from domain.kernel import Command, Event, IllegalCommand, InvalidValue, Receive
from domain.protocols.application_events import (
    ApplicationApproved,
    ApplicationDenied,
    ApplicationForwarded,
    Approve,
    CaseCompleted,
    CompletionNoticeReceived,
    CompletionNotified,
    ConfirmOriginalsReceived,
    DeliverResult,
    Deny,
    ForwardedApplicationReceived,
    ForwardedSupplementReceived,
    HandlingAccepted,
    HandlingApproved,
    HandlingDenied,
    HandlingLapsed,
    HandlingRejected,
    HandlingResultSent,
    HandlingSupplementRequested,
    HandlingWithdrawalConfirmed,
    OriginalsReceived,
    SendResult,
    SupplementForwarded,
    WithdrawalForwarded,
    WithdrawalRequestReceived,
    result_delivered,
)
from domain.protocols.application_states import (
    BEFORE_DECISION,
    HANDLING_WAIT,
    PROCESSES,
    ApplicationBase,
    ApplicationSide,
)
from domain.protocols.casework import (
    COUNTERPART_WAIT,
    INTAKE_STEP,
    SUPPLEMENT_STEP,
    clear_steps,
    denial_reason,
    lapse_due,
    pause_for_supplement,
    resume_after_supplement,
    start_step,
    start_wait,
    supplement_lapsed,
)
from domain.protocols.casework_events import CaseFacts, Lapse
from domain.protocols.intake import (
    AcceptIntake,
    ApplicationWithdrawn,
    IntakeRejected,
    ProvideSupplement,
    RejectIntake,
    RequestSupplement,
    SupplementRequested,
    decide_intake,
)
from domain.values import CaseNumber

DECISION_STEP = "decision"
#: 行政许可法 art. 32: 5 working days from the materials' receipt to tell what to supplement,
#: else the application is deemed accepted (`domain.statutes`, a statute for every process).
ACCEPTANCE_STEP = "acceptance_notice"
#: The steps whose clocks run while the deciding side has not decided.
DECIDING_STEPS = (INTAKE_STEP, ACCEPTANCE_STEP, DECISION_STEP, SUPPLEMENT_STEP)
#: The handling side's phases once it decided: a withdrawal that crossed the decision loses.
DECIDED = frozenset({"approved", "result_sent", "completed", "rejected", "denied", "lapsed"})


class HandlingSide(ApplicationBase):
    """Decisions of the region that decides: online (alone) or for a receiving window."""

    def _handling_first(self, command: Receive, now: dt.datetime) -> list[Event]:
        """H's side opens on the forwarded application, or on a withdrawal that overtook it
        on a reordered link (then it starts withdrawn, a tombstone for the late application)."""
        event, actor, src = command.event, command.actor, command.from_region
        if isinstance(event, ApplicationForwarded):
            check_facts(event.facts)
            process = event.facts.process
            # The 5-day clock runs from the materials' receipt: the posted originals', if any.
            notice = [] if event.originals_tracking_no else start_step(
                self.rules, process, ACCEPTANCE_STEP, now, actor)
            return [ForwardedApplicationReceived(
                at=now, actor=actor, ref=command.ref, from_region=src, region=event.to_region,
                facts=event.facts, materials=event.materials, details=event.details,
                originals_tracking_no=event.originals_tracking_no),
                *start_step(self.rules, process, INTAKE_STEP, now, actor), *notice]
        assert isinstance(event, WithdrawalForwarded)
        check_facts(event.facts)
        return [WithdrawalRequestReceived(at=now, actor=actor, ref=command.ref, from_region=src,
                                          region=event.to_region, facts=event.facts,
                                          reason=event.reason),
                HandlingWithdrawalConfirmed(at=now, actor=actor, to_region=src),
                ApplicationWithdrawn(at=now, actor=actor, reason=event.reason)]

    def _handler(self, side: ApplicationSide, command: Command, now: dt.datetime) -> list[Event]:
        """Intake and decision, shared by the online side and the handling side."""
        actor, process = command.actor, side.facts.process
        if isinstance(command, ConfirmOriginalsReceived) and side.role == "handling":
            return self._originals(side, command, now)
        if isinstance(command, AcceptIntake) and side.originals_pending:
            raise IllegalCommand(f"the originals posted as {side.originals_pending} have not "
                                 "arrived: accept once they have (ConfirmOriginalsReceived)",
                                 code="originals_not_received")
        if isinstance(command, (AcceptIntake, RejectIntake, RequestSupplement)):
            return self._intake(side, command, now)
        if isinstance(command, ProvideSupplement):
            if side.role == "handling":
                raise IllegalCommand("the applicant supplies materials at the receiving window",
                                     code="handled_elsewhere")
            events = decide_intake(side.intake, command, now)
            return events + resume_after_supplement(self.rules, process, side.keep, now, actor)
        if isinstance(command, (Approve, Deny)):
            return self._decision(side, command, now)
        if isinstance(command, DeliverResult) and side.role in ("single", "accepting"):
            if side.phase != "approved":
                raise IllegalCommand(f"no result to deliver in status {side.phase}",
                                     code="nothing_to_deliver")
            channels = ("online", "post", "window") if side.role == "accepting" else (
                "online", "post")
            delivered = result_delivered(command, channels, now)
            return [delivered, CaseCompleted(at=now, actor=actor)]
        if isinstance(command, SendResult) and side.role == "handling":
            return self._send_result(side, command, now)
        raise IllegalCommand(f"{type(command).__name__} is not a command of the {side.role} side",
                             code="not_applicable")

    def _originals(self, side: ApplicationSide, command: ConfirmOriginalsReceived,
                   now: dt.datetime) -> list[Event]:
        """The posted originals arrived: the materials are received, the 5-day clock starts."""
        if not side.originals_pending:
            raise IllegalCommand("no originals are on their way", code="no_originals_pending")
        if command.tracking_no.strip() != side.originals_pending:
            raise InvalidValue(f"the originals were posted as {side.originals_pending}, not "
                               f"{command.tracking_no.strip()!r}", code="tracking_no_mismatch",
                               field="tracking_no")
        return [OriginalsReceived(at=now, actor=command.actor, tracking_no=side.originals_pending),
                *start_step(self.rules, side.facts.process, ACCEPTANCE_STEP, now,
                            command.actor)]

    def _intake(self, side: ApplicationSide, command: AcceptIntake | RejectIntake |
                RequestSupplement, now: dt.datetime) -> list[Event]:
        """受理 / 不予受理 / 补正; the handling side tells the window each outcome."""
        actor, process = command.actor, side.facts.process
        notify, to = side.role == "handling", side.peer
        events = decide_intake(side.intake, command, now)
        told = clear_steps(side.keep.clocked, [ACCEPTANCE_STEP], now, actor)  # the applicant
        if isinstance(command, AcceptIntake):                                  # was answered
            events += told
            events += clear_steps(side.keep.clocked, [INTAKE_STEP], now, actor)
            events += start_step(self.rules, process, DECISION_STEP, now, actor)
            if notify:
                events.append(HandlingAccepted(at=now, actor=actor, to_region=to))
        elif isinstance(command, RejectIntake):
            rejected = events[0]
            assert isinstance(rejected, IntakeRejected)
            events = told + clear_steps(side.keep.clocked, [INTAKE_STEP], now, actor)
            if notify:
                events.append(HandlingRejected(at=now, actor=actor, to_region=to,
                                               reason=rejected.reason))
            events.append(rejected)
        else:
            wait = pause_for_supplement(self.rules, process, side.keep, now, actor)
            events += told + wait
            if notify:
                requested = events[0]
                assert isinstance(requested, SupplementRequested)
                due = next(e.due_at for e in wait if isinstance(e, DeadlineSet))
                events.append(HandlingSupplementRequested(
                    at=now, actor=actor, to_region=to, missing_kinds=requested.missing_kinds,
                    due_at=due, note=requested.note))
        return events

    def _decision(self, side: ApplicationSide, command: Approve | Deny,
                  now: dt.datetime) -> list[Event]:
        """准予 / 不予批准 after acceptance; the handling side tells the window."""
        actor, notify, to = command.actor, side.role == "handling", side.peer
        if side.phase != "under_review":
            raise IllegalCommand(f"nothing to decide in status {side.phase}",
                                 code="not_under_review")
        done = clear_steps(side.keep.clocked, [DECISION_STEP], now, actor)
        if isinstance(command, Deny):
            reason = denial_reason(command.reason)
            events = list(done)
            if notify:
                events.append(HandlingDenied(at=now, actor=actor, to_region=to, reason=reason))
            return [*events, ApplicationDenied(at=now, actor=actor, reason=reason)]
        events = [ApplicationApproved(at=now, actor=actor, result=command.result), *done]
        if notify:
            events.append(HandlingApproved(at=now, actor=actor, to_region=to))
        return events

    def _send_result(self, side: ApplicationSide, command: SendResult,
                     now: dt.datetime) -> list[Event]:
        """H sends the result to the window (online refs, or by post) and waits for 办结."""
        if side.phase != "approved":
            raise IllegalCommand(f"no result to send in status {side.phase}",
                                 code="nothing_to_deliver")
        if command.channel == "post" and not command.tracking_no.strip():
            raise InvalidValue("a result sent by post needs its tracking number",
                               code="tracking_no_required")
        if command.to_applicant and command.channel != "post":
            raise InvalidValue("a result for the applicant directly goes by post",
                               code="invalid_channel", field="channel")
        return [HandlingResultSent(at=now, actor=command.actor, to_region=side.peer,
                                   channel=command.channel,
                                   tracking_no=command.tracking_no.strip(), result=side.result,
                                   to_applicant=command.to_applicant),
                start_wait(self.rules, side.facts.process, HANDLING_WAIT, COUNTERPART_WAIT, now,
                           command.actor)]

    def _lapse(self, side: ApplicationSide, command: Lapse, now: dt.datetime) -> list[Event]:
        """逾期未补正: the deciding side alone lapses the case (H tells the window)."""
        if (command.step != SUPPLEMENT_STEP or side.phase != "supplement_requested"
                or (side.role == "receiving" and side.forwarded)
                or not lapse_due(side.keep, command.step, now)):
            return []  # a stale timer command
        due = side.keep.book[SUPPLEMENT_STEP].due_at
        lapsed = supplement_lapsed(command.actor, now, "the missing materials were not supplied "
                                                       f"by {due.isoformat()}")
        if side.role == "handling":
            return [HandlingLapsed(at=now, actor=command.actor, to_region=side.peer,
                                   reason=lapsed.reason), lapsed]
        return [lapsed]

    def _handling_receives(self, side: ApplicationSide, command: Receive,
                           now: dt.datetime) -> list[Event]:
        event, actor, process = command.event, command.actor, side.facts.process
        ref, src = command.ref, command.from_region
        if isinstance(event, ApplicationForwarded):
            if side.phase == "withdrawn":
                return []  # the withdrawal overtook the application: nothing to decide
            raise IllegalCommand("the application was already forwarded", code="already_received")
        if isinstance(event, WithdrawalForwarded):
            return _withdrawal_reaches_handler(side, command, event, now)
        if isinstance(event, SupplementForwarded):
            if side.phase in ("lapsed", "withdrawn"):
                return []  # crossed the lapse notice / the withdrawal
            if side.phase != "supplement_requested":
                raise IllegalCommand(f"no supplement was requested (status {side.phase})",
                                     code="unexpected_event")
            provided = decide_intake(side.intake, ProvideSupplement(
                actor=actor, materials=event.materials), now)
            return [ForwardedSupplementReceived(at=now, actor=actor, ref=ref, from_region=src,
                                                materials=event.materials),
                    *provided, *resume_after_supplement(self.rules, process, side.keep, now, actor)]
        if isinstance(event, CompletionNotified):
            if side.phase != "result_sent":
                raise IllegalCommand(f"completion notice in status {side.phase}",
                                     code="unexpected_event")
            return [*clear_steps(side.keep.clocked, [HANDLING_WAIT], now, actor),
                    CompletionNoticeReceived(at=now, actor=actor, ref=ref, from_region=src,
                                             channel=event.channel)]
        raise IllegalCommand(f"{event.TYPE} is not expected by the handling side",
                             code="unexpected_event")


def _withdrawal_reaches_handler(side: ApplicationSide, command: Receive,
                                event: WithdrawalForwarded, now: dt.datetime) -> list[Event]:
    """Before H's decision both sides end withdrawn; after it the withdrawal loses."""
    actor, src = command.actor, command.from_region
    if side.phase in BEFORE_DECISION:
        return [WithdrawalRequestReceived(at=now, actor=actor, ref=command.ref, from_region=src,
                                          region=side.region, facts=side.facts,
                                          reason=event.reason),
                *clear_steps(side.keep.clocked, DECIDING_STEPS, now, actor),
                HandlingWithdrawalConfirmed(at=now, actor=actor, to_region=src),
                ApplicationWithdrawn(at=now, actor=actor, reason=event.reason)]
    if side.phase in DECIDED:
        # Crossed our decision, which the receiving side follows; nothing is recorded,
        # so it must stay ignored in every later phase (a re-delivery included).
        return []
    raise IllegalCommand(f"a withdrawal in status {side.phase}", code="unexpected_event")


def check_facts(facts: CaseFacts) -> None:
    CaseNumber.parse(facts.case_number)
    if facts.process not in PROCESSES:
        raise InvalidValue(f"process {facts.process!r} is not an online/proxy process",
                           code="unknown_process")
    if not facts.person_key:
        raise InvalidValue("an application needs the applicant's person key")
