"""A two-sided toy protocol for testing the node core's mechanics, not any regulation.

Origin side A: `Ping` -> `Pinged(to_region=B)`; destination B: receipt `PingReceived`, then by
policy `Ponged(to_region=A)`; A: `PongReceived` -> status `done`. B refuses a Ping whose `n` is
negative (raises DomainError), which the node must record as `CounterpartEventRejected`.
A deadline is set on A when it pings: `reply` due one day later.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, replace
from typing import Any

from domain import deadlines as dl
from domain.kernel import (
    Actor,
    Command,
    CounterpartEventRejected,
    DomainError,
    Event,
    IllegalCommand,
    NeedsAttentionRaised,
    Receive,
    SideSummary,
    register_event,
)

PROCESS = "toy"
ALLOWED_TERMINAL_PAIRS = {("done", "ponged")}
#: The number of each case `new_case` made, by case id.
NUMBERS: dict[str, str] = {}


def new_case(region: str, day: dt.date = dt.date(2026, 3, 2)) -> str:
    """A case id as a window issues it (derived from a fresh case number of `region`): the
    inbox refuses a message whose case id is not its number's (`regions.core.membership`)."""
    from domain.values import CaseNumber, RegionCode

    number = CaseNumber.new(RegionCode(region), day, uuid.uuid4())
    NUMBERS[str(number.case_id)] = str(number)
    return str(number.case_id)


def number_of(case_id: str) -> str:
    return NUMBERS[case_id]


@register_event
@dataclass(frozen=True, kw_only=True)
class Pinged(Event):
    WIRE = True
    case_id: str
    n: int
    home: str


@register_event
@dataclass(frozen=True, kw_only=True)
class PingReceived(Event):
    case_id: str
    n: int
    home: str


@register_event
@dataclass(frozen=True, kw_only=True)
class Ponged(Event):
    WIRE = True
    n: int


@register_event
@dataclass(frozen=True, kw_only=True)
class PongReceived(Event):
    n: int


@dataclass(frozen=True, kw_only=True)
class Ping(Command):
    case_id: str
    n: int
    to: str
    home: str


@dataclass(frozen=True, kw_only=True)
class Pong(Command):
    pass


@dataclass(frozen=True)
class ToyState:
    role: str
    status: str
    case_id: str
    peer: str
    n: int
    book: dict[str, dl.Watch]


class Toy:
    process = PROCESS

    def decide(self, state: ToyState | None, command: Command, now: dt.datetime) -> list[Event]:
        if state is not None:
            timer = dl.decide_timer(state.book, command, now)
            if timer is not None:
                return timer
        if isinstance(command, Ping):
            if state is not None:
                raise IllegalCommand("already pinged")
            due = now + dt.timedelta(days=1)
            return [Pinged(at=now, actor=command.actor, to_region=command.to,
                           case_id=command.case_id, n=command.n, home=command.home),
                    dl.DeadlineSet(at=now, actor=command.actor, step="reply", due_at=due,
                                   escalate_at=due + dt.timedelta(days=1), basis="toy",
                                   calendar_version="toy")]
        if isinstance(command, Receive):
            event = command.event
            if isinstance(event, Pinged):
                if state is not None:
                    raise IllegalCommand("ping received twice")
                if event.n < 0:
                    raise DomainError("negative pings are not allowed", code="negative")
                return [PingReceived(at=now, actor=command.actor, case_id=event.case_id, n=event.n,
                                     home=command.from_region)]
            if isinstance(event, Ponged):
                if state is None or state.status != "pinged":
                    raise IllegalCommand("unexpected pong")
                return [PongReceived(at=now, actor=command.actor, n=event.n),
                        dl.DeadlineCleared(at=now, actor=command.actor, step="reply")]
        if isinstance(command, Pong):
            assert state is not None
            return [Ponged(at=now, actor=command.actor, to_region=state.peer, n=state.n)]
        raise IllegalCommand(f"cannot {type(command).__name__} here")

    def evolve(self, state: ToyState | None, event: Event) -> ToyState:
        if isinstance(event, Pinged):
            return ToyState("origin", "pinged", event.case_id, event.to_region, event.n, {})
        if isinstance(event, PingReceived):
            return ToyState("destination", "received", event.case_id, event.home, event.n, {})
        if state is None:  # the opening counterpart event was refused: a side in need of a person
            assert isinstance(event, CounterpartEventRejected)
            return ToyState("destination", "needs_attention", "", event.from_region, 0, {})
        if isinstance(event, Ponged):
            return replace(state, status="ponged")
        if isinstance(event, PongReceived):
            return replace(state, status="done", book=dl.watch(state.book, event))
        if isinstance(event, (CounterpartEventRejected, NeedsAttentionRaised)):
            return replace(state, status="needs_attention")
        return replace(state, book=dl.watch(state.book, event))

    def policy(self, state: ToyState, now: dt.datetime) -> list[Command]:
        if state.role == "destination" and state.status == "received":
            return [Pong(actor=Actor.system("pong"))]
        return []

    def timers(self, state: ToyState, now: dt.datetime) -> list[Command]:
        return dl.due_commands(state.book, now)

    def next_timer(self, state: ToyState) -> dt.datetime | None:
        return dl.next_due(state.book)

    def status(self, state: ToyState) -> str:
        return state.status

    def is_terminal(self, state: ToyState) -> bool:
        return state.status in ("done", "ponged")

    def summary(self, state: ToyState) -> SideSummary:
        return SideSummary(state.case_id, PROCESS, state.role, "", state.status,
                           self.is_terminal(state), peer_regions=(state.peer,))


def decider(rules: Any = None) -> Toy:
    return Toy()


def options(state: Any, now: dt.datetime, rng: random.Random) -> list[Command]:
    return []


def register_effects(event: Event) -> list[Any]:
    return []


async def ping_until_done(driver: Any, node: Any, cases: int, home: str, to: str,
                          clock: Any) -> list[str]:
    """Submit `cases` pings at `home` through its asyncio driver and wait (up to 4 s of wall
    time) until each is done there; the case ids, done or not (the caller asserts)."""
    import asyncio

    case_ids = []
    for n in range(cases):
        case_id = new_case(home)
        case_ids.append(case_id)
        await driver.db(node.submit, case_id, number_of(case_id), "toy", Ping(
            actor=Actor("staff", "s", home), case_id=case_id, n=n, to=to, home=home), clock())
    for _ in range(200):
        await asyncio.sleep(0.02)
        views = [node.side(c) for c in case_ids]
        if all(v is not None and v.state.status == "done" for v in views):
            break
    return case_ids
