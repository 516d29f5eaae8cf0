"""Online (全程网办), proxy (异地代收代办) and joint (多地联办) life cycles of applications decided
by one region, ratings (好差评), follow-ups.

One module serves every catalogue process that is decided by a single region (`PROCESSES`);
the process name comes from the `ApplicationSubmitted` event. Five roles — the two of a joint
case (`accepting`, which decides, and its `partner`, which gives its part) are in
`application_joint`, with their state table; the other three:

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
    R submitted             VerifyAndForward(materials the guide requires are missing)
                            → SupplementRequested (all at once, 一次性告知) → supplement_requested;
                            ProvideSupplement → submitted; timer → CaseLapsed → lapsed (T)
    R (result posted to the applicant) HandlingResultSent(to_applicant) → receipt,
                            CompletionNotified →H, CaseCompleted → completed (T)
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
a poor rating (1–2) opens a follow-up at the rated region that its staff close with a note,
due after the region's follow-up limit (`domain.statutes`, "follow_up"); past it the timer records
`FollowUpOverdue` (the timer runs on an ended side only for this). Only
the applicant's side takes `Rate`, so "one per case and region" has a single writer.

Reference rules in scope: 行政许可法 art. 32 as intake.py implements it (reason mandatory,
everything missing at once, clock stopped while waiting for 补正); 收受分离 (formal review at R,
substantive decisions at H); 好差评 1–5 per case; 责任追溯 (every event names its actor).
Deemed acceptance (行政许可法 art. 32): the deciding side (single, accepting, H) has 5 working
days from receiving the materials — for H, from the posted originals' arrival when the window
posted any (`ConfirmOriginalsReceived`) — to accept, refuse or ask for the 补正; the timer then
records `AcceptanceDeemed` and accepts (H tells the window). Mode `local` (marriage, divorce)
runs as the single side: the local office decides itself.

Not yet: fees (收费标准); e-certificate trust levels of the result; per-department rating
dimensions of the national 好差评 system (`evalDetail`), and pushing ratings to it.

The code: `casework` (the bookkeeping every protocol shares: deadlines, clock stops, lapses,
duplicates, attention, ratings), `application_events` (the vocabulary), `application_states`
(sides, phases, terminal pairs, transitions, `evolve`), `application_handling` (the deciding
side's rules: single and H) and `application_receiving` (the window's: R), and this module (the
decider that dispatches between them, timers and views, options).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Literal

from domain.deadlines import DeadlineRules, FlagDeadlineMissed, next_due
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
    AcceptanceDeemed,
    ApplicationForwarded,
    Approve,
    AssistanceRequested,
    ConfirmOriginalsReceived,
    DeclineAssistance,
    DeliverResult,
    Deny,
    GiveAssistance,
    SendResult,
    VerifyAndForward,
    WithdrawalForwarded,
)
from domain.protocols.application_handling import ACCEPTANCE_STEP, DECIDING_STEPS, HandlingSide
from domain.protocols.application_joint import PHYSICAL, JointSide
from domain.protocols.application_receiving import ReceivingSide
from domain.protocols.application_states import (
    ALLOWED_TERMINAL_PAIRS,
    AWAITING_HANDLER,
    BEFORE_DECISION,
    CLOSURE_WAIT,
    HANDLING_WAIT,
    MODES,
    NOTICE_TYPES,
    PARTNER_WAIT,
    PROCESSES,
    RECEIVING_WAIT,
    TRANSITIONS,
    ApplicationSide,
    evolve,
)
from domain.protocols.casework import (
    INTAKE_STEP,
    MATERIAL_KINDS,
    SUPPLEMENT_STEP,
    RatingContext,
    annotation_options,
    checked_region,
    clear_steps,
    decide_annotation,
    decide_calendar_recheck,
    decide_deadline_timer,
    follow_up_next,
    follow_up_timers,
    is_duplicate,
    random_material,
    rearm_wait,
    receive_rating,
    start_step,
    timer_commands,
)
from domain.protocols.casework_events import RatingGiven, ResolveAttention, lapse_of
from domain.protocols.details import ApplicationDetails, JointDetails, NoDetails
from domain.protocols.intake import (
    AcceptIntake,
    ApplicationWithdrawn,
    ProvideSupplement,
    RejectIntake,
    RequestSupplement,
    Submit,
    Withdraw,
    decide_intake,
)
from domain.registers import RegisterEffect
from domain.values import CaseNumber

# =========================================================================== decide


@dataclass(frozen=True)
class ApplicationDecider(HandlingSide, ReceivingSide, JointSide):
    """The online and proxy life cycles of every process in `PROCESSES` (see module doc)."""

    def decide(self, state: ApplicationSide | None, command: Command,
               now: dt.datetime) -> list[Event]:
        if state is None:
            return self._first(command, now)
        if isinstance(command, Receive):
            if is_duplicate(state.keep, command):
                return []
            return self._receive(state, command, now)
        rechecked = decide_calendar_recheck(state.keep, command, now, self.rules,
                                            ended=state.terminal)
        if rechecked is not None:
            return rechecked
        annotation = decide_annotation(state.keep, command, now, _rating_context(state),
                                       self.rules, state.facts.process)
        if annotation is not None:
            if isinstance(command, ResolveAttention) and (step := _waiting_step(state)):
                annotation += rearm_wait(self.rules, state.facts.process, state.keep, step, now,
                                         command.actor)
            return annotation
        if isinstance(command, FlagDeadlineMissed) and command.step == ACCEPTANCE_STEP:
            return self._deem_accepted(state, command, now)
        timer = decide_deadline_timer(state.keep, command, now,
                                      (RECEIVING_WAIT, HANDLING_WAIT, PARTNER_WAIT, CLOSURE_WAIT),
                                      rules=self.rules)
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
        if state.role == "partner":
            return self._partner(state, command, now)
        if state.role == "accepting":
            return self._accepting(state, command, now, self._handler)
        return self._handler(state, command, now)

    def _first(self, command: Command, now: dt.datetime) -> list[Event]:
        if isinstance(command, Submit):
            _check_submission(command)
            events = decide_intake(None, command, now)
            if command.mode != "proxy":  # the deciding side received the materials now
                events += start_step(self.rules, command.process, INTAKE_STEP, now, command.actor)
                events += start_step(self.rules, command.process, ACCEPTANCE_STEP, now,
                                     command.actor)
            return events
        if isinstance(command, Receive) and isinstance(command.event, (ApplicationForwarded,
                                                                       WithdrawalForwarded)):
            return self._handling_first(command, now)
        if isinstance(command, Receive) and isinstance(command.event, AssistanceRequested):
            return self._partner_first(command, now)
        raise IllegalCommand(f"{type(command).__name__} needs an application first",
                             code="not_submitted")

    def _deem_accepted(self, side: ApplicationSide, command: FlagDeadlineMissed,
                       now: dt.datetime) -> list[Event]:
        """Five working days without 受理, 不予受理 or a 补正 notice: deemed accepted (art. 32)."""
        w = side.keep.book.get(ACCEPTANCE_STEP)
        if (w is None or now < w.due_at or side.terminal or side.phase != "submitted"
                or side.role in ("receiving", "partner") or side.originals_pending):
            return []  # a stale timer command
        accept = AcceptIntake(actor=command.actor)
        deemed = AcceptanceDeemed(at=now, actor=command.actor, due_at=w.due_at)
        if side.role == "accepting":
            return [deemed, *self._accepting(side, accept, now, self._handler)]
        return [deemed, *self._handler(side, accept, now)]

    def _withdraw(self, side: ApplicationSide, command: Withdraw, now: dt.datetime) -> list[Event]:
        actor = command.actor
        if side.role in ("handling", "partner"):
            raise IllegalCommand("the applicant withdraws where they applied",
                                 code="handled_elsewhere")
        if side.phase == "withdrawing":
            raise IllegalCommand("the withdrawal is already on its way", code="already_withdrawing")
        if side.role == "receiving":
            if side.phase in ("submitted", "supplement_requested") and not side.forwarded:
                return [*clear_steps(side.keep.clocked, [SUPPLEMENT_STEP], now, actor),
                        ApplicationWithdrawn(at=now, actor=actor, reason=command.reason)]
            if side.phase in ("forwarded", "supplement_requested", "under_review"):
                return [ApplicationWithdrawn(at=now, actor=actor, reason=command.reason),
                        WithdrawalForwarded(at=now, actor=actor, to_region=side.peer,
                                            facts=side.facts, reason=command.reason),
                        self._wait_for_handler(side, now, actor)]
        elif side.phase in BEFORE_DECISION or side.phase == "awaiting_records":
            return [*clear_steps(side.keep.clocked, DECIDING_STEPS, now, actor),
                    *self._closure(side, "withdrawn", now, command),
                    ApplicationWithdrawn(at=now, actor=actor, reason=command.reason)]
        raise IllegalCommand(f"an application can be withdrawn only before its decision "
                             f"(status {side.phase})", code="already_decided")

    def _receive(self, side: ApplicationSide, command: Receive, now: dt.datetime) -> list[Event]:
        event = command.event
        if command.from_region != side.peer:
            raise InvalidValue(f"{event.TYPE} from region {command.from_region}, "
                               f"not from this case's counterpart {side.peer or '(none)'}",
                               code="wrong_region")
        if isinstance(event, RatingGiven):
            return receive_rating(side.keep, command, side.region, now, self.rules,
                                  side.facts.process)
        if side.role == "handling":
            return self._handling_receives(side, command, now)
        if side.role == "accepting":
            return self._accepting_receives(side, command, now)
        if side.role == "partner":
            return self._partner_receives(side, command, now)
        if side.role == "receiving" and isinstance(event, NOTICE_TYPES):
            return self._receiving_receives(side, command, now)
        raise IllegalCommand(f"{event.TYPE} is not expected by the {side.role} side",
                             code="unexpected_event")

    # ---------------------------------------------------------------- policy, timers, views

    def policy(self, state: ApplicationSide, now: dt.datetime) -> list[Command]:
        return []

    def timers(self, state: ApplicationSide, now: dt.datetime) -> list[Command]:
        if state.terminal:
            return follow_up_timers(state.keep, now, state.region)
        return timer_commands(state.keep, now, state.region)

    def next_timer(self, state: ApplicationSide) -> dt.datetime | None:
        return follow_up_next(state.keep) if state.terminal else next_due(state.keep.book)

    def summary(self, state: ApplicationSide) -> SideSummary:
        role: SideRole = state.role
        return SideSummary(
            case_id=state.facts.case_id, process=state.facts.process, role=role,
            region=state.region, status=self.status(state), terminal=state.terminal,
            needs_attention=bool(state.keep.attention), person_key=state.facts.person_key,
            peer_regions=(state.peer,) if state.peer else ())

    def evolve(self, state: ApplicationSide | None, event: Event) -> ApplicationSide:
        return evolve(state, event)


def _waiting_step(side: ApplicationSide) -> str:
    """The counterpart wait running in this phase ("" when the side waits for nobody)."""
    if side.role == "receiving" and side.phase in AWAITING_HANDLER | {"awaiting_result"}:
        return RECEIVING_WAIT
    if side.role == "handling" and side.phase == "result_sent":
        return HANDLING_WAIT
    if side.role == "accepting" and side.phase == "awaiting_records":
        return PARTNER_WAIT
    if side.role == "partner" and side.phase in ("assisted", "declined"):
        return CLOSURE_WAIT
    return ""


def _rating_context(side: ApplicationSide) -> RatingContext | None:
    """Only regions that took part are rated: the handling region once the case reached it."""
    if side.role in ("handling", "partner"):
        return None
    rateable = (side.peer, side.region) if side.forwarded else (side.region,)
    return RatingContext(own_region=side.region, default_region=side.handling_region,
                         rateable=rateable, finished=side.terminal)


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
        if not isinstance(command.details, ApplicationDetails):
            raise InvalidValue("in proxy mode the application names the deciding region "
                               "(details.handling_region)", code="invalid_details",
                               field="details.handling_region")
        handling = checked_region(command.details.handling_region, "details.handling_region")
        if handling == accepting:
            raise InvalidValue("in proxy mode the handling region differs from the receiving one",
                               code="same_region", field="details.handling_region")
    elif command.mode == "joint":
        if not isinstance(command.details, JointDetails):
            raise InvalidValue("in joint mode the application names the partner region "
                               "(details.partner_region)", code="invalid_details",
                               field="details.partner_region")
        partner = checked_region(command.details.partner_region, "details.partner_region")
        if partner == accepting:
            raise InvalidValue("in joint mode the partner region differs from this one",
                               code="same_region", field="details.partner_region")
    elif not isinstance(command.details, NoDetails):
        raise InvalidValue("an application handled online takes no details",
                           code="invalid_details", field="details")


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
    if role == "partner":
        if phase == "requested":
            physical = state.facts.process in PHYSICAL or rng.random() < 0.3
            out.append(GiveAssistance(
                actor=staff, materials=(random_material(rng, "协办材料"),),
                tracking_no=f"JY{rng.randint(10**8, 10**9)}" if physical else ""))
            out.append(DeclineAssistance(actor=staff, reason=rng.choice(
                ["档案不全", "查无缴存记录", "参保状态异常"])))
        return out
    if role != "handling" and phase != "withdrawing" and (
            phase in BEFORE_DECISION or phase in ("forwarded", "awaiting_records")):
        out.append(Withdraw(actor=applicant, reason=rng.choice(["", "不再需要", "改为线下办理"])))
    if role == "receiving":
        if phase == "submitted":
            mailed = f"EMS{rng.randint(10**8, 10**9)}" if rng.random() < 0.3 else ""
            out.append(VerifyAndForward(actor=staff, identity_verified=rng.random() < 0.9,
                                        originals_tracking_no=mailed))
        elif (phase == "supplement_requested" and not state.forwarded) or phase == "supplement_requested":
            out.append(_supplement(state, applicant, rng))
        elif phase == "result_received":
            out.append(DeliverResult(actor=staff, channel=rng.choice(["window", "online", "post"]),
                                     tracking_no=f"EMS{rng.randint(10**8, 10**9)}"))
        return out
    if phase == "submitted" and state.originals_pending:
        out.append(ConfirmOriginalsReceived(actor=staff, tracking_no=state.originals_pending))
    elif phase == "submitted":
        out.append(AcceptIntake(actor=staff))
        out.append(RejectIntake(actor=staff,
                                reason=rng.choice(["不属于受理范围", "申请人不符合条件"])))
        if not state.intake.supplement_asked:
            kinds = tuple(rng.sample(MATERIAL_KINDS, rng.randint(1, 3)))
            out.append(RequestSupplement(actor=staff, missing_kinds=kinds))
    elif phase == "supplement_requested" and role in ("single", "accepting"):
        out.append(_supplement(state, applicant, rng))
    elif phase == "under_review":
        if not state.declined:
            out.append(Approve(actor=staff, result=(random_material(rng, "电子证照"),)))
        out.append(Deny(actor=staff, reason=rng.choice(["不符合法定条件", "材料内容不实"])))
    elif phase == "approved" and role in ("single", "accepting"):
        out.append(DeliverResult(actor=staff, channel=rng.choice(["online", "post"]),
                                 tracking_no=f"EMS{rng.randint(10**8, 10**9)}"))
    elif phase == "approved":
        channel: Literal["online", "post"] = rng.choice(["online", "post"])
        out.append(SendResult(actor=staff, channel=channel,
                              tracking_no=f"EMS{rng.randint(10**8, 10**9)}",
                              to_applicant=channel == "post" and rng.random() < 0.5))
    return out


def _supplement(state: ApplicationSide, applicant: Actor, rng: random.Random) -> Command:
    kinds = state.missing_kinds or state.intake.missing_kinds
    return ProvideSupplement(actor=applicant,
                             materials=tuple(random_material(rng, kind) for kind in kinds))


__all__ = [
    "ALLOWED_TERMINAL_PAIRS",
    "MODES",
    "PROCESSES",
    "TRANSITIONS",
    "ApplicationDecider",
    "decider",
    "evolve",
    "options",
    "register_effects",
]
