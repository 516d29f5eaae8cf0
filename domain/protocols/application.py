"""Online (全程网办) and proxy (异地代收代办) application life cycles, ratings (好差评), follow-ups.

One module serves every catalogue process that is decided by a single region (`PROCESSES`);
the process name comes from the `ApplicationSubmitted` event. Three roles:

- `single` (mode `online`): one region takes, decides and delivers;
- `receiving` (mode `proxy`, 收件地): the window does formal review and identity check
  (形式审查, 身份核验), forwards to the handling region, relays what the handler asks for, and
  delivers the result (收受分离, reference/domain.md §0);
- `handling` (mode `proxy`, 办理地): decides intake (补正 and 不予受理 come from it: "substantive
  补正 is decided by the 办理地") and the application, and sends the result back.

State table, single side (`online`) — status: command → events → next status:

    —                     Submit → ApplicationSubmitted (+ intake deadline) → submitted
    submitted             AcceptIntake → IntakeAccepted (+ decision deadline) → under_review
    submitted             RejectIntake(reason) → IntakeRejected → rejected (T)
    submitted             RequestSupplement(all at once) → SupplementRequested, clock paused
                          → supplement_requested
    supplement_requested  ProvideSupplement → SupplementProvided, clock resumed → submitted
    supplement_requested  timer (waiting limit) → CaseLapsed → lapsed (T)
    under_review          Approve → ApplicationApproved → approved
    under_review          Deny(reason) → ApplicationDenied → denied (T)
    approved              DeliverResult(online | post) → ResultDelivered, CaseCompleted
                          → completed (T)
    before a decision     Withdraw → ApplicationWithdrawn → withdrawn (T)

Proxy, receiving side R and handling side H (`→H` / `→R`: a shared event to the other side):

    R —                     Submit(mode proxy) → ApplicationSubmitted → submitted
    R submitted             VerifyAndForward(identity ok) → FormalReviewPassed,
                            ApplicationForwarded →H → forwarded
    R submitted             VerifyAndForward(identity failed) → IntakeRejected → rejected (T)
    H —                     ApplicationForwarded → ForwardedApplicationReceived → submitted
    H submitted             AcceptIntake → IntakeAccepted, HandlingAccepted →R → under_review
    H submitted             RejectIntake(reason) → HandlingRejected →R, IntakeRejected
                            → rejected (T)
    H submitted             RequestSupplement → SupplementRequested,
                            HandlingSupplementRequested →R → supplement_requested
    R forwarded             HandlingSupplementRequested → receipt → supplement_requested
    R supplement_requested  ProvideSupplement(covers all) → SupplementProvided,
                            SupplementForwarded →H → forwarded
    H supplement_requested  SupplementForwarded → receipt, SupplementProvided → submitted
    H supplement_requested  timer (waiting limit) → HandlingLapsed →R, CaseLapsed → lapsed (T)
    H under_review          Approve → ApplicationApproved, HandlingApproved →R → approved
    H under_review          Deny(reason) → HandlingDenied →R, ApplicationDenied → denied (T)
    H approved              SendResult(online | post) → HandlingResultSent →R → result_sent
    R awaiting_result       HandlingResultSent → receipt → result_received
    R result_received       DeliverResult → ResultDelivered, CompletionNotified →H,
                            CaseCompleted → completed (T)
    H result_sent           CompletionNotified → receipt → completed (T)
    R forwarded…review      Withdraw → ApplicationWithdrawn, WithdrawalForwarded →H
                            → withdrawing
    H before a decision     WithdrawalForwarded → receipt, HandlingWithdrawalConfirmed →R,
                            ApplicationWithdrawn → withdrawn (T)
    R withdrawing           HandlingWithdrawalConfirmed → receipt → withdrawn (T)

The event that makes a side terminal is always the last of its batch, so "nothing after a
terminal state" holds event by event.

R mirrors every outcome H sends (accepted → under_review, approved → awaiting_result, rejected,
denied, lapsed). A withdrawal that crosses H's decision loses: H ignores it (its decision is
already on the way) and R, in `withdrawing`, follows the decision. A withdrawal that reaches H
before anything else (a reordered link) creates H's side directly as `withdrawn` (a tombstone),
so the late application is ignored. Every waiting state has a timer: 补正 → `lapsed` (H's waiting
limit; H alone decides the lapse), R waiting for H and H waiting for R's completion notice →
overdue, then escalation and `needs_attention`. A duplicate counterpart event (same `EventRef`)
has no effect.

Allowed terminal pairs (receiving, handling) — `ABSENT` where the other side never opened:
(completed, completed), (rejected, rejected), (denied, denied), (lapsed, lapsed),
(withdrawn, withdrawn), (rejected, absent) [identity check failed at the window],
(withdrawn, absent) [withdrawn before forwarding]; online: (status, absent) for completed,
rejected, denied, withdrawn, lapsed.

Ratings and follow-ups (好差评) are *annotations*, not transitions: they are accepted once the
side the applicant deals with (single, receiving, household destination) is terminal, never
change a status, and are the only events (with the kernel's rejection records and attention
notes, `ANNOTATIONS`) that may follow a terminal state. One rating per case and rated region
(score 1–5), and only regions that took part: by default the handling region (the one that
decided); in proxy mode, once the case was forwarded, the applicant may also rate the window.
A rating of another region is sent to it (`RatingGiven` →H), and the rated region records it;
a poor rating (1–2) opens a follow-up at the rated region that its staff close with a note. Only
the applicant's side takes `Rate`, so "one per case and region" has a single writer.

Reference rules in scope: 行政许可法 art. 32 as intake.py implements it (reason mandatory,
everything missing at once, clock stopped while waiting for 补正); 收受分离 (formal review at R,
substantive decisions at H); 好差评 1–5 per case; 责任追溯 (every event names its actor).
Not yet: the 5-day "deemed accepted" rule when the handler fails to notify (it is a deadline of
the region's configuration here, step `intake`, flagged and escalated, not an automatic
acceptance); fees (收费标准); e-certificate trust levels of the result; per-department rating
dimensions of the national 好差评 system (`evalDetail`), and pushing ratings to it.

The code: `casework` (the bookkeeping every protocol shares: deadlines, clock stops, lapses,
duplicates, attention, ratings), `application_events` (the vocabulary), `application_states`
(sides, phases, terminal pairs, transitions, `evolve`) and this module (the decider, options).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from domain.deadlines import DeadlineRules, DeadlineSet, next_due
from domain.kernel import (
    Actor,
    Command,
    Event,
    IllegalCommand,
    InvalidValue,
    Receive,
    SideRole,
    SideSummary,
)
from domain.protocols.application_events import (
    ApplicationApproved,
    ApplicationDenied,
    ApplicationForwarded,
    Approve,
    CaseCompleted,
    CompletionNoticeReceived,
    CompletionNotified,
    DeliverResult,
    Deny,
    FormalReviewPassed,
    ForwardedApplicationReceived,
    ForwardedSupplementReceived,
    HandlingAccepted,
    HandlingApproved,
    HandlingDenied,
    HandlingLapsed,
    HandlingNoticeReceived,
    HandlingRejected,
    HandlingResultSent,
    HandlingSupplementRequested,
    HandlingWithdrawalConfirmed,
    ResultDelivered,
    SendResult,
    SupplementForwarded,
    VerifyAndForward,
    WithdrawalForwarded,
    WithdrawalRequestReceived,
)
from domain.protocols.application_states import (
    ALLOWED_TERMINAL_PAIRS,
    BEFORE_DECISION,
    HANDLING_WAIT,
    NOTICE_PHASE,
    NOTICE_TYPES,
    RECEIVING_WAIT,
    TERMINAL,
    TRANSITIONS,
    ApplicationSide,
    evolve,
)
from domain.protocols.casework import (
    COUNTERPART_WAIT,
    INTAKE_STEP,
    MATERIAL_KINDS,
    SUPPLEMENT_STEP,
    CaseFacts,
    Lapse,
    RatingContext,
    RatingGiven,
    ResolveAttention,
    annotation_options,
    checked_region,
    clear_steps,
    decide_annotation,
    decide_deadline_timer,
    denial_reason,
    is_duplicate,
    lapse_due,
    lapse_of,
    pause_for_supplement,
    random_material,
    rearm_wait,
    receive_rating,
    resume_after_supplement,
    start_step,
    start_wait,
    supplement_lapsed,
    timer_commands,
)
from domain.protocols.intake import (
    AcceptIntake,
    ApplicationWithdrawn,
    IntakeRejected,
    ProvideSupplement,
    RejectIntake,
    RequestSupplement,
    Submit,
    SupplementProvided,
    SupplementRequested,
    Withdraw,
    decide_intake,
)
from domain.registers import RegisterEffect
from domain.values import CaseNumber

#: Catalogue processes decided by one region (online, or proxy with a receiving window).
PROCESSES: tuple[str, ...] = (
    "benefit_claim", "card_service", "certificate_issuance", "certification", "filing",
    "fund_withdrawal", "loan_repayment", "notarisation", "query_verify", "registration",
    "single_region_approval",
)
MODES = ("online", "proxy")
DECISION_STEP = "decision"


# =========================================================================== decide


@dataclass(frozen=True)
class ApplicationDecider:
    """The online and proxy life cycles of every process in `PROCESSES` (see module doc)."""

    rules: DeadlineRules
    process = "application"  # a class attribute, not a field: `kernel.Decider` reads it

    # ---------------------------------------------------------------- decide

    def decide(self, state: ApplicationSide | None, command: Command,
               now: dt.datetime) -> list[Event]:
        if state is None:
            return self._first(command, now)
        if isinstance(command, Receive):
            if is_duplicate(state.keep, command):
                return []
            return self._receive(state, command, now)
        annotation = decide_annotation(state.keep, command, now, _rating_context(state))
        if annotation is not None:
            if isinstance(command, ResolveAttention) and (step := _waiting_step(state)):
                annotation += rearm_wait(self.rules, state.facts.process, state.keep, step, now,
                                         command.actor)
            return annotation
        timer = decide_deadline_timer(state.keep, command, now,
                                      (RECEIVING_WAIT, HANDLING_WAIT))
        if timer is not None:
            return [] if state.terminal else timer
        if state.terminal:
            raise IllegalCommand(f"the case is already {state.phase}", code="case_closed")
        if (lapse := lapse_of(command)) is not None:
            return self._lapse(state, lapse, now)
        if isinstance(command, Withdraw):
            return self._withdraw(state, command, now)
        if state.role == "receiving":
            return self._receiving(state, command, now)
        return self._handler(state, command, now)

    def _first(self, command: Command, now: dt.datetime) -> list[Event]:
        if isinstance(command, Submit):
            _check_submission(command)
            events = decide_intake(None, command, now)
            if command.mode == "online":
                events += start_step(self.rules, command.process, INTAKE_STEP, now, command.actor)
            return events
        if isinstance(command, Receive):
            event = command.event
            if isinstance(event, ApplicationForwarded):
                _check_facts(event.facts)
                return [ForwardedApplicationReceived(
                    at=now, actor=command.actor, ref=command.ref, from_region=command.from_region,
                    region=event.to_region, facts=event.facts, materials=event.materials,
                    details=dict(event.details)),
                    *start_step(self.rules, event.facts.process, INTAKE_STEP, now, command.actor)]
            if isinstance(event, WithdrawalForwarded):
                _check_facts(event.facts)
                receipt = WithdrawalRequestReceived(
                    at=now, actor=command.actor, ref=command.ref, from_region=command.from_region,
                    region=event.to_region, facts=event.facts, reason=event.reason)
                return [receipt,
                        HandlingWithdrawalConfirmed(at=now, actor=command.actor,
                                                    to_region=command.from_region),
                        ApplicationWithdrawn(at=now, actor=command.actor, reason=event.reason)]
        raise IllegalCommand(f"{_name(command)} needs an application first", code="not_submitted")

    # ---------------------------------------------------------------- handler (single, H)

    def _handler(self, side: ApplicationSide, command: Command, now: dt.datetime) -> list[Event]:
        """Intake and decision, shared by the online side and the handling side."""
        actor, process = command.actor, side.facts.process
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
        if isinstance(command, DeliverResult) and side.role == "single":
            if side.phase != "approved":
                raise IllegalCommand(f"no result to deliver in status {side.phase}",
                                     code="nothing_to_deliver")
            delivered = _delivery(command, ("online", "post"), now)
            return [delivered, CaseCompleted(at=now, actor=actor)]
        if isinstance(command, SendResult) and side.role == "handling":
            if side.phase != "approved":
                raise IllegalCommand(f"no result to send in status {side.phase}",
                                     code="nothing_to_deliver")
            if command.channel == "post" and not command.tracking_no.strip():
                raise InvalidValue("a result sent by post needs its tracking number",
                                   code="tracking_no_required")
            return [HandlingResultSent(at=now, actor=actor, to_region=side.peer,
                                       channel=command.channel,
                                       tracking_no=command.tracking_no.strip(), result=side.result),
                    start_wait(self.rules, process, HANDLING_WAIT, COUNTERPART_WAIT, now, actor)]
        raise IllegalCommand(f"{_name(command)} is not a command of the {side.role} side",
                             code="not_applicable")

    def _intake(self, side: ApplicationSide, command: AcceptIntake | RejectIntake |
                RequestSupplement, now: dt.datetime) -> list[Event]:
        """受理 / 不予受理 / 补正; the handling side tells the window each outcome."""
        actor, process = command.actor, side.facts.process
        notify, to = side.role == "handling", side.peer
        events = decide_intake(side.intake, command, now)
        if isinstance(command, AcceptIntake):
            events += clear_steps(side.keep.clocked, [INTAKE_STEP], now, actor)
            events += start_step(self.rules, process, DECISION_STEP, now, actor)
            if notify:
                events.append(HandlingAccepted(at=now, actor=actor, to_region=to))
        elif isinstance(command, RejectIntake):
            rejected = events[0]
            assert isinstance(rejected, IntakeRejected)
            events = clear_steps(side.keep.clocked, [INTAKE_STEP], now, actor)
            if notify:
                events.append(HandlingRejected(at=now, actor=actor, to_region=to,
                                               reason=rejected.reason))
            events.append(rejected)
        else:
            wait = pause_for_supplement(self.rules, process, side.keep, now, actor)
            events += wait
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

    # ---------------------------------------------------------------- receiving (R)

    def _receiving(self, side: ApplicationSide, command: Command, now: dt.datetime) -> list[Event]:
        actor, process = command.actor, side.facts.process
        if isinstance(command, VerifyAndForward):
            if side.phase != "submitted":
                raise IllegalCommand(f"the application was already {side.phase}",
                                     code="already_forwarded")
            if not command.identity_verified:
                reason = "身份核验未通过 (identity check failed)"
                if command.note.strip():
                    reason = f"{reason}: {command.note.strip()}"
                return [IntakeRejected(at=now, actor=actor, reason=reason)]
            return [FormalReviewPassed(at=now, actor=actor, identity_verified=True),
                    ApplicationForwarded(at=now, actor=actor, to_region=side.peer, facts=side.facts,
                                         materials=side.intake.materials,
                                         details=dict(side.intake.submitted.details)),
                    start_wait(self.rules, process, RECEIVING_WAIT, COUNTERPART_WAIT, now, actor)]
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
                    start_wait(self.rules, process, RECEIVING_WAIT, COUNTERPART_WAIT, now, actor)]
        if isinstance(command, DeliverResult):
            if side.phase != "result_received":
                raise IllegalCommand(f"no result to deliver in status {side.phase}",
                                     code="nothing_to_deliver")
            delivered = _delivery(command, ("online", "post", "window"), now)
            return [delivered, *clear_steps(side.keep.clocked, [RECEIVING_WAIT], now, actor),
                    CompletionNotified(at=now, actor=actor, to_region=side.peer,
                                       channel=command.channel),
                    CaseCompleted(at=now, actor=actor)]
        if isinstance(command, (AcceptIntake, RejectIntake, RequestSupplement, Approve, Deny)):
            raise IllegalCommand("intake and decision belong to the handling region (收受分离)",
                                 code="handled_elsewhere")
        raise IllegalCommand(f"{_name(command)} is not a command of the receiving side",
                             code="not_applicable")

    # ---------------------------------------------------------------- withdrawal, lapse

    def _withdraw(self, side: ApplicationSide, command: Withdraw, now: dt.datetime) -> list[Event]:
        actor = command.actor
        if side.role == "handling":
            raise IllegalCommand("the applicant withdraws at the receiving window",
                                 code="handled_elsewhere")
        if side.phase == "withdrawing":
            raise IllegalCommand("the withdrawal is already on its way", code="already_withdrawing")
        if side.role == "receiving":
            if side.phase == "submitted":
                return [ApplicationWithdrawn(at=now, actor=actor, reason=command.reason)]
            if side.phase in ("forwarded", "supplement_requested", "under_review"):
                return [ApplicationWithdrawn(at=now, actor=actor, reason=command.reason),
                        WithdrawalForwarded(at=now, actor=actor, to_region=side.peer,
                                            facts=side.facts, reason=command.reason),
                        start_wait(self.rules, side.facts.process, RECEIVING_WAIT,
                                   COUNTERPART_WAIT, now, actor)]
        elif side.phase in BEFORE_DECISION:
            return [*clear_steps(side.keep.clocked, [INTAKE_STEP, DECISION_STEP, SUPPLEMENT_STEP],
                                 now, actor),
                    ApplicationWithdrawn(at=now, actor=actor, reason=command.reason)]
        raise IllegalCommand(f"an application can be withdrawn only before its decision "
                             f"(status {side.phase})", code="already_decided")

    def _lapse(self, side: ApplicationSide, command: Lapse, now: dt.datetime) -> list[Event]:
        if (command.step != SUPPLEMENT_STEP or side.phase != "supplement_requested"
                or side.role == "receiving" or not lapse_due(side.keep, command.step, now)):
            return []  # a stale timer command
        due = side.keep.book[SUPPLEMENT_STEP].due_at
        lapsed = supplement_lapsed(command.actor, now, "the missing materials were not supplied "
                                                       f"by {due.isoformat()}")
        if side.role == "handling":
            return [HandlingLapsed(at=now, actor=command.actor, to_region=side.peer,
                                   reason=lapsed.reason), lapsed]
        return [lapsed]

    # ---------------------------------------------------------------- counterpart events

    def _receive(self, side: ApplicationSide, command: Receive, now: dt.datetime) -> list[Event]:
        event = command.event
        if command.from_region != side.peer:
            raise InvalidValue(f"{event.TYPE} from region {command.from_region}, "
                               f"not from this case's counterpart {side.peer or '(none)'}",
                               code="wrong_region")
        if isinstance(event, RatingGiven):
            return receive_rating(side.keep, command, side.region, now)
        if side.role == "handling":
            return self._handling_receives(side, command, now)
        if side.role == "receiving" and isinstance(event, NOTICE_TYPES):
            return self._receiving_receives(side, command, now)
        raise IllegalCommand(f"{event.TYPE} is not expected by the {side.role} side",
                             code="unexpected_event")

    def _handling_receives(self, side: ApplicationSide, command: Receive,
                           now: dt.datetime) -> list[Event]:
        event, actor, process = command.event, command.actor, side.facts.process
        ref, src = command.ref, command.from_region
        if isinstance(event, ApplicationForwarded):
            if side.phase == "withdrawn":
                return []  # the withdrawal overtook the application: nothing to decide
            raise IllegalCommand("the application was already forwarded", code="already_received")
        if isinstance(event, WithdrawalForwarded):
            if side.phase in BEFORE_DECISION:
                return [WithdrawalRequestReceived(at=now, actor=actor, ref=ref, from_region=src,
                                                  region=side.region, facts=side.facts,
                                                  reason=event.reason),
                        *clear_steps(side.keep.clocked, [INTAKE_STEP, DECISION_STEP, SUPPLEMENT_STEP],
                                     now, actor),
                        HandlingWithdrawalConfirmed(at=now, actor=actor, to_region=src),
                        ApplicationWithdrawn(at=now, actor=actor, reason=event.reason)]
            if side.phase in ("approved", "result_sent", "completed", "rejected", "denied",
                              "lapsed"):
                # Crossed our decision, which the receiving side follows; nothing is recorded,
                # so it must stay ignored in every later phase (a re-delivery included).
                return []
            raise IllegalCommand(f"a withdrawal in status {side.phase}", code="unexpected_event")
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

    def _receiving_receives(self, side: ApplicationSide, command: Receive,
                            now: dt.datetime) -> list[Event]:
        event, actor = command.event, command.actor
        notice = event.TYPE
        if command.ref.version < side.notice_version:
            # Older than a notice already applied (a reordered link): it changes nothing.
            return [] if side.terminal else [HandlingNoticeReceived(
                at=now, actor=actor, ref=command.ref, from_region=command.from_region,
                notice=notice, stale=True)]
        allowed = _RECEIVING_ACCEPTS[notice]
        if side.phase not in allowed:
            raise IllegalCommand(f"{notice} in status {side.phase}", code="unexpected_event")
        receipt = HandlingNoticeReceived(
            at=now, actor=actor, ref=command.ref, from_region=command.from_region, notice=notice,
            reason=getattr(event, "reason", ""),
            missing_kinds=getattr(event, "missing_kinds", ()),
            due_at=getattr(event, "due_at", None), channel=getattr(event, "channel", ""),
            tracking_no=getattr(event, "tracking_no", ""), result=getattr(event, "result", ()))
        target = NOTICE_PHASE[notice]
        if target in TERMINAL or target == "result_received":
            return [*clear_steps(side.keep.clocked, [RECEIVING_WAIT], now, actor), receipt]
        return [receipt, start_wait(self.rules, side.facts.process, RECEIVING_WAIT,
                                    COUNTERPART_WAIT, now, actor)]

    # ---------------------------------------------------------------- policy, timers, views

    def policy(self, state: ApplicationSide, now: dt.datetime) -> list[Command]:
        return []

    def timers(self, state: ApplicationSide, now: dt.datetime) -> list[Command]:
        if state.terminal:
            return []
        return timer_commands(state.keep, now, state.region)

    def next_timer(self, state: ApplicationSide) -> dt.datetime | None:
        return None if state.terminal else next_due(state.keep.book)

    def status(self, state: ApplicationSide) -> str:
        if state.keep.attention and not state.terminal:
            return "needs_attention"
        return state.phase

    def is_terminal(self, state: ApplicationSide) -> bool:
        return state.terminal

    def summary(self, state: ApplicationSide) -> SideSummary:
        role: SideRole = state.role
        return SideSummary(
            case_id=state.facts.case_id, process=state.facts.process, role=role,
            region=state.region, status=self.status(state), terminal=state.terminal,
            needs_attention=bool(state.keep.attention), person_key=state.facts.person_key,
            peer_regions=(state.peer,) if state.peer else ())

    def evolve(self, state: ApplicationSide | None, event: Event) -> ApplicationSide:
        return evolve(state, event)


_AWAITING_H: frozenset[str] = frozenset({"forwarded", "supplement_requested", "under_review",
                                         "withdrawing"})
_RECEIVING_ACCEPTS: dict[str, frozenset[str]] = {
    "HandlingAccepted": _AWAITING_H,
    "HandlingSupplementRequested": _AWAITING_H,
    "HandlingRejected": _AWAITING_H,
    "HandlingApproved": _AWAITING_H,
    "HandlingDenied": _AWAITING_H,
    "HandlingLapsed": _AWAITING_H,
    "HandlingWithdrawalConfirmed": frozenset({"withdrawing"}),
    "HandlingResultSent": frozenset({"awaiting_result", "withdrawing", "under_review"}),
}


def _waiting_step(side: ApplicationSide) -> str:
    """The counterpart wait running in this phase ("" when the side waits for nobody)."""
    if side.role == "receiving" and side.phase in _AWAITING_H | {"awaiting_result"}:
        return RECEIVING_WAIT
    if side.role == "handling" and side.phase == "result_sent":
        return HANDLING_WAIT
    return ""


def _rating_context(side: ApplicationSide) -> RatingContext | None:
    """Only regions that took part are rated: the handling region once the case reached it."""
    if side.role == "handling":
        return None
    rateable = (side.peer, side.region) if side.forwarded else (side.region,)
    return RatingContext(own_region=side.region, default_region=side.handling_region,
                         rateable=rateable, finished=side.terminal)


def _delivery(command: DeliverResult, channels: tuple[str, ...], now: dt.datetime) -> Event:
    if command.channel not in channels:
        raise InvalidValue(
            f"a result is delivered by {', '.join(channels)}, not {command.channel!r}",
            code="invalid_channel")
    if command.channel == "post" and not command.tracking_no.strip():
        raise InvalidValue("a result sent by post needs its tracking number",
                           code="tracking_no_required")
    return ResultDelivered(at=now, actor=command.actor, channel=command.channel,
                           tracking_no=command.tracking_no.strip())


def _name(command: Command) -> str:
    return type(command).__name__


def _check_facts(facts: CaseFacts) -> None:
    CaseNumber.parse(facts.case_number)
    if facts.process not in PROCESSES:
        raise InvalidValue(f"process {facts.process!r} is not an online/proxy process",
                           code="unknown_process")
    if not facts.person_key:
        raise InvalidValue("an application needs the applicant's person key")


def _check_submission(command: Submit) -> None:
    """Refuse what this module cannot run before anything is recorded."""
    if command.process not in PROCESSES:
        raise InvalidValue(f"process {command.process!r} is not run by the application protocol",
                           code="unknown_process")
    if command.mode not in MODES:
        raise InvalidValue(f"mode must be one of {', '.join(MODES)}, got {command.mode!r}",
                           code="invalid_mode")
    accepting = str(CaseNumber.parse(command.case_number).region)
    if command.mode == "proxy":
        handling = checked_region(command.details.get("handling_region"), "details.handling_region")
        if handling == accepting:
            raise InvalidValue("in proxy mode the handling region differs from the receiving one",
                               code="same_region")


def decider(rules: DeadlineRules) -> ApplicationDecider:
    return ApplicationDecider(rules)


def register_effects(event: Event) -> list[RegisterEffect]:
    """Online and proxy applications change no per-person register."""
    return []


# =========================================================================== options


def options(state: ApplicationSide | None, now: dt.datetime, rng: random.Random) -> list[Command]:
    """Plausible human and back-end commands legal now (the simulator draws from these)."""
    if state is None:
        return []
    applicant = Actor("applicant", state.facts.person_key[:12], state.region)
    staff = Actor("staff", f"staff-{state.region}-{rng.randint(1, 9)}", state.region, "窗口",
                  f"W{rng.randint(1, 4)}")
    keep = state.keep
    out = annotation_options(keep, _rating_context(state), rng, applicant, staff)
    if state.terminal:
        return out
    phase, role = state.phase, state.role
    if role != "handling" and phase != "withdrawing" and (
            phase in BEFORE_DECISION or phase == "forwarded"):
        out.append(Withdraw(actor=applicant, reason=rng.choice(["", "不再需要", "改为线下办理"])))
    if role == "receiving":
        if phase == "submitted":
            out.append(VerifyAndForward(actor=staff, identity_verified=rng.random() < 0.9))
        elif phase == "supplement_requested":
            out.append(_supplement(state, applicant, rng))
        elif phase == "result_received":
            out.append(DeliverResult(actor=staff, channel=rng.choice(["window", "online", "post"]),
                                     tracking_no=f"EMS{rng.randint(10**8, 10**9)}"))
        return out
    if phase == "submitted":
        out.append(AcceptIntake(actor=staff))
        out.append(RejectIntake(actor=staff,
                                reason=rng.choice(["不属于受理范围", "申请人不符合条件"])))
        if not state.intake.supplement_asked:
            kinds = tuple(rng.sample(MATERIAL_KINDS, rng.randint(1, 3)))
            out.append(RequestSupplement(actor=staff, missing_kinds=kinds))
    elif phase == "supplement_requested" and role == "single":
        out.append(_supplement(state, applicant, rng))
    elif phase == "under_review":
        out.append(Approve(actor=staff, result=(random_material(rng, "电子证照"),)))
        out.append(Deny(actor=staff, reason=rng.choice(["不符合法定条件", "材料内容不实"])))
    elif phase == "approved" and role == "single":
        out.append(DeliverResult(actor=staff, channel=rng.choice(["online", "post"]),
                                 tracking_no=f"EMS{rng.randint(10**8, 10**9)}"))
    elif phase == "approved":
        out.append(SendResult(actor=staff, channel=rng.choice(["online", "post"]),
                              tracking_no=f"EMS{rng.randint(10**8, 10**9)}"))
    return out


def _supplement(state: ApplicationSide, applicant: Actor, rng: random.Random) -> Command:
    kinds = state.missing_kinds or state.intake.missing_kinds
    return ProvideSupplement(actor=applicant,
                             materials=tuple(random_material(rng, kind) for kind in kinds))


__all__ = [
    "ALLOWED_TERMINAL_PAIRS",
    "DECISION_STEP",
    "MODES",
    "PROCESSES",
    "TRANSITIONS",
    "ApplicationDecider",
    "decider",
    "evolve",
    "options",
    "register_effects",
]
