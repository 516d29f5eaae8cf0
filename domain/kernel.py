"""Shared kernel of every protocol: events, commands, actors, errors, the decider interface.

Why this shape: each side of a case is a pure *decider* — `decide(state, command, now)` returns
new events, `evolve(state, event)` folds one event into the state. The node wraps deciders in
eventsourcing aggregates; the simulator and the property tests call them directly. Nothing here
reads the clock or draws ids: `now` and ids are arguments.

Conventions every protocol follows:
- Events are frozen dataclasses deriving from `Event`, declared with `@domain_event`, with
  typed JSON-friendly fields (str, int, bool, datetime, date, tuples of those, nested frozen
  dataclasses; never `Any` or a free dict: `domain.payloads` says why and enforces it).
  `at` is the deciding instant; `actor` names who caused it (责任追溯).
- An event that must reach a counterpart region sets `to_region` (exactly one recipient; a
  broadcast is one event per recipient). Everything else stays local.
- A counterpart's event arrives as the command `Receive`. The protocol answers with a receipt
  event of its own (receipt is a fact of the receiving side: deadlines run from it) plus any
  reaction, or raises `DomainError` when the event is illegal in the current state;
  `domain.settling.receive()` then records `CounterpartEventRejected` and `NeedsAttentionRaised`
  instead, so the per-link sequence stays whole and nothing is silently dropped.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from domain.encoding import to_payload as to_payload  # re-exported: events encode here
from domain.payloads import MAX_TEXT, PayloadError, from_payload

# --------------------------------------------------------------------------- errors


class DomainError(Exception):
    """A command or input the domain refuses; `code` is stable and machine-readable.

    `field` names the command's field at fault ("reason", "details.origins") when the raiser
    knows it better than the code's entry in the refusal table (`domain.refusals`).
    """

    code: str = "domain_error"
    field: str = ""

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if field is not None:
            self.field = field


class InvalidValue(DomainError):
    """A value object was given malformed input (ID number, region code, amount...)."""

    code = "invalid_value"


class IllegalCommand(DomainError):
    """The command is not allowed in the side's current state."""

    code = "illegal_command"


class UnknownItem(DomainError):
    """The catalogue has no such item."""

    code = "unknown_item"


# --------------------------------------------------------------------------- actors

ActorKind = Literal["staff", "applicant", "system", "backend"]


@dataclass(frozen=True)
class Actor:
    """Who caused an event: staff (id, role, region, window), the applicant, a policy, a back-end."""

    kind: ActorKind
    id: str
    region: str = ""
    role: str = ""
    window: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def system(cls, policy: str, region: str = "") -> Actor:
        """The actor of a policy acting in `region`: one frozen instance per pair (the
        deciders name one on every policy pass, issue 17), a subclass's built afresh."""
        if cls is not Actor:
            return cls("system", policy, region)
        return _system_actor(policy, region)

    @classmethod
    def backend(cls, client: str, region: str = "") -> Actor:
        return cls("backend", client, region)


@functools.lru_cache(maxsize=4096)
def _system_actor(policy: str, region: str) -> Actor:
    return Actor("system", policy, region)


# --------------------------------------------------------------------------- events

_EVENT_TYPES: dict[str, type[Event]] = {}
E = TypeVar("E", bound="type[Event]")


@dataclass(frozen=True, kw_only=True)
class Event:
    """A fact of one side of a case. `TYPE` is the stable name used in stores and on the wire."""

    TYPE: ClassVar[str] = ""
    #: True for event types that travel to counterparts (they get a wire schema in asyncapi.yaml).
    WIRE: ClassVar[bool] = False
    #: Bumped when the payload changes incompatibly; older versions go through `UPCASTERS`.
    SCHEMA_VERSION: ClassVar[int] = 1
    #: version n -> function turning a version-n payload dict into a version-(n+1) one.
    UPCASTERS: ClassVar[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {}
    at: dt.datetime
    actor: Actor
    to_region: str = ""

    @property
    def shared(self) -> bool:
        return bool(self.to_region)


def register_event(cls: E) -> E:
    """Class decorator: register an event type under its `TYPE` (defaults to the class name)."""
    name = cls.__dict__.get("TYPE") or cls.__name__
    cls.TYPE = name
    if name in _EVENT_TYPES and _EVENT_TYPES[name] is not cls:
        raise TypeError(f"event type {name!r} registered twice")
    _EVENT_TYPES[name] = cls
    return cls


@typing.dataclass_transform(frozen_default=True, kw_only_default=True)
def domain_event(cls: E) -> E:
    """Class decorator of every event type: a frozen, keyword-only dataclass, registered.

    Why one decorator: every event is immutable, built by keyword (fields are added over time,
    so position means nothing) and decodable by its `TYPE`; writing the three together each
    time invited an event that forgot one. `dataclass_transform` lets type checkers see the
    generated `__init__` exactly as for `@dataclass(frozen=True, kw_only=True)`.
    """
    return register_event(typing.cast(E, dataclass(frozen=True, kw_only=True)(cls)))


def event_type(name: str) -> type[Event]:
    try:
        return _EVENT_TYPES[name]
    except KeyError:
        raise DomainError(f"unknown event type {name!r}", code="unknown_event_type") from None


def event_types() -> dict[str, type[Event]]:
    return dict(_EVENT_TYPES)


def event_from_payload(type_name: str, data: dict[str, Any], schema_version: int | None = None) -> Event:
    """Decode a stored or received payload, upcasting it first when an older schema wrote it.

    Held to the rules of `domain.payloads` (typed fields only, ISO dates, bounded strings, lists
    and nesting, no unknown keys): a peer's event gets in no more than a back-end's command.
    """
    cls = event_type(type_name)
    version = cls.SCHEMA_VERSION if schema_version is None else schema_version
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise DomainError(f"{type_name} schema version {version!r} is not a version",
                          code="malformed_event")
    if version > cls.SCHEMA_VERSION:
        raise DomainError(
            f"{type_name} schema version {version} is newer than this node's {cls.SCHEMA_VERSION}",
            code="newer_schema")
    if not isinstance(data, dict):
        raise DomainError(f"malformed {type_name} payload: not an object", code="malformed_event")
    while version < cls.SCHEMA_VERSION:
        try:
            data = cls.UPCASTERS[version](data)
        except KeyError:
            raise DomainError(f"no upcaster for {type_name} v{version}", code="malformed_event") from None
        version += 1
    try:
        event = from_payload(cls, data)
    except PayloadError as exc:
        raise DomainError(f"malformed {type_name} payload: {exc}", code="malformed_event") from exc
    assert isinstance(event, Event)
    return event


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """`text` cut to fit a payload string (a refusal's reason may quote what it refused)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, kw_only=True)
class Command:
    """An intention addressed to one side of a case; `actor` is who asks."""

    actor: Actor


@dataclass(frozen=True)
class EventRef:
    """Origin identity of a counterpart event: its side's aggregate id and version."""

    originator_id: str
    version: int


@dataclass(frozen=True, kw_only=True)
class Receive(Command):
    """A counterpart region's shared event, delivered to this side."""

    event: Event
    from_region: str
    ref: EventRef


@dataclass(frozen=True, kw_only=True)
class Receipt(Event):
    """Base of every receipt: this side recorded a counterpart's event (origin identity `ref`).

    Receipt is a fact of the receiving side (deadlines run from it); `ref` is what makes a
    re-delivered event a duplicate.
    """

    ref: EventRef
    from_region: str


@domain_event
class CounterpartEventRejected(Event):
    """An authentic counterpart event this side's domain refused in its current state."""

    ref: EventRef
    event_type: str
    from_region: str
    reason: str


@domain_event
class NeedsAttentionRaised(Event):
    """The protocol cannot proceed without a person (mismatch, rejected event, unrepaired gap)."""

    reason: str


# --------------------------------------------------------------------------- deciders

S = TypeVar("S")


class Decider(Protocol, Generic[S]):
    """What every protocol module exposes (as module-level functions or an object).

    - `process`: the catalogue process name the protocol implements (e.g. "pension_transfer").
    - `initial(...)` is protocol-specific; `evolve(None, first_event)` must build the state —
      including when the first event is `CounterpartEventRejected` (the counterpart event that
      would have opened this side was refused): the side then exists in `needs_attention`.
    - `decide(state, command, now)`: events, or `DomainError`; never mutates `state`.
    - `evolve(state, event)`: the new state.
    - `policy(state, now)`: commands the system issues by itself in this state (actor
      `system:<policy>`), e.g. send the contact letter once accepted. Empty when nothing to do.
    - `timers(state, now)`: commands due because a deadline or waiting-state timer has passed at
      `now` (DeadlineMissed, Escalated, lapse). Empty when none is due.
    - `next_timer(state)`: the earliest instant at which `timers` would return something.
    - `status(state)`: the side's status name; `is_terminal(state)`; `summary(state)`.
    - `options(state, now, rng)` (in the protocol module): plausible human or back-end commands
      legal now, parameters drawn from the injected `random.Random` — the simulator and the
      property tests drive every protocol through it.
    """

    @property
    def process(self) -> str: ...

    def decide(self, state: S | None, command: Command, now: dt.datetime) -> list[Event]: ...
    def evolve(self, state: S | None, event: Event) -> S: ...
    def policy(self, state: S, now: dt.datetime) -> list[Command]: ...
    def timers(self, state: S, now: dt.datetime) -> list[Command]: ...
    def next_timer(self, state: S) -> dt.datetime | None: ...
    def status(self, state: S) -> str: ...
    def is_terminal(self, state: S) -> bool: ...
    def summary(self, state: S) -> SideSummary: ...


def fold(decider: Decider[S], events: Sequence[Event], state: S | None = None) -> S | None:
    for event in events:
        state = decider.evolve(state, event)
    return state


Clock = Callable[[], dt.datetime]
_ = field  # re-exported for protocol modules' convenience


# --------------------------------------------------------------------------- summaries

SideRole = Literal["destination", "origin", "handling", "receiving", "single", "accepting",
                   "partner"]


@dataclass(frozen=True)
class SideSummary:
    """What the invariant checkers and views need to know of one side, whatever its protocol.

    Amounts are integer fen and periods integer months. `sent` is what this side has remitted
    or stated in an info sheet (origin); `received` what its finance side recorded as arrived
    (destination); `credited` what it credited to the person at completion. `peer_regions` are
    the counterpart regions of this side.
    """

    case_id: str
    process: str
    role: SideRole
    region: str
    status: str
    terminal: bool
    needs_attention: bool = False
    person_key: str = ""
    scheme: str = ""
    peer_regions: tuple[str, ...] = ()
    amount_stated: int = 0
    amount_sent: int = 0
    amount_received: int = 0
    amount_credited: int = 0
    months_stated: int = 0
    months_credited: int = 0
    #: An origin's 补转 after completion (`CorrectionForNewCase`): what its corrected sheet
    #: states beyond the sheet the case completed on (negative: to come back), left to a new
    #: case; `amount_stated` is then the sheet the case completed on.
    amount_for_new_case: int = 0
