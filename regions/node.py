"""The region node's decision core: commands and counterpart events in, atomic saves out.

One code path for every writer of a side (API, back-end, inbox, timer, policies): load the side,
decide with its protocol, fold, apply the register changes the events imply, run the automatic
policies until quiet, assign link sequences to shared events, and save it all in *one* atomic
`save()` — the side's events, the register entries, the out-links, the in-link position (for a
counterpart event) and the command's stored outcome (for an idempotent command). A version
conflict (another writer got there first) reloads and decides again.

Sans-IO: nothing here reads the clock or touches the network; `now` is an argument.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, RecordConflictError

from domain.kernel import (
    Actor,
    Command,
    Decider,
    DomainError,
    Event,
    EventRef,
    Receive,
    event_from_payload,
    receive,
    to_payload,
)
from regions.ledger import CommandRecord, InLink, OutLink, RegionLedger, Stream, stable_id
from regions.messages import LinkMessage

MAX_POLICY_ROUNDS = 32
MAX_CONFLICT_RETRIES = 5


class RegisterModel(Protocol):
    """The per-person register rules (`domain.registers`)."""

    def decide_register(
        self, entry: Any, effect: Any, now: dt.datetime, actor: Actor) -> list[Event]: ...
    def evolve_register(self, entry: Any, event: Event) -> Any: ...


@dataclass(frozen=True)
class ProtocolBinding:
    """A protocol as the node uses it: its decider and the register changes its events imply."""

    decider: Decider[Any]
    register_effects: Callable[[Event], Sequence[Any]]


@dataclass
class SideView:
    side_id: UUID
    case_id: str
    case_number: str
    process: str
    version: int
    state: Any


@dataclass(frozen=True)
class Outcome:
    """What a command or a counterpart event did; stored for idempotent replays."""

    ok: bool
    case_id: str = ""
    events: tuple[str, ...] = ()
    status: str = ""
    error_code: str = ""
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "case_id": self.case_id, "events": list(self.events),
                "status": self.status, "error_code": self.error_code, "error": self.error}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Outcome:
        return cls(ok=d["ok"], case_id=d["case_id"], events=tuple(d["events"]),
                   status=d["status"], error_code=d["error_code"], error=d["error"])


class IdempotencyConflict(DomainError):
    code = "idempotency_conflict"


class CommandInProgress(DomainError):
    code = "in_progress"


def side_id(case_id: str, region: str) -> UUID:
    """Aggregate id of one region's side of a case: uuid5(case id, region code)."""
    return uuid5(UUID(case_id), region)


def request_hash(command: Command) -> str:
    body = json.dumps(to_payload(command), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{type(command).__name__}:{body}".encode()).hexdigest()


@dataclass
class _Work:
    """Aggregates touched by one decision, saved together."""

    side: Stream | None = None
    registers: dict[UUID, Stream] = field(default_factory=dict)
    register_states: dict[UUID, Any] = field(default_factory=dict)
    outlinks: dict[str, OutLink] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    register_events: list[Event] = field(default_factory=list)


class RegionNode:
    """One region's decision core over its event store."""

    def __init__(
        self, region: str, app: RegionLedger, protocols: Mapping[str, ProtocolBinding],
        registers: RegisterModel, *, cache_size: int = 50_000,
    ) -> None:
        self.region = region
        self.app = app
        self.protocols = dict(protocols)
        self.registers = registers
        self._sides: dict[UUID, SideView] = {}
        self._cache_size = cache_size
        self._in_progress: set[UUID] = set()
        self.listeners: list[Callable[[SideView, list[Event]], None]] = []
        self.receive_listeners: list[Callable[[LinkMessage, Outcome], None]] = []
        self.register_listeners: list[Callable[[list[Event]], None]] = []

    # ----------------------------------------------------------------- reading

    def side(self, case_id: str) -> SideView | None:
        sid = side_id(case_id, self.region)
        view = self._sides.get(sid)
        if view is not None:
            return view
        try:
            stream: Stream = self.app.repository.get(sid)
        except AggregateNotFoundError:
            return None
        view = self._view_from_stream(sid, stream)
        self._remember(view)
        return view

    def _view_from_stream(self, sid: UUID, stream: Stream) -> SideView:
        process = stream.key["process"]
        decider = self.protocols[process].decider
        state: Any = None
        for type_, version, payload in stream.entries:
            state = decider.evolve(state, event_from_payload(type_, payload, version))
        return SideView(sid, stream.key["case_id"], stream.key["case_number"], process,
                        stream.version, state)

    def _remember(self, view: SideView) -> None:
        if len(self._sides) >= self._cache_size:
            self._sides.pop(next(iter(self._sides)))
        self._sides[view.side_id] = view

    def forget_caches(self) -> None:
        """What a crash loses: everything in memory; the store stays."""
        self._sides.clear()
        self._in_progress.clear()

    # ----------------------------------------------------------------- writing

    def submit(self, case_id: str, case_number: str, process: str, command: Command,
               now: dt.datetime, *, command_id: str = "", principal: str = "") -> Outcome:
        """Open this region's side of a new case with its first command (e.g. intake.Submit)."""
        return self._run(case_id, case_number, process, command, now, command_id, principal)

    def command(self, case_id: str, command: Command, now: dt.datetime, *, command_id: str = "",
                principal: str = "") -> Outcome:
        view = self.side(case_id)
        if view is None:
            return Outcome(False, case_id, error_code="unknown_case",
                           error=f"no case {case_id} in region {self.region}")
        return self._run(case_id, view.case_number, view.process, command, now, command_id,
                         principal)

    def skip_link_seq(self, origin: str, link_seq: int, ref: str, now: dt.datetime) -> None:
        """Advance the in-link past a message that was quarantined, so the link is not blocked.

        The message itself is kept in quarantine; replaying it later applies it without
        touching the link (`receive(..., record_link=False)`).
        """
        inlink = self._inlink(origin, now)
        inlink.record(link_seq, ref, "skipped", now)
        self.app.save(inlink)

    def receive(self, message: LinkMessage, now: dt.datetime, *,
                record_link: bool = True) -> Outcome:
        """Record a counterpart event that is next on its link (the inbox checked the order).

        `record_link=False` replays a quarantined message whose link position was already
        skipped (e.g. after an upgrade that knows its newer schema).
        """
        if message.process not in self.protocols:
            raise DomainError(f"unknown process {message.process!r}", code="unknown_process")
        event = event_from_payload(message.type, message.payload, message.schema_version)
        command = Receive(actor=Actor.system("inbox", self.region), event=event,
                          from_region=message.origin,
                          ref=EventRef(message.originator_id, message.originator_version))
        for _ in range(MAX_CONFLICT_RETRIES):
            try:
                outcome = self._decide_and_save(message.case_id, message.case_number,
                                                message.process, command, now,
                                                inbound=message if record_link else None)
                for listener in self.receive_listeners:
                    listener(message, outcome)
                return outcome
            except (RecordConflictError, IntegrityError):
                self._sides.pop(side_id(message.case_id, self.region), None)
        raise RuntimeError("persistent version conflict while receiving")

    def _run(self, case_id: str, case_number: str, process: str, command: Command,
             now: dt.datetime, command_id: str, principal: str) -> Outcome:
        if process not in self.protocols:
            return Outcome(False, case_id, error_code="unknown_process",
                           error=f"no protocol for process {process!r}")
        if command_id:
            replay = self._replay(principal, command_id, command)
            if replay is not None:
                return replay
        key = CommandRecord.id_for(principal, command_id) if command_id else None
        if key is not None:
            if key in self._in_progress:
                raise CommandInProgress(f"command {command_id} is in progress")
            self._in_progress.add(key)
        try:
            for _ in range(MAX_CONFLICT_RETRIES):
                try:
                    return self._decide_and_save(case_id, case_number, process, command, now,
                                                 command_id=command_id, principal=principal)
                except (RecordConflictError, IntegrityError):
                    self._sides.pop(side_id(case_id, self.region), None)
                    if command_id:
                        replay = self._replay(principal, command_id, command)
                        if replay is not None:
                            return replay
            raise RuntimeError("persistent version conflict")
        finally:
            if key is not None:
                self._in_progress.discard(key)

    def _replay(self, principal: str, command_id: str, command: Command) -> Outcome | None:
        try:
            record: CommandRecord = self.app.repository.get(
                CommandRecord.id_for(principal, command_id))
        except AggregateNotFoundError:
            return None
        if record.request_hash != request_hash(command):
            raise IdempotencyConflict(
                f"command id {command_id} was already used with a different request")
        return Outcome.from_dict(record.outcome)

    def _decide_and_save(
        self, case_id: str, case_number: str, process: str, command: Command, now: dt.datetime,
        *, inbound: LinkMessage | None = None, command_id: str = "", principal: str = "",
    ) -> Outcome:
        binding = self.protocols[process]
        view = self.side(case_id)
        try:
            work, state = self._decide(binding, view, case_id, case_number, process, command, now)
        except DomainError as exc:
            if isinstance(command, Receive):
                # The side's rules or a register refused the counterpart event: record the
                # refusal (the link sequence stays whole) instead of dropping it.
                events = receive(_Refusing(binding.decider, exc), view.state if view else None,
                                 command, now)
                work, state = self._fold_only(binding, view, case_id, case_number, process,
                                              events, now)
            else:
                outcome = Outcome(False, case_id, error_code=exc.code, error=str(exc),
                                  status=binding.decider.status(view.state) if view else "")
                if command_id:
                    self.app.save(CommandRecord.done(principal, command_id, request_hash(command),
                                                     outcome.to_dict(), now))
                return outcome
        to_save: list[Any] = []
        if work.side is not None:
            to_save.append(work.side)
        to_save.extend(work.registers.values())
        to_save.extend(work.outlinks.values())
        outcome = Outcome(True, case_id, tuple(e.TYPE for e in work.events),
                          binding.decider.status(state) if state is not None else "")
        if inbound is not None:
            inlink = self._inlink(inbound.origin, now)
            inlink.record(inbound.link_seq, inbound.event_id, inbound.type, now)
            to_save.append(inlink)
        if command_id:
            to_save.append(CommandRecord.done(principal, command_id, request_hash(command),
                                              outcome.to_dict(), now))
        self.app.save(*to_save)
        if work.side is not None:
            new_view = SideView(work.side.id, case_id, case_number, process, work.side.version,
                                state)
            self._remember(new_view)
            for listener in self.listeners:
                listener(new_view, work.events)
        if work.register_events:
            for register_listener in self.register_listeners:
                register_listener(work.register_events)
        return outcome

    def _decide(self, binding: ProtocolBinding, view: SideView | None, case_id: str,
                case_number: str, process: str, command: Command,
                now: dt.datetime) -> tuple[_Work, Any]:
        decider = binding.decider
        state = view.state if view else None
        events = list(decider.decide(state, command, now))
        pending = list(events)
        all_events: list[Event] = []
        for _ in range(MAX_POLICY_ROUNDS):
            for event in pending:
                state = decider.evolve(state, event)
            all_events.extend(pending)
            pending = []
            for policy_command in decider.policy(state, now):
                pending.extend(decider.decide(state, policy_command, now))
                break  # one policy command at a time: the next one sees the new state
            if not pending:
                break
        else:
            raise DomainError("policies did not settle", code="policy_loop")
        work = self._stage(binding, view, case_id, case_number, process, all_events, now)
        return work, state

    def _fold_only(self, binding: ProtocolBinding, view: SideView | None, case_id: str,
                   case_number: str, process: str, events: list[Event],
                   now: dt.datetime) -> tuple[_Work, Any]:
        state = view.state if view else None
        for event in events:
            state = binding.decider.evolve(state, event)
        if state is None:
            return _Work(events=events), None
        return self._stage(binding, view, case_id, case_number, process, events, now), state

    def _stage(self, binding: ProtocolBinding, view: SideView | None, case_id: str,
               case_number: str, process: str, events: list[Event], now: dt.datetime) -> _Work:
        work = _Work(events=events)
        sid = side_id(case_id, self.region)
        # The stream is reloaded rather than cached: a refused decision must leave no trace.
        side: Stream | None = self.app.repository.get(sid) if view is not None else None
        for event in events:
            payload = to_payload(event)
            if side is None:
                side = Stream.open(sid, "side", {"case_id": case_id, "case_number": case_number,
                                                 "process": process, "region": self.region},
                                   event.TYPE, event.SCHEMA_VERSION, payload, now)
            else:
                side.record(event.TYPE, event.SCHEMA_VERSION, payload, now)
            for effect in binding.register_effects(event):
                self._apply_register(work, effect, event, now)
            if event.to_region:
                message = LinkMessage(
                    origin=self.region, destination=event.to_region, link_seq=0,
                    case_id=case_id, case_number=case_number, process=process,
                    originator_id=str(sid), originator_version=side.version, type=event.TYPE,
                    schema_version=event.SCHEMA_VERSION, payload=payload, at=event.at)
                self._outlink(work, event.to_region, now).send(message.to_record(), now)
        work.side = side
        return work

    def _apply_register(self, work: _Work, effect: Any, cause: Event, now: dt.datetime) -> None:
        rid = stable_id("register", self.region, effect.person_key, effect.scheme)
        if rid not in work.register_states:
            try:
                stream: Stream = self.app.repository.get(rid)
                work.registers[rid] = stream
                work.register_states[rid] = self._fold_register(stream)
            except AggregateNotFoundError:
                work.register_states[rid] = None
        entry = work.register_states[rid]
        for event in self.registers.decide_register(entry, effect, now, cause.actor):
            entry = self.registers.evolve_register(entry, event)
            work.register_events.append(event)
            payload = to_payload(event)
            if rid in work.registers:
                work.registers[rid].record(event.TYPE, event.SCHEMA_VERSION, payload, now)
            else:
                work.registers[rid] = Stream.open(
                    rid, "register", {"person_key": effect.person_key, "scheme": effect.scheme,
                                      "region": self.region},
                    event.TYPE, event.SCHEMA_VERSION, payload, now)
        work.register_states[rid] = entry

    def _outlink(self, work: _Work, destination: str, now: dt.datetime) -> OutLink:
        link = work.outlinks.get(destination)
        if link is None:
            try:
                link = self.app.repository.get(OutLink.id_for(self.region, destination))
            except AggregateNotFoundError:
                link = OutLink.start(self.region, destination, now)
            work.outlinks[destination] = link
        return link

    def _inlink(self, origin: str, now: dt.datetime) -> InLink:
        try:
            link: InLink = self.app.repository.get(InLink.id_for(origin, self.region))
        except AggregateNotFoundError:
            link = InLink.start(origin, self.region, now)
        return link

    def inlink_position(self, origin: str) -> int:
        try:
            link: InLink = self.app.repository.get(InLink.id_for(origin, self.region))
        except AggregateNotFoundError:
            return 0
        return link.last_seq

    def register_entry(self, person_key: str, scheme: str) -> Any:
        rid = stable_id("register", self.region, person_key, scheme)
        try:
            stream: Stream = self.app.repository.get(rid)
        except AggregateNotFoundError:
            return None
        return self._fold_register(stream)

    def _fold_register(self, stream: Stream) -> Any:
        entry: Any = None
        for type_, version, payload in stream.entries:
            entry = self.registers.evolve_register(entry,
                                                   event_from_payload(type_, payload, version))
        return entry


class _Refusing:
    """A decider stand-in whose `decide` raises the refusal already found (for `kernel.receive`)."""

    def __init__(self, decider: Decider[Any], error: DomainError) -> None:
        self._decider = decider
        self._error = error

    def decide(self, state: Any, command: Command, now: dt.datetime) -> list[Event]:
        raise self._error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._decider, name)
