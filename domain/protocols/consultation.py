"""咨询 / 投诉 / 建议: the applicant's small case type (issue 13), with a reply, a reply deadline
and a place in the region's staff queue; complaints are what supervision watches (issue 12).

One side, at the region that received it (role "single"):

    —        | Consult(kind, subject, text, about_case) → ConsultationOpened + DeadlineSet(reply)
    open     | ReplyConsultation(reply) by staff → ConsultationReplied → replied (terminal;
             |   its timers stop, a missed reply deadline stays on record)
    open     | deadline timer → DeadlineMissed(reply) (overdue), later Escalated (督办)

Why not a catalogue process: nothing here is a 政务服务事项 with materials, modes or a counterpart
region; the registry `domain.protocols.PROTOCOLS` maps catalogue processes, so this protocol is
run beside them (`SERVICE_PROTOCOLS`, which the node adds). It shares the deadline book and
timers of every protocol, so overdue replies appear in the work queue like any other step.

The reply limit is the region's waiting limit of `reply_<kind>` (`domain.statutes`: local
defaults, configuration rather than law). A complaint may name the case it is about
(`about_case`); nothing personal is recorded — the query code is what opens the reply.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Literal

from domain import deadlines as dl
from domain.deadlines import (
    DeadlineRules,
    DeadlineSet,
)
from domain.fold import replace
from domain.kernel import (
    Actor,
    Command,
    Event,
    IllegalCommand,
    InvalidValue,
    SideSummary,
    domain_event,
)
from domain.registers import RegisterEffect
from domain.values import CaseNumber

PROCESS = "consultation"
Kind = Literal["consult", "complain", "suggest"]
KINDS: tuple[str, ...] = ("consult", "complain", "suggest")
KIND_NAMES = {"consult": "咨询", "complain": "投诉", "suggest": "建议"}
REPLY_STEP = "reply"
MAX_TEXT = 2000
MAX_SUBJECT = 100
ALLOWED_TERMINAL_PAIRS: frozenset[tuple[str, str]] = frozenset({("replied", "absent")})
TRANSITIONS: frozenset[tuple[str, str]] = frozenset({("", "open"), ("open", "replied")})


@domain_event
class ConsultationOpened(Event):
    case_number: str
    kind: str
    subject: str
    text: str
    about_case: str = ""


@domain_event
class ConsultationReplied(Event):
    reply: str


@dataclass(frozen=True, kw_only=True)
class Consult(Command):
    """Open a consultation, complaint or suggestion (the actor: the person, masked or anonymous)."""

    case_number: str
    kind: str
    subject: str
    text: str
    about_case: str = ""


@dataclass(frozen=True, kw_only=True)
class ReplyConsultation(Command):
    reply: str


@dataclass(frozen=True)
class ConsultationState:
    case_id: str
    case_number: str
    region: str
    kind: str
    subject: str
    about_case: str = ""
    phase: str = "open"
    reply: str = ""
    book: dl.Book = field(default_factory=dict)


def _text(value: object, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"{what} is required", code="invalid_value", field=what)
    if len(value) > limit:
        raise InvalidValue(f"{what} is longer than {limit} characters", code="invalid_value",
                           field=what)
    return value.strip()


@dataclass
class ConsultationDecider:
    rules: DeadlineRules
    process: str = PROCESS

    def decide(self, state: ConsultationState | None, command: Command,
               now: dt.datetime) -> list[Event]:
        if state is None:
            if not isinstance(command, Consult):
                raise IllegalCommand("a consultation opens with Consult", code="not_submitted")
            return self._open(command, now)
        timer = dl.decide_timer(state.book, command, now)
        if timer is None:
            timer = dl.decide_recheck(state.book, command, now, self.rules)
        if timer is not None:
            return timer if state.phase == "open" else []
        if isinstance(command, Consult):
            raise IllegalCommand("the consultation was already opened", code="already_submitted")
        if not isinstance(command, ReplyConsultation):
            raise IllegalCommand(f"{type(command).__name__} is not a command of a consultation",
                                 code="unknown_command")
        if state.phase != "open":
            raise IllegalCommand("the consultation was already answered", code="case_closed")
        reply = _text(command.reply, "reply", MAX_TEXT)
        # No DeadlineCleared: the side ends here (its timers stop), and a late reply stays
        # visible as overdue (supervision counts complaints answered late).
        return [ConsultationReplied(at=now, actor=command.actor, reply=reply)]

    def _open(self, command: Consult, now: dt.datetime) -> list[Event]:
        if command.kind not in KINDS:
            raise InvalidValue(f"kind must be one of {', '.join(KINDS)}, got {command.kind!r}",
                               code="invalid_value", field="kind")
        about = command.about_case.strip() if isinstance(command.about_case, str) else ""
        if about:
            try:
                CaseNumber.parse(about)
            except InvalidValue:
                raise InvalidValue("about_case is not a case number", code="invalid_value",
                                   field="about_case") from None
        number = CaseNumber.parse(command.case_number)
        spec = self.rules.waiting_limit(PROCESS, f"{REPLY_STEP}_{command.kind}", now)
        clock = Actor.system("deadlines", str(number.region))
        return [ConsultationOpened(at=now, actor=command.actor, case_number=str(number),
                                   kind=command.kind,
                                   subject=_text(command.subject, "subject", MAX_SUBJECT),
                                   text=_text(command.text, "text", MAX_TEXT), about_case=about),
                DeadlineSet(at=now, actor=clock, step=REPLY_STEP, due_at=spec.due_at,
                            escalate_at=spec.escalate_at, basis=spec.basis,
                            calendar_version=spec.calendar_version, reckoning=spec.reckoning)]

    def evolve(self, state: ConsultationState | None, event: Event) -> ConsultationState:
        if state is None:
            if not isinstance(event, ConsultationOpened):
                raise IllegalCommand(f"a consultation cannot start with {event.TYPE}",
                                     code="not_a_first_event")
            number = CaseNumber.parse(event.case_number)
            return ConsultationState(str(number.case_id), event.case_number, str(number.region),
                                     event.kind, event.subject, event.about_case)
        if isinstance(event, dl.DEADLINE_EVENTS):
            return replace(state, book=dl.watch(state.book, event))
        if isinstance(event, ConsultationReplied):
            return replace(state, phase="replied", reply=event.reply)
        return state

    def policy(self, state: ConsultationState, now: dt.datetime) -> list[Command]:
        return []

    def timers(self, state: ConsultationState, now: dt.datetime) -> list[Command]:
        return dl.due_commands(state.book, now, state.region) if state.phase == "open" else []

    def next_timer(self, state: ConsultationState) -> dt.datetime | None:
        return dl.next_due(state.book) if state.phase == "open" else None

    def status(self, state: ConsultationState) -> str:
        return state.phase

    def is_terminal(self, state: ConsultationState) -> bool:
        return state.phase == "replied"

    def summary(self, state: ConsultationState) -> SideSummary:
        return SideSummary(case_id=state.case_id, process=PROCESS, role="single",
                           region=state.region, status=state.phase,
                           terminal=self.is_terminal(state))


def decider(rules: DeadlineRules) -> ConsultationDecider:
    return ConsultationDecider(rules)


def options(state: ConsultationState | None, now: dt.datetime,
            rng: random.Random) -> list[Command]:
    if state is None or state.phase != "open":
        return []
    staff = Actor("staff", f"staff-{rng.randrange(1, 50):02d}", state.region, "window")
    return [ReplyConsultation(actor=staff, reply=rng.choice(["已答复：请携带身份证到窗口办理",
                                                             "经核实，已整改并回访"]))]


def register_effects(event: Event) -> list[RegisterEffect]:
    return []
