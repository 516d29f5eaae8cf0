"""Casework: what every side of a case keeps besides its status, shared by every protocol.

Why one module: an online application, a household move and a social-insurance transfer differ
in their phases, not in how a side keeps its deadlines, stops a statutory clock for a 补正, lapses
a waiting state, ignores a re-delivered counterpart event, asks for a person, or takes the
applicant's rating. Application and household sides keep all of it in a `Bookkeeping`; the
transfer sides keep their own book (`transfer_states`) and use the deadline, pause and lapse
helpers here. Nothing here decides a phase.

- Deadlines (`domain.deadlines`): `start_step` records an owned step's limit when the statute or
  the region gives one, `start_wait` a waiting state's limit (every waiting state has one, so
  every case can end), `clear_steps` ends steps, `pause_step`/`resume_step` stop and restart a
  statutory clock; `pause_for_supplement`/`resume_after_supplement` do both around a 补正.
- Timers and lapses: `timer_commands` turns the due deadlines into commands, a waiting limit
  that ends the case into `Lapse`; `decide_deadline_timer` flags and escalates (an escalated
  wait for a counterpart also needs a person), `rearm_wait` restarts it once a person has looked.
- The calendar recheck (`decide_calendar_recheck`): the running deadlines and an open follow-up's
  due date reckoned again when the node's calendar changed (`deadlines.recheck`, later only).
- Annotations (`ANNOTATIONS`, the only events allowed after a terminal state): attention
  notes, 好差评 ratings (1–5, one per case and rated region, only regions that took part) and
  the follow-up a poor rating opens at the rated region — in `casework_ratings`, whose names
  this module re-exports.

Its vocabulary (annotation events, `Lapse`, `CaseFacts`) is in `casework_events`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from domain.deadlines import (
    DEADLINE_EVENTS,
    DeadlineCleared,
    DeadlinePaused,
    DeadlineRules,
    DeadlineSet,
    DeadlineSpec,
    Escalate,
    FlagDeadlineMissed,
    RecheckDeadlines,
    Watch,
    decide_recheck,
    decide_timer,
    due_commands,
    recheck,
    watch,
)
from domain.fold import replace
from domain.kernel import (
    Actor,
    Command,
    CounterpartEventRejected,
    Event,
    EventRef,
    InvalidValue,
    NeedsAttentionRaised,
    Receipt,
    Receive,
)
from domain.protocols.casework_events import (
    AttentionResolved,
    FollowUpClosed,
    FollowUpOpened,
    FollowUpOverdue,
    FollowUpRecomputed,
    Lapse,
    RatingGiven,
    RatingReceived,
)

# Ratings, follow-ups and attention live in `casework_ratings`; every name stays importable here.
from domain.protocols.casework_ratings import (  # noqa: F401
    FOLLOW_UP_STEP,
    POOR_RATING,
    RatingContext,
    annotation_options,
    decide_annotation,
    follow_up_next,
    follow_up_timers,
    receive_rating,
    with_follow_up_due,
)
from domain.protocols.intake import CaseLapsed
from domain.values import MaterialRef, RegionCode

#: The counterpart status in a terminal pair when the counterpart never opened a side.
ABSENT = "absent"

INTAKE_STEP = "intake"
SUPPLEMENT_STEP = "supplement"
#: Waiting-state names `domain.statutes` knows defaults for.
SUPPLEMENT_WAIT = "supplement"
COUNTERPART_WAIT = "awaiting_counterpart"

#: The phase changes of intake and decision every accepting side shares ("" is "no side yet"):
#: the online and handling sides of an application and a household move's destination.
INTAKE_TRANSITIONS: frozenset[tuple[str, str]] = frozenset({
    ("", "submitted"),
    ("submitted", "under_review"), ("submitted", "rejected"),
    ("submitted", "supplement_requested"), ("submitted", "withdrawn"),
    ("supplement_requested", "submitted"), ("supplement_requested", "lapsed"),
    ("supplement_requested", "withdrawn"),
    ("under_review", "denied"), ("under_review", "withdrawn"),
})


# =========================================================================== bookkeeping

FollowUp = Literal["", "open", "closed"]


@dataclass(frozen=True)
class Bookkeeping:
    """What every side tracks besides its status.

    `book`: watched deadlines and waiting limits; `paused`: steps whose statutory clock stopped
    (remaining days); `seen`: counterpart events already recorded (a duplicate has no effect);
    `attention`: why a person is needed ("" when not); `rated`: regions rated for this case
    through or at this side; `follow_up`: the follow-up of this region's poor rating, due at
    `follow_up_due` (`follow_up_watch` keeps how that was reckoned, for the calendar recheck).
    """

    book: Mapping[str, Watch] = field(default_factory=dict)
    paused: Mapping[str, int] = field(default_factory=dict)
    seen: frozenset[EventRef] = frozenset()
    attention: str = ""
    rated: tuple[str, ...] = ()
    follow_up: FollowUp = ""
    follow_up_due: dt.datetime | None = None
    follow_up_overdue: bool = False
    follow_up_watch: Watch | None = None

    @property
    def clocked(self) -> frozenset[str]:
        """Steps with a clock, running or stopped: the ones a `DeadlineCleared` may end."""
        return frozenset(self.book) | frozenset(self.paused)


class KeptSide(Protocol):
    """A side that keeps a `Bookkeeping` beside its phase (application and household sides)."""

    @property
    def keep(self) -> Bookkeeping: ...
    @property
    def phase(self) -> str: ...
    @property
    def terminal(self) -> bool: ...


class CaseworkViews:
    """How a decider over `KeptSide`s answers `status` and `is_terminal` (kernel.Decider)."""

    def status(self, state: KeptSide) -> str:
        """The phase, or `needs_attention` while a person is needed and the side is not over."""
        if state.keep.attention and not state.terminal:
            return "needs_attention"
        return state.phase

    def is_terminal(self, state: KeptSide) -> bool:
        return state.terminal


def evolve_bookkeeping(keep: Bookkeeping, event: Event) -> Bookkeeping:
    if isinstance(event, DEADLINE_EVENTS):
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
        due = event.due_at
        held = None if due is None else Watch(due, due, reckoning=event.reckoning,
                                              calendar_version=event.calendar_version)
        return replace(keep, follow_up="open", follow_up_due=due, follow_up_watch=held)
    if isinstance(event, FollowUpRecomputed) and keep.follow_up_watch is not None:
        held = replace(keep.follow_up_watch, due_at=event.due_at, escalate_at=event.due_at,
                       calendar_version=event.calendar_version)
        return replace(keep, follow_up_due=event.due_at, follow_up_watch=held)
    if isinstance(event, FollowUpOverdue):
        return replace(keep, follow_up_overdue=True)
    if isinstance(event, FollowUpClosed):
        return replace(keep, follow_up="closed")
    return keep


def is_duplicate(keep: Bookkeeping, command: Receive) -> bool:
    return command.ref in keep.seen


# =========================================================================== deadlines


def deadline_set(step: str, spec: DeadlineSpec, now: dt.datetime, actor: Actor) -> DeadlineSet:
    return DeadlineSet(at=now, actor=actor, step=step, due_at=spec.due_at,
                       escalate_at=spec.escalate_at, basis=spec.basis,
                       calendar_version=spec.calendar_version, reckoning=spec.reckoning)


def start_step(rules: DeadlineRules, process: str, step: str, now: dt.datetime,
               actor: Actor) -> list[Event]:
    """`DeadlineSet` for an owned step when the statute or the region gives it a limit."""
    spec = rules.deadline_for(process, step, now)
    return [] if spec is None else [deadline_set(step, spec, now, actor)]


def start_wait(rules: DeadlineRules, process: str, step: str, waiting_state: str,
               now: dt.datetime, actor: Actor) -> DeadlineSet:
    """The timer of a waiting state: every waiting state has one, so every case can end."""
    return deadline_set(step, rules.waiting_limit(process, waiting_state, now), now, actor)


def clear_steps(clocked: Collection[str], steps: Collection[str], now: dt.datetime,
                actor: Actor) -> list[Event]:
    """`DeadlineCleared` for each of `steps` that has a clock among `clocked`, in name order."""
    return [DeadlineCleared(at=now, actor=actor, step=step) for step in sorted(steps)
            if step in clocked]


def pause_step(rules: DeadlineRules, process: str, book: Mapping[str, Watch], step: str,
               now: dt.datetime, actor: Actor) -> list[Event]:
    """The statutory clock of a running `step` stops; the days it had left are recorded."""
    w = book.get(step)
    if w is None:
        return []
    left = rules.remaining_days(process, step, w.due_at, now)
    return [DeadlinePaused(at=now, actor=actor, step=step, remaining_days=left)]


def resume_step(rules: DeadlineRules, process: str, paused: Mapping[str, int], step: str,
                now: dt.datetime, actor: Actor) -> list[Event]:
    """A stopped clock runs again from `now` with the days it had left."""
    left = paused.get(step)
    if left is None:
        return []
    return [deadline_set(step, rules.resume(process, step, now, left), now, actor)]


def pause_for_supplement(rules: DeadlineRules, process: str, keep: Bookkeeping,
                         now: dt.datetime, actor: Actor) -> list[Event]:
    """补正: the intake clock stops (remaining days kept) and the applicant's waiting limit runs."""
    return [*pause_step(rules, process, keep.book, INTAKE_STEP, now, actor),
            start_wait(rules, process, SUPPLEMENT_STEP, SUPPLEMENT_WAIT, now, actor)]


def resume_after_supplement(rules: DeadlineRules, process: str, keep: Bookkeeping,
                            now: dt.datetime, actor: Actor) -> list[Event]:
    return [DeadlineCleared(at=now, actor=actor, step=SUPPLEMENT_STEP),
            *resume_step(rules, process, keep.paused, INTAKE_STEP, now, actor)]


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


def supplement_lapsed(actor: Actor, now: dt.datetime, detail: str) -> CaseLapsed:
    """逾期未补正: the applicant did not supply the missing materials within the waiting limit."""
    return CaseLapsed(at=now, actor=actor, waiting_state="supplement_requested",
                      reason=f"逾期未补正: {detail}")


def decide_deadline_timer(keep: Bookkeeping, command: Command, now: dt.datetime,
                          attention_steps: Collection[str] = (), *,
                          rules: DeadlineRules) -> list[Event] | None:
    """Flag/escalate (idempotent); escalating a wait for a counterpart also needs a person."""
    events = decide_timer(keep.book, command, now)
    if events and isinstance(command, Escalate) and command.step in attention_steps:
        due = keep.book[command.step].due_at
        events.append(NeedsAttentionRaised(
            at=now, actor=command.actor,
            reason=f"{command.step}: no answer from the counterpart since {due.isoformat()}"))
    return events


def decide_calendar_recheck(keep: Bookkeeping, command: Command, now: dt.datetime,
                            rules: DeadlineRules, *, ended: bool) -> list[Event] | None:
    """`RecheckDeadlines`: the running deadlines reckoned again (not once the side `ended`: what
    stands then is on record) and an open follow-up's due date (it runs after the end); None for
    any other command."""
    if not isinstance(command, RecheckDeadlines):
        return None
    events = [] if ended else decide_recheck(keep.book, command, now, rules) or []
    return events + recheck_follow_up(keep, command.actor, now, rules)


def recheck_follow_up(keep: Bookkeeping, actor: Actor, now: dt.datetime,
                      rules: DeadlineRules) -> list[Event]:
    """`FollowUpRecomputed` when an open follow-up's provisional due date is reckoned again
    (`deadlines.recheck`: later only)."""
    held = keep.follow_up_watch
    if keep.follow_up != "open" or keep.follow_up_overdue or held is None:
        return []
    found = recheck(held, rules)
    if found is None:
        return []
    return [FollowUpRecomputed(at=now, actor=actor, due_at=found.due_at,
                               previous_due_at=held.due_at, official_due_at=found.spec.due_at,
                               calendar_version=found.spec.calendar_version)]


def rearm_wait(rules: DeadlineRules, process: str, keep: Bookkeeping, step: str,
               now: dt.datetime, actor: Actor) -> list[Event]:
    """After a person resolved a stuck wait, it runs again, so the case never hangs silently."""
    w = keep.book.get(step)
    if w is not None and not w.escalated:
        return []
    return [start_wait(rules, process, step, COUNTERPART_WAIT, now, actor)]


# =========================================================================== checks, samples


def denial_reason(text: str) -> str:
    """不予批准 is stated in writing (书面说明): the reason, stripped; InvalidValue when blank."""
    if not text.strip():
        raise InvalidValue("a denial must state its reason (书面说明)", code="reason_required")
    return text.strip()


def checked_region(value: object, what: str) -> str:
    """A GB/T 2260 code given in an application's details (`invalid_region` naming `what`)."""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InvalidValue(f"{what} must be a GB/T 2260 region code, got {value!r}",
                           code="invalid_region", field=what)
    try:
        return str(RegionCode.parse(value))
    except InvalidValue as exc:
        raise InvalidValue(str(exc), code="invalid_region", field=what) from None


MATERIAL_KINDS = ("居民身份证", "户口簿", "申请表", "证明材料", "照片")


def random_material(rng: random.Random, kind: str) -> MaterialRef:
    """A plausible scanned document (content hash drawn from `rng`)."""
    digest = f"{rng.getrandbits(256):064x}"
    return MaterialRef(doc_id=f"doc-{digest[:12]}", sha256=digest, media_type="application/pdf",
                       size=rng.randint(10_000, 2_000_000), title=kind, kind=kind)
