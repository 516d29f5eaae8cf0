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

The shared bookkeeping at the top (deadline book, clock stops, duplicates, attention, ratings)
is used by `domain.protocols.household` as well.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from domain.deadlines import (
    DeadlineCleared,
    DeadlineMissed,
    DeadlinePaused,
    DeadlineRules,
    DeadlineSet,
    DeadlineSpec,
    Escalate,
    Escalated,
    FlagDeadlineMissed,
    Watch,
    decide_timer,
    due_commands,
    next_due,
    watch,
)
from domain.kernel import (
    Actor,
    Command,
    CounterpartEventRejected,
    Event,
    EventRef,
    IllegalCommand,
    InvalidValue,
    NeedsAttentionRaised,
    Receive,
    SideRole,
    SideSummary,
    domain_event,
)
from domain.protocols.intake import (
    AcceptIntake,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CaseLapsed,
    Intake,
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
from domain.registers import RegisterEffect
from domain.values import CaseNumber, MaterialRef, RegionCode

#: Catalogue processes decided by one region (online, or proxy with a receiving window).
PROCESSES: tuple[str, ...] = (
    "benefit_claim", "card_service", "certificate_issuance", "certification", "filing",
    "fund_withdrawal", "loan_repayment", "notarisation", "query_verify", "registration",
    "single_region_approval",
)
MODES = ("online", "proxy")
#: The counterpart status in a terminal pair when the counterpart never opened a side.
ABSENT = "absent"

INTAKE_STEP = "intake"
DECISION_STEP = "decision"
SUPPLEMENT_STEP = "supplement"
#: Waiting-state names `domain.limits` knows defaults for.
SUPPLEMENT_WAIT = "supplement"
COUNTERPART_WAIT = "awaiting_counterpart"


# =========================================================================== shared bookkeeping
# Used by every side of this module and by household.py: deadlines and clock stops, duplicate
# counterpart events, needs_attention, ratings and follow-ups.


@dataclass(frozen=True, kw_only=True)
class Receipt(Event):
    """Base of every receipt: this side recorded a counterpart's event (origin identity `ref`)."""

    ref: EventRef
    from_region: str


@domain_event
class AttentionResolved(Event):
    """Staff looked at a `needs_attention` case and let it continue (note mandatory)."""

    note: str


@domain_event
class RatingGiven(Event):
    """The applicant's 好差评 of one region for this case; shared when that region is the peer."""

    WIRE = True
    rated_region: str
    score: int
    comment: str = ""


@domain_event
class RatingReceived(Receipt):
    """The rated region recorded the rating the applicant gave through the other side."""

    rated_region: str
    score: int
    comment: str = ""


@domain_event
class FollowUpOpened(Event):
    """A poor rating (1–2) asks the rated region's staff to follow up (差评整改)."""

    rated_region: str
    score: int


@domain_event
class FollowUpClosed(Event):
    note: str


#: Events allowed after a terminal state: they never change a side's status.
ANNOTATIONS: tuple[type[Event], ...] = (
    RatingGiven, RatingReceived, FollowUpOpened, FollowUpClosed, AttentionResolved,
    CounterpartEventRejected, NeedsAttentionRaised,
)

POOR_RATING = 2


@dataclass(frozen=True, kw_only=True)
class Rate(Command):
    """好差评: `rated_region` "" means the handling region (the one that decided)."""

    score: int
    comment: str = ""
    rated_region: str = ""


@dataclass(frozen=True, kw_only=True)
class CloseFollowUp(Command):
    note: str


@dataclass(frozen=True, kw_only=True)
class ResolveAttention(Command):
    note: str


@dataclass(frozen=True, kw_only=True)
class Lapse(Command):
    """Timer: the waiting limit of `step` has passed (逾期未补正, permit not used...)."""

    step: str


FollowUp = Literal["", "open", "closed"]


@dataclass(frozen=True)
class Bookkeeping:
    """What every side tracks besides its status.

    `book`: watched deadlines and waiting limits; `paused`: steps whose statutory clock stopped
    (remaining days); `seen`: counterpart events already recorded (a duplicate has no effect);
    `attention`: why a person is needed ("" when not); `rated`: regions rated for this case
    through or at this side; `follow_up`: the follow-up of this region's poor rating.
    """

    book: Mapping[str, Watch] = field(default_factory=dict)
    paused: Mapping[str, int] = field(default_factory=dict)
    seen: frozenset[EventRef] = frozenset()
    attention: str = ""
    rated: tuple[str, ...] = ()
    follow_up: FollowUp = ""


def evolve_bookkeeping(keep: Bookkeeping, event: Event) -> Bookkeeping:
    if isinstance(event, (DeadlineSet, DeadlineMissed, Escalated, DeadlinePaused, DeadlineCleared)):
        paused = dict(keep.paused)
        if isinstance(event, DeadlinePaused):
            paused[event.step] = event.remaining_days
        elif isinstance(event, (DeadlineSet, DeadlineCleared)):
            paused.pop(event.step, None)
        return replace(keep, book=watch(keep.book, event), paused=paused)
    if isinstance(event, Receipt):
        keep = replace(keep, seen=keep.seen | {event.ref})
    if isinstance(event, CounterpartEventRejected):
        return replace(keep, seen=keep.seen | {event.ref}, attention=keep.attention or event.reason)
    if isinstance(event, NeedsAttentionRaised):
        return replace(keep, attention=event.reason)
    if isinstance(event, AttentionResolved):
        return replace(keep, attention="")
    if isinstance(event, (RatingGiven, RatingReceived)):
        return replace(keep, rated=(*keep.rated, event.rated_region))
    if isinstance(event, FollowUpOpened):
        return replace(keep, follow_up="open")
    if isinstance(event, FollowUpClosed):
        return replace(keep, follow_up="closed")
    return keep


def deadline_set(step: str, spec: DeadlineSpec, now: dt.datetime, actor: Actor) -> DeadlineSet:
    return DeadlineSet(at=now, actor=actor, step=step, due_at=spec.due_at,
                       escalate_at=spec.escalate_at, basis=spec.basis,
                       calendar_version=spec.calendar_version)


def start_step(rules: DeadlineRules, process: str, step: str, now: dt.datetime,
               actor: Actor) -> list[Event]:
    """`DeadlineSet` for an owned step when the statute or the region gives it a limit."""
    spec = rules.deadline_for(process, step, now)
    return [] if spec is None else [deadline_set(step, spec, now, actor)]


def start_wait(rules: DeadlineRules, process: str, step: str, waiting_state: str,
               now: dt.datetime, actor: Actor) -> DeadlineSet:
    """The timer of a waiting state: every waiting state has one, so every case can end."""
    return deadline_set(step, rules.waiting_limit(process, waiting_state, now), now, actor)


def clear_steps(keep: Bookkeeping, steps: Collection[str], now: dt.datetime,
                actor: Actor) -> list[Event]:
    return [DeadlineCleared(at=now, actor=actor, step=step) for step in sorted(steps)
            if step in keep.book or step in keep.paused]


def pause_for_supplement(rules: DeadlineRules, process: str, keep: Bookkeeping,
                         now: dt.datetime, actor: Actor) -> list[Event]:
    """补正: the intake clock stops (remaining days kept) and the applicant's waiting limit runs."""
    events: list[Event] = []
    if (w := keep.book.get(INTAKE_STEP)) is not None:
        left = rules.remaining_days(process, INTAKE_STEP, w.due_at, now)
        events.append(DeadlinePaused(at=now, actor=actor, step=INTAKE_STEP, remaining_days=left))
    events.append(start_wait(rules, process, SUPPLEMENT_STEP, SUPPLEMENT_WAIT, now, actor))
    return events


def resume_after_supplement(rules: DeadlineRules, process: str, keep: Bookkeeping,
                            now: dt.datetime, actor: Actor) -> list[Event]:
    events: list[Event] = [DeadlineCleared(at=now, actor=actor, step=SUPPLEMENT_STEP)]
    if (left := keep.paused.get(INTAKE_STEP)) is not None:
        spec = rules.resume(process, INTAKE_STEP, now, left)
        events.append(deadline_set(INTAKE_STEP, spec, now, actor))
    return events


def timer_commands(keep: Bookkeeping, now: dt.datetime, region: str,
                   lapse_steps: Collection[str] = (SUPPLEMENT_STEP,)) -> list[Command]:
    """Due timer commands: a waiting limit that ends the case lapses it, others are flagged."""
    out: list[Command] = []
    for command in due_commands(keep.book, now, region):
        if isinstance(command, FlagDeadlineMissed) and command.step in lapse_steps:
            out.append(Lapse(actor=command.actor, step=command.step))
        elif not (isinstance(command, Escalate) and command.step in lapse_steps):
            out.append(command)
    return out


def lapse_due(keep: Bookkeeping, step: str, now: dt.datetime) -> bool:
    w = keep.book.get(step)
    return w is not None and now >= w.due_at


def decide_deadline_timer(keep: Bookkeeping, command: Command, now: dt.datetime,
                          attention_steps: Collection[str] = ()) -> list[Event] | None:
    """Flag/escalate (idempotent); escalating a wait for a counterpart also needs a person."""
    events = decide_timer(keep.book, command, now)
    if events and isinstance(command, Escalate) and command.step in attention_steps:
        due = keep.book[command.step].due_at
        events.append(NeedsAttentionRaised(
            at=now, actor=command.actor,
            reason=f"{command.step}: no answer from the counterpart since {due.isoformat()}"))
    return events


def rearm_wait(rules: DeadlineRules, process: str, keep: Bookkeeping, step: str,
               now: dt.datetime, actor: Actor) -> list[Event]:
    """After a person resolved a stuck wait, it runs again, so the case never hangs silently."""
    w = keep.book.get(step)
    if w is not None and not w.escalated:
        return []
    return [start_wait(rules, process, step, COUNTERPART_WAIT, now, actor)]


def is_duplicate(keep: Bookkeeping, command: Receive) -> bool:
    return command.ref in keep.seen


@dataclass(frozen=True)
class RatingContext:
    """Who may be rated through a side, and which region a rating of "" means."""

    own_region: str
    default_region: str
    rateable: tuple[str, ...]
    finished: bool


def decide_annotation(keep: Bookkeeping, command: Command, now: dt.datetime,
                      ctx: RatingContext | None) -> list[Event] | None:
    """Events for Rate / CloseFollowUp / ResolveAttention; None for any other command.

    `ctx` is None on a side that does not take ratings (the applicant rates through the side
    they deal with).
    """
    actor = command.actor
    if isinstance(command, Rate):
        if ctx is None:
            raise IllegalCommand("ratings are given through the region the applicant deals with",
                                 code="rate_elsewhere")
        score = command.score
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise InvalidValue(f"a rating is a whole score from 1 to 5, got {score!r}",
                               code="invalid_score")
        if not ctx.finished:
            raise IllegalCommand("a case is rated once it is finished", code="not_completed")
        rated = command.rated_region or ctx.default_region
        if rated not in ctx.rateable:
            raise InvalidValue(f"region {rated!r} did not take part in this case",
                               code="unknown_rated_region")
        if rated in keep.rated:
            raise IllegalCommand(f"this case was already rated for region {rated}",
                                 code="already_rated")
        shared = "" if rated == ctx.own_region else rated
        events: list[Event] = [RatingGiven(at=now, actor=actor, to_region=shared,
                                           rated_region=rated, score=score,
                                           comment=command.comment.strip())]
        if not shared and score <= POOR_RATING:
            events.append(FollowUpOpened(at=now, actor=actor, rated_region=rated, score=score))
        return events
    if isinstance(command, CloseFollowUp):
        if keep.follow_up != "open":
            raise IllegalCommand("no follow-up is open for this case", code="no_open_follow_up")
        if not command.note.strip():
            raise InvalidValue("closing a follow-up needs a note", code="note_required")
        return [FollowUpClosed(at=now, actor=actor, note=command.note.strip())]
    if isinstance(command, ResolveAttention):
        if not keep.attention:
            raise IllegalCommand("the case does not need attention", code="no_attention")
        if not command.note.strip():
            raise InvalidValue("resolving needs a note saying what was done", code="note_required")
        return [AttentionResolved(at=now, actor=actor, note=command.note.strip())]
    return None


def receive_rating(keep: Bookkeeping, command: Receive, own_region: str,
                   now: dt.datetime) -> list[Event]:
    """The rated region records a rating given through its counterpart (an annotation)."""
    event = command.event
    assert isinstance(event, RatingGiven)
    if event.rated_region != own_region:
        raise InvalidValue(f"a rating of region {event.rated_region} was sent to {own_region}",
                           code="wrong_region")
    if own_region in keep.rated:
        raise IllegalCommand("this case was already rated for this region", code="already_rated")
    events: list[Event] = [RatingReceived(
        at=now, actor=command.actor, ref=command.ref, from_region=command.from_region,
        rated_region=event.rated_region, score=event.score, comment=event.comment)]
    if event.score <= POOR_RATING:
        events.append(FollowUpOpened(at=now, actor=command.actor, rated_region=own_region,
                                     score=event.score))
    return events


def annotation_options(keep: Bookkeeping, ctx: RatingContext | None, rng: random.Random,
                       actor: Actor, staff: Actor) -> list[Command]:
    """Plausible annotation commands: a rating per unrated region, closing a follow-up."""
    out: list[Command] = []
    if ctx is not None and ctx.finished:
        for region in ctx.rateable:
            if region not in keep.rated:
                out.append(Rate(actor=actor, rated_region=region, score=rng.randint(1, 5),
                                comment=rng.choice(["", "办事快", "等太久", "材料说明不清"])))
    if keep.follow_up == "open":
        out.append(CloseFollowUp(actor=staff, note="回访申请人，已说明并整改"))
    if keep.attention:
        out.append(ResolveAttention(actor=staff, note="核实后继续办理"))
    return out


def random_material(rng: random.Random, kind: str) -> MaterialRef:
    """A plausible scanned document (content hash drawn from `rng`)."""
    digest = f"{rng.getrandbits(256):064x}"
    return MaterialRef(doc_id=f"doc-{digest[:12]}", sha256=digest, media_type="application/pdf",
                       size=rng.randint(10_000, 2_000_000), title=kind, kind=kind)


MATERIAL_KINDS = ("居民身份证", "户口簿", "申请表", "证明材料", "照片")


# =========================================================================== case facts


@dataclass(frozen=True)
class CaseFacts:
    """What every side of an application knows about it (travels with the forwarded case)."""

    case_number: str
    process: str
    item_id: str
    mode: str
    person_key: str
    applicant_masked: str

    @property
    def case_id(self) -> str:
        return str(CaseNumber.parse(self.case_number).case_id)

    @property
    def accepting_region(self) -> str:
        """The region whose window or portal took the application: it is in the case number."""
        return str(CaseNumber.parse(self.case_number).region)


def facts_of(event: ApplicationSubmitted) -> CaseFacts:
    return CaseFacts(event.case_number, event.process, event.item_id, event.mode,
                     event.person_key, event.applicant_masked)


def checked_region(value: object, what: str) -> str:
    """A GB/T 2260 code given in an application's details (InvalidValue when malformed)."""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InvalidValue(f"{what} must be a GB/T 2260 region code, got {value!r}",
                           code="invalid_region")
    return str(RegionCode.parse(value))


# =========================================================================== events

Channel = Literal["online", "post", "window"]


@domain_event
class ApplicationApproved(Event):
    """准予: the handling region grants the application; `result` is the e-certificate(s)."""

    result: tuple[MaterialRef, ...] = ()


@domain_event
class ApplicationDenied(Event):
    """不予批准 after acceptance (the reason is mandatory, 书面说明)."""

    reason: str


@domain_event
class ResultDelivered(Event):
    channel: Channel
    tracking_no: str = ""


@domain_event
class CaseCompleted(Event):
    """办结."""


@domain_event
class FormalReviewPassed(Event):
    """The receiving window's 形式审查 and 身份核验 passed."""

    identity_verified: bool


@domain_event
class ApplicationForwarded(Event):
    """R → H: the application with its materials (content-addressed) for a decision."""

    WIRE = True
    facts: CaseFacts
    materials: tuple[MaterialRef, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


@domain_event
class SupplementForwarded(Event):
    WIRE = True
    materials: tuple[MaterialRef, ...]


@domain_event
class WithdrawalForwarded(Event):
    """R → H: the applicant withdrew; carries the facts, as it may be the first H sees."""

    WIRE = True
    facts: CaseFacts
    reason: str = ""


@domain_event
class CompletionNotified(Event):
    """R → H: the result was delivered and the case is 办结."""

    WIRE = True
    channel: Channel


@domain_event
class HandlingAccepted(Event):
    WIRE = True


@domain_event
class HandlingSupplementRequested(Event):
    """H → R: everything missing at once, and until when (H's waiting limit, not recomputed)."""

    WIRE = True
    missing_kinds: tuple[str, ...]
    due_at: dt.datetime
    note: str = ""


@domain_event
class HandlingRejected(Event):
    WIRE = True
    reason: str


@domain_event
class HandlingApproved(Event):
    WIRE = True


@domain_event
class HandlingDenied(Event):
    WIRE = True
    reason: str


@domain_event
class HandlingResultSent(Event):
    """H → R: the result, online (e-certificate refs) or by post to the window (tracking no)."""

    WIRE = True
    channel: Literal["online", "post"]
    tracking_no: str = ""
    result: tuple[MaterialRef, ...] = ()


@domain_event
class HandlingLapsed(Event):
    WIRE = True
    reason: str


@domain_event
class HandlingWithdrawalConfirmed(Event):
    WIRE = True


# ---- receipts on the handling side


@domain_event
class ForwardedApplicationReceived(Receipt):
    """H's first event: the forwarded application; the handling region is `region`."""

    region: str
    facts: CaseFacts
    materials: tuple[MaterialRef, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


@domain_event
class ForwardedSupplementReceived(Receipt):
    materials: tuple[MaterialRef, ...]


@domain_event
class WithdrawalRequestReceived(Receipt):
    """May be H's first event (a reordered link): then H's side starts withdrawn."""

    region: str
    facts: CaseFacts
    reason: str = ""


@domain_event
class CompletionNoticeReceived(Receipt):
    channel: Channel


# ---- receipts on the receiving side


@domain_event
class HandlingNoticeReceived(Receipt):
    """R recorded one of H's notices; `notice` is its type, the other fields its content.

    `stale`: an older notice than one already applied (a reordered link): recorded, not applied.
    """

    notice: str
    stale: bool = False
    reason: str = ""
    missing_kinds: tuple[str, ...] = ()
    due_at: dt.datetime | None = None
    channel: str = ""
    tracking_no: str = ""
    result: tuple[MaterialRef, ...] = ()


# =========================================================================== commands


@dataclass(frozen=True, kw_only=True)
class Approve(Command):
    result: tuple[MaterialRef, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Deny(Command):
    reason: str


@dataclass(frozen=True, kw_only=True)
class DeliverResult(Command):
    channel: Channel
    tracking_no: str = ""


@dataclass(frozen=True, kw_only=True)
class VerifyAndForward(Command):
    """The window's 形式审查 and 身份核验; forwards when the identity is verified."""

    identity_verified: bool
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class SendResult(Command):
    channel: Literal["online", "post"]
    tracking_no: str = ""


# =========================================================================== states

Phase = Literal[
    "submitted", "supplement_requested", "under_review", "approved", "forwarded",
    "awaiting_result", "result_received", "result_sent", "withdrawing",
    "completed", "rejected", "denied", "withdrawn", "lapsed",
]
TERMINAL: frozenset[str] = frozenset({"completed", "rejected", "denied", "withdrawn", "lapsed"})
BEFORE_DECISION: frozenset[str] = frozenset({"submitted", "supplement_requested", "under_review"})
Role = Literal["single", "receiving", "handling"]

ALLOWED_TERMINAL_PAIRS: frozenset[tuple[str, str]] = frozenset({
    # proxy: (receiving, handling)
    ("completed", "completed"), ("rejected", "rejected"), ("denied", "denied"),
    ("lapsed", "lapsed"), ("withdrawn", "withdrawn"),
    ("rejected", ABSENT), ("withdrawn", ABSENT),
    # online: (single, absent)
    ("completed", ABSENT), ("denied", ABSENT), ("lapsed", ABSENT),
})

#: Phase changes each role may make ("" is "no side yet"); `needs_attention` is an overlay on
#: these, not a phase, and annotations (`ANNOTATIONS`) change none. The receiving side follows
#: the handler's notices, so it may pass from any waiting phase to the outcome notified.
TRANSITIONS: frozenset[tuple[str, str]] = frozenset({
    # intake and decision: single and handling sides
    ("", "submitted"),
    ("submitted", "under_review"), ("submitted", "rejected"),
    ("submitted", "supplement_requested"), ("submitted", "withdrawn"),
    ("supplement_requested", "submitted"), ("supplement_requested", "lapsed"),
    ("supplement_requested", "withdrawn"),
    ("under_review", "approved"), ("under_review", "denied"), ("under_review", "withdrawn"),
    ("approved", "completed"), ("approved", "result_sent"), ("result_sent", "completed"),
    # receiving side
    ("submitted", "forwarded"),
    *((waiting, outcome)
      for waiting in ("forwarded", "supplement_requested", "under_review")
      for outcome in ("supplement_requested", "under_review", "rejected", "awaiting_result",
                      "denied", "lapsed", "result_received")
      if waiting != outcome),
    *(("withdrawing", outcome) for outcome in ("rejected", "awaiting_result", "denied",
                                               "lapsed", "result_received")),
    ("forwarded", "withdrawing"), ("supplement_requested", "forwarded"),
    ("supplement_requested", "withdrawing"), ("under_review", "withdrawing"),
    ("withdrawing", "withdrawn"),
    ("awaiting_result", "result_received"), ("result_received", "completed"),
})

RECEIVING_WAIT = "awaiting_handling"
HANDLING_WAIT = "awaiting_receiving"


@dataclass(frozen=True)
class ApplicationSide:
    """One region's side of an online or proxy application.

    `region` is this side's region, `peer` the counterpart's ("" online). `intake` is the
    intake sub-machine (for the handling side, built from the forwarded application).
    """

    role: Role
    facts: CaseFacts
    region: str
    peer: str
    phase: Phase
    intake: Intake
    keep: Bookkeeping = field(default_factory=Bookkeeping)
    missing_kinds: tuple[str, ...] = ()
    result: tuple[MaterialRef, ...] = ()
    forwarded: bool = False
    notice_version: int = 0

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL

    @property
    def handling_region(self) -> str:
        """The region that decided: the peer once the window forwarded, else this one."""
        return self.peer if self.role == "receiving" and self.forwarded else self.region


def _intake_from_forwarded(e: ForwardedApplicationReceived | WithdrawalRequestReceived,
                           materials: tuple[MaterialRef, ...], details: dict[str, Any]) -> Intake:
    f = e.facts
    submitted = ApplicationSubmitted(
        at=e.at, actor=e.actor, case_number=f.case_number, item_id=f.item_id,
        process=f.process, mode=f.mode, person_key=f.person_key,
        applicant_masked=f.applicant_masked, channel="window", materials=materials,
        details=dict(details))
    intake = evolve_intake(None, submitted)
    assert intake is not None
    return intake


_PHASE_OF: dict[type[Event], Phase] = {
    SupplementRequested: "supplement_requested",
    IntakeAccepted: "under_review",
    IntakeRejected: "rejected",
    ApplicationWithdrawn: "withdrawn",
    CaseLapsed: "lapsed",
    ApplicationApproved: "approved",
    ApplicationDenied: "denied",
    CaseCompleted: "completed",
    HandlingResultSent: "result_sent",
    CompletionNoticeReceived: "completed",
}

#: What the receiving side does on each of H's notices (None: the phase does not change).
_NOTICE_PHASE: dict[str, Phase | None] = {
    "HandlingAccepted": "under_review",
    "HandlingSupplementRequested": "supplement_requested",
    "HandlingRejected": "rejected",
    "HandlingApproved": "awaiting_result",
    "HandlingDenied": "denied",
    "HandlingResultSent": "result_received",
    "HandlingLapsed": "lapsed",
    "HandlingWithdrawalConfirmed": "withdrawn",
}
_NOTICE_TYPES: tuple[type[Event], ...] = (
    HandlingAccepted, HandlingSupplementRequested, HandlingRejected, HandlingApproved,
    HandlingDenied, HandlingResultSent, HandlingLapsed, HandlingWithdrawalConfirmed,
)


def _evolve_phase(side: ApplicationSide, event: Event) -> ApplicationSide:
    if isinstance(event, HandlingNoticeReceived):
        return _evolve_notice(side, event)
    if isinstance(event, ApplicationWithdrawn) and side.role == "receiving" and side.forwarded:
        return replace(side, phase="withdrawing")  # the handling region has to confirm
    if isinstance(event, SupplementProvided):
        phase: Phase = "forwarded" if side.role == "receiving" else "submitted"
        return replace(side, phase=phase, missing_kinds=())
    if isinstance(event, SupplementRequested):
        return replace(side, phase="supplement_requested", missing_kinds=event.missing_kinds)
    if isinstance(event, ApplicationApproved):
        return replace(side, phase="approved", result=event.result)
    if isinstance(event, ApplicationForwarded):
        return replace(side, phase="forwarded", forwarded=True)
    new_phase = _PHASE_OF.get(type(event))
    return side if new_phase is None else replace(side, phase=new_phase)


def _evolve_notice(side: ApplicationSide, e: HandlingNoticeReceived) -> ApplicationSide:
    if e.stale:
        return side
    side = replace(side, notice_version=max(side.notice_version, e.ref.version))
    target = _NOTICE_PHASE.get(e.notice)
    if e.notice == "HandlingSupplementRequested":
        if side.phase == "withdrawing":
            return replace(side, missing_kinds=e.missing_kinds)
        return replace(side, phase="supplement_requested", missing_kinds=e.missing_kinds)
    if e.notice == "HandlingAccepted" and side.phase == "withdrawing":
        return side  # H accepted before the withdrawal reached it; its confirmation follows
    if e.notice == "HandlingResultSent":
        return replace(side, phase="result_received", result=e.result)
    return side if target is None else replace(side, phase=target)


def evolve(state: ApplicationSide | None, event: Event) -> ApplicationSide:
    """Fold one event; `evolve(None, first_event)` builds the side."""
    if state is None:
        return _start(event)
    side = replace(state, keep=evolve_bookkeeping(state.keep, event))
    if isinstance(event, ANNOTATIONS) and side.terminal:
        return side
    intake = evolve_intake(side.intake, event)
    assert intake is not None
    side = replace(side, intake=intake)
    return _evolve_phase(side, event)


def _start(event: Event) -> ApplicationSide:
    if isinstance(event, ApplicationSubmitted):
        facts = facts_of(event)
        intake = evolve_intake(None, event)
        assert intake is not None
        if event.mode == "proxy":
            handling = str(event.details.get("handling_region", ""))
            return ApplicationSide("receiving", facts, facts.accepting_region, handling,
                                   "submitted", intake)
        return ApplicationSide("single", facts, facts.accepting_region, "", "submitted", intake)
    if isinstance(event, ForwardedApplicationReceived):
        intake = _intake_from_forwarded(event, event.materials, event.details)
        keep = evolve_bookkeeping(Bookkeeping(), event)
        return ApplicationSide("handling", event.facts, event.region, event.from_region,
                               "submitted", intake, keep)
    if isinstance(event, WithdrawalRequestReceived):
        intake = _intake_from_forwarded(event, (), {})
        keep = evolve_bookkeeping(Bookkeeping(), event)
        return ApplicationSide("handling", event.facts, event.region, event.from_region,
                               "submitted", intake, keep)
    raise IllegalCommand(f"{event.TYPE} cannot start an application side", code="no_side")


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
        if isinstance(command, Lapse):
            return self._lapse(state, command, now)
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
        notify = side.role == "handling"
        to = side.peer
        if isinstance(command, (AcceptIntake, RejectIntake, RequestSupplement)):
            events = decide_intake(side.intake, command, now)
            if isinstance(command, AcceptIntake):
                events += clear_steps(side.keep, [INTAKE_STEP], now, actor)
                events += start_step(self.rules, process, DECISION_STEP, now, actor)
                if notify:
                    events.append(HandlingAccepted(at=now, actor=actor, to_region=to))
            elif isinstance(command, RejectIntake):
                rejected = events[0]
                assert isinstance(rejected, IntakeRejected)
                events = clear_steps(side.keep, [INTAKE_STEP], now, actor)
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
        if isinstance(command, ProvideSupplement):
            if side.role == "handling":
                raise IllegalCommand("the applicant supplies materials at the receiving window",
                                     code="handled_elsewhere")
            events = decide_intake(side.intake, command, now)
            return events + resume_after_supplement(self.rules, process, side.keep, now, actor)
        if isinstance(command, (Approve, Deny)):
            if side.phase != "under_review":
                raise IllegalCommand(f"nothing to decide in status {side.phase}",
                                     code="not_under_review")
            done = clear_steps(side.keep, [DECISION_STEP], now, actor)
            if isinstance(command, Deny):
                reason = _reason(command.reason)
                events = list(done)
                if notify:
                    events.append(HandlingDenied(at=now, actor=actor, to_region=to, reason=reason))
                return [*events, ApplicationDenied(at=now, actor=actor, reason=reason)]
            events = [ApplicationApproved(at=now, actor=actor, result=command.result), *done]
            if notify:
                events.append(HandlingApproved(at=now, actor=actor, to_region=to))
            return events
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
            return [HandlingResultSent(at=now, actor=actor, to_region=to, channel=command.channel,
                                       tracking_no=command.tracking_no.strip(), result=side.result),
                    start_wait(self.rules, process, HANDLING_WAIT, COUNTERPART_WAIT, now, actor)]
        raise IllegalCommand(f"{_name(command)} is not a command of the {side.role} side",
                             code="not_applicable")

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
            return [delivered, *clear_steps(side.keep, [RECEIVING_WAIT], now, actor),
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
            return [*clear_steps(side.keep, [INTAKE_STEP, DECISION_STEP, SUPPLEMENT_STEP],
                                 now, actor),
                    ApplicationWithdrawn(at=now, actor=actor, reason=command.reason)]
        raise IllegalCommand(f"an application can be withdrawn only before its decision "
                             f"(status {side.phase})", code="already_decided")

    def _lapse(self, side: ApplicationSide, command: Lapse, now: dt.datetime) -> list[Event]:
        if (command.step != SUPPLEMENT_STEP or side.phase != "supplement_requested"
                or side.role == "receiving" or not lapse_due(side.keep, command.step, now)):
            return []  # a stale timer command
        due = side.keep.book[SUPPLEMENT_STEP].due_at
        reason = f"逾期未补正: the missing materials were not supplied by {due.isoformat()}"
        events: list[Event] = []
        if side.role == "handling":
            events.append(HandlingLapsed(at=now, actor=command.actor, to_region=side.peer,
                                         reason=reason))
        events.append(CaseLapsed(at=now, actor=command.actor,
                                 waiting_state="supplement_requested", reason=reason))
        return events

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
        if side.role == "receiving" and isinstance(event, _NOTICE_TYPES):
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
                        *clear_steps(side.keep, [INTAKE_STEP, DECISION_STEP, SUPPLEMENT_STEP],
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
            return [*clear_steps(side.keep, [HANDLING_WAIT], now, actor),
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
        target = _NOTICE_PHASE[notice]
        if target in TERMINAL or target == "result_received":
            return [*clear_steps(side.keep, [RECEIVING_WAIT], now, actor), receipt]
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


def _reason(text: str) -> str:
    if not text.strip():
        raise InvalidValue("a denial must state its reason (书面说明)", code="reason_required")
    return text.strip()


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
    "ABSENT",
    "ALLOWED_TERMINAL_PAIRS",
    "ANNOTATIONS",
    "PROCESSES",
    "TRANSITIONS",
    "ApplicationDecider",
    "ApplicationSide",
    "Approve",
    "Bookkeeping",
    "CaseFacts",
    "CloseFollowUp",
    "DeliverResult",
    "Deny",
    "Lapse",
    "Rate",
    "ResolveAttention",
    "SendResult",
    "VerifyAndForward",
    "decider",
    "evolve",
    "options",
    "register_effects",
]
