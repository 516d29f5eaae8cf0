"""Deadline events and the book of watched deadlines every side keeps.

Why events: the side that owns a step computes its deadline once, with its own calendar, and
records it (`DeadlineSet`); the counterpart never recomputes it, and views only read events. The
node's durable timer asks a protocol's `timers(state, now)`, which uses `due_commands` below, and
the resulting commands record `DeadlineMissed` and later `Escalated` — never before `due_at` by
the owning region's clock. A step that is done is `DeadlineCleared`; a step that waits for the
applicant is paused (the statutory clock stops) and set again when the applicant answers.

A deadline reckoned over days no official schedule decided yet is provisional (its
`calendar_version` ends in "+fallback"). When the node starts with the year's official schedule
installed it sends every side `RecheckDeadlines`; `recheck` reckons each provisional date the side
recorded again from its recorded `Reckoning` (`domain.reckoning`) and the one rule
(`domain.provisional.judge`) says what holds — the due date moves only ever later (a date
somebody may have relied on is never taken back); an earlier official date is recorded beside it
(`official_due_at`) and the recorded one stands. `decide_recheck` records it for the book's
deadlines (`DeadlineRecomputed`); a transfer's waiting timer and a 差评 follow-up use the same
`recheck` with their own events (`WaitingTimerRecomputed`, `FollowUpRecomputed`).
How `due_at` is computed (working days with 调休, calendar days, region limits) lives in
`domain.limits` and `domain.calendar`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from domain.calendar import is_provisional
from domain.fold import replace
from domain.kernel import Actor, Command, Event, domain_event
from domain.provisional import Judgement, judge
from domain.reckoning import Reckoning, upcast_from_basis


@dataclass(frozen=True)
class DeadlineSpec:
    """A computed deadline, ready to be recorded as `DeadlineSet`."""

    due_at: dt.datetime
    escalate_at: dt.datetime
    basis: str  # e.g. "15 working days from receipt of the contact letter (国办发〔2009〕66号 第八条)"
    calendar_version: str
    reckoning: Reckoning | None = None


class DeadlineRules(Protocol):
    """The region's deadline arithmetic, injected into deciders (implemented in `domain.limits`).

    `deadline_for` returns None where neither the statute (reference) nor the region configures a
    limit for the step: no invented numbers. `waiting_limit` is the region-configured time an
    applicant (or the other side) gets in a waiting state before it lapses; every waiting state has
    one, so every case can end.
    """

    def deadline_for(self, process: str, step: str, start: dt.datetime) -> DeadlineSpec | None: ...
    def remaining_days(self, process: str, step: str, due_at: dt.datetime, now: dt.datetime) -> int: ...
    def resume(self, process: str, step: str, start: dt.datetime, remaining_days: int) -> DeadlineSpec: ...
    def waiting_limit(self, process: str, state: str, start: dt.datetime) -> DeadlineSpec: ...
    def recompute(self, reckoning: Reckoning, basis: str) -> DeadlineSpec: ...


@domain_event
class DeadlineSet(Event):
    """A step's deadline, and how it was counted (`reckoning`: None only for a basis this project
    did not write; schema v1 records get theirs read from the basis)."""

    SCHEMA_VERSION = 2
    UPCASTERS = {1: upcast_from_basis}  # noqa: RUF012 (the kernel's ClassVar)
    step: str
    due_at: dt.datetime
    escalate_at: dt.datetime
    basis: str
    calendar_version: str
    reckoning: Reckoning | None = None


@domain_event
class DeadlineRecomputed(Event):
    """A provisional deadline reckoned again once official calendar data covers it.

    `due_at` is the deadline that holds from now on: the recomputed one when it is later than
    `previous_due_at`, else the previous one (never earlier). `official_due_at` is what the
    recomputation gave, kept even when it is earlier and so not applied, for the operator.
    """

    step: str
    due_at: dt.datetime
    escalate_at: dt.datetime
    previous_due_at: dt.datetime
    official_due_at: dt.datetime
    basis: str
    calendar_version: str


@domain_event
class DeadlineMissed(Event):
    step: str
    due_at: dt.datetime


@domain_event
class Escalated(Event):
    """督办: the step is still open past its escalation instant."""

    step: str
    due_at: dt.datetime


@domain_event
class DeadlinePaused(Event):
    """The statutory clock stops (waiting for the applicant); `remaining_days` resumes it."""

    step: str
    remaining_days: int


@domain_event
class DeadlineCleared(Event):
    """A running step was met (or ended with its side). Since issue 17's rows the event that
    meets a step may carry it instead (its `met`, `met_of`): no row of its own then."""

    step: str


def met_of(event: Event) -> tuple[str, ...]:
    """The steps `event` meets in place of a `DeadlineCleared` each (its `met` field; () for
    an event without one, and for every event stored before the field)."""
    met: tuple[str, ...] = getattr(event, "met", ())
    return met


#: Every event that changes the book of running deadlines (`watch` folds them).
DEADLINE_EVENTS = (DeadlineSet, DeadlineRecomputed, DeadlineMissed, Escalated, DeadlinePaused,
                   DeadlineCleared)


@dataclass(frozen=True)
class Watch:
    """A running deadline; `reckoning`, `basis` and `calendar_version` say how it was reckoned
    (what a recheck needs to reckon it again). A waiting timer and a follow-up's due date are
    kept as a `Watch` too, so that one `recheck` serves every recorded date."""

    due_at: dt.datetime
    escalate_at: dt.datetime
    missed: bool = False
    escalated: bool = False
    reckoning: Reckoning | None = None
    basis: str = ""
    calendar_version: str = ""

    @property
    def provisional(self) -> bool:
        return is_provisional(self.calendar_version)


@dataclass(frozen=True, kw_only=True)
class FlagDeadlineMissed(Command):
    step: str


@dataclass(frozen=True, kw_only=True)
class Escalate(Command):
    step: str


@dataclass(frozen=True, kw_only=True)
class RecheckDeadlines(Command):
    """The node's calendar changed (or it started): reckon the provisional deadlines again."""


Book = Mapping[str, Watch]


def watch(book: Book, event: Event) -> dict[str, Watch]:
    """Fold one deadline event into the book (other events leave it unchanged)."""
    new = dict(book)
    if isinstance(event, DeadlineSet):
        new[event.step] = Watch(event.due_at, event.escalate_at, reckoning=event.reckoning,
                                basis=event.basis, calendar_version=event.calendar_version)
    elif isinstance(event, DeadlineRecomputed) and event.step in new:
        new[event.step] = replace(new[event.step], due_at=event.due_at,
                                  escalate_at=event.escalate_at, basis=event.basis,
                                  calendar_version=event.calendar_version)
    elif isinstance(event, DeadlineMissed) and event.step in new:
        new[event.step] = replace(new[event.step], missed=True)
    elif isinstance(event, Escalated) and event.step in new:
        new[event.step] = replace(new[event.step], escalated=True)
    elif isinstance(event, (DeadlineCleared, DeadlinePaused)):
        new.pop(event.step, None)
    return new


def due_commands(book: Book, now: dt.datetime, region: str = "") -> list[Command]:
    """Commands the timer issues at `now`: flag each passed deadline once, then escalate once."""
    actor = Actor.system("deadline_timer", region)
    out: list[Command] = []
    for step in sorted(book):
        w = book[step]
        if not w.missed and now >= w.due_at:
            out.append(FlagDeadlineMissed(actor=actor, step=step))
        elif w.missed and not w.escalated and now >= w.escalate_at:
            out.append(Escalate(actor=actor, step=step))
    return out


def next_due(book: Book) -> dt.datetime | None:
    times = [w.escalate_at if w.missed else w.due_at for w in book.values() if not w.escalated]
    return min(times, default=None)


def decide_timer(book: Book, command: Command, now: dt.datetime) -> list[Event] | None:
    """Events for a timer command, or None when `command` is not a timer command.

    Idempotent: a stale timer command (already flagged, cleared, or not yet due) yields [].
    """
    if isinstance(command, FlagDeadlineMissed):
        w = book.get(command.step)
        if w is None or w.missed or now < w.due_at:
            return []
        return [DeadlineMissed(at=now, actor=command.actor, step=command.step, due_at=w.due_at)]
    if isinstance(command, Escalate):
        w = book.get(command.step)
        if w is None or not w.missed or w.escalated or now < w.escalate_at:
            return []
        return [Escalated(at=now, actor=command.actor, step=command.step, due_at=w.due_at)]
    return None


def recheck_commands(region: str) -> list[Command]:
    """What the node sends each side with a running timer when it starts (its calendar may have
    changed): `RecheckDeadlines`, by the node itself."""
    return [RecheckDeadlines(actor=Actor.system("calendar_recheck", region))]


@dataclass(frozen=True)
class Rechecked:
    """A recorded date reckoned again, to be recorded: `spec` is the recomputation, `judgement`
    what holds (`domain.provisional.judge`)."""

    spec: DeadlineSpec
    judgement: Judgement
    previous_due_at: dt.datetime

    @property
    def due_at(self) -> dt.datetime:
        return self.judgement.due_at


def recheck(w: Watch, rules: DeadlineRules) -> Rechecked | None:
    """The recheck of one recorded date, whatever records it; None when there is nothing to
    record (not provisional, missed, no reckoning, or a recomputation still on the fallback that
    does not move it). The rule is `domain.provisional.judge`: later only."""
    if w.missed or w.reckoning is None or not w.provisional:
        return None
    spec = rules.recompute(w.reckoning, w.basis)
    judgement = judge(w.due_at, spec.due_at, is_provisional(spec.calendar_version))
    return Rechecked(spec, judgement, w.due_at) if judgement.record else None


def decide_recheck(book: Book, command: Command, now: dt.datetime,
                   rules: DeadlineRules) -> list[Event] | None:
    """`DeadlineRecomputed` for each provisional running deadline the calendar now decides
    differently or for good (`recheck`); None when `command` is not `RecheckDeadlines`.

    A deadline already flagged missed is left alone (its `DeadlineMissed` stands). Idempotent: a
    second recheck on the same calendar finds nothing provisional, or nothing that moves.
    """
    if not isinstance(command, RecheckDeadlines):
        return None
    out: list[Event] = []
    for step in sorted(book):
        w = book[step]
        found = recheck(w, rules)
        if found is None:
            continue
        spec = found.spec
        out.append(DeadlineRecomputed(
            at=now, actor=command.actor, step=step, due_at=found.due_at,
            escalate_at=max(spec.escalate_at, w.escalate_at),
            previous_due_at=w.due_at, official_due_at=spec.due_at,
            basis=spec.basis, calendar_version=spec.calendar_version))
    return out
