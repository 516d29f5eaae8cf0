"""The region node's decision core: commands and counterpart events in, atomic saves out.

One code path for every writer of a side (API, back-end, inbox, timer, policies): load the side,
decide with its protocol, fold, apply the register changes the events imply, run the automatic
policies until quiet, assign link sequences to shared events, and stage it all in a *unit of
work* — the side's events, the register entries, the out-links, the in-link position (for a
counterpart event) and the command's stored outcome (for an idempotent command). A unit of work
holds any number of decisions (several cases, or one case twice: each decision sees the state
the previous ones staged) and is saved with *one* `app.save()`: one transaction per inbox batch
or per group of commands, because on this machine the fixed cost of a transaction dwarfs the cost
of a row (reference/throughput.md §3). A single command or message is a unit of one. A version
conflict (another writer got there first) reloads and decides again.

Why a refused decision leaves no trace: a decision first computes everything that can be refused
(the protocol's events, the register changes, the payloads) without touching the staged
aggregates; only then does it append to them. Listeners hear of a decision only after its unit
of work is committed, and the caches (side views, link versions) move only then.

Why the node does not reload a side's stream, a register entry or a link for every decision: a
link gets one event per message, so reloading it costs O(messages ever sent), and a side's
stream is already folded in the cached view. To append, the node only needs an aggregate *at
the right version*; it builds one without its history (as the library's own `Snapshot.mutate`
does), and optimistic concurrency still guards it: if another writer moved the stream on, the
save conflicts, the caches of that unit are dropped and the decision is made again on fresh
state. Every read the node skips is a database round trip on the node's one store thread.

Why a command id is not looked up before deciding: its outcome is stored as version 1 of an
aggregate named after the id, in the same transaction as the command's effects, so a reused id
makes that transaction conflict and nothing of it is written; only then does the node read the
stored outcome and return it (or refuse a different request under the same id). Retries are
rare; a read per command is not (reference: the bench profile in the node's report).

Sans-IO: nothing here reads the clock or touches the network; `now` is an argument.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import DataError, IntegrityError, RecordConflictError

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
from regions.core.errors import CommandInProgress, IdempotencyConflict, StoreRefused
from regions.core.messages import LinkMessage
from regions.core.outcome import Outcome
from regions.core.store import CommandRecord, EventStore, InLink, OutLink, Stream, stable_id

MAX_POLICY_ROUNDS = 32
MAX_CONFLICT_RETRIES = 5
#: Finished sides kept in memory (views and checks read a case again just after it ends).
FINISHED_CACHE_SIZE = 1024
#: Register entries kept in memory (a person's entry changes a few times within one case).
REGISTER_CACHE_SIZE = 4096
CONFLICTS = (RecordConflictError, IntegrityError)
A = TypeVar("A", bound=Aggregate)


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
class BatchedCommand:
    """One command of a group commit (`RegionNode.run_batch`). With `process` set it opens the
    side (`submit`); otherwise the side must exist (`command`)."""

    case_id: str
    command: Command
    command_id: str = ""
    principal: str = ""
    case_number: str = ""
    process: str = ""


@functools.lru_cache(maxsize=4096)  # a case's id is asked for at every step of the case
def side_id(case_id: str, region: str) -> UUID:
    """Aggregate id of one region's side of a case: uuid5(case id, region code)."""
    return uuid5(UUID(case_id), region)


def request_hash(command: Command) -> str:
    body = json.dumps(to_payload(command), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{type(command).__name__}:{body}".encode()).hexdigest()


def resume(cls: type[A], id_: UUID, version: int, now: dt.datetime, **state: Any) -> A:
    """An aggregate at `version` without its history: enough to append to, never to read from.

    Built as eventsourcing's `Snapshot.mutate` builds a snapshotted aggregate. Saving it appends
    `version + 1…`; if the store holds more than `version` events, the save conflicts.
    """
    aggregate = object.__new__(cls)
    aggregate.__dict__.update(state)
    aggregate.__dict__.update(_id=id_, _version=version, _created_on=now, _modified_on=now,
                              _pending_events=[])
    return aggregate


@dataclass
class _Effect:
    """What one staged decision announces to listeners once its unit of work is committed."""

    view: SideView | None
    events: list[Event]
    register_events: list[Event]
    receipt: tuple[LinkMessage, Outcome] | None


@dataclass
class UnitOfWork:
    """The aggregates staged by any number of decisions, saved together by `RegionNode.commit`."""

    now: dt.datetime
    sides: dict[UUID, tuple[Stream, SideView]] = field(default_factory=dict)
    registers: dict[UUID, Stream] = field(default_factory=dict)
    register_states: dict[UUID, Any] = field(default_factory=dict)
    outlinks: dict[str, OutLink] = field(default_factory=dict)
    inlinks: dict[str, InLink] = field(default_factory=dict)
    records: dict[UUID, Aggregate] = field(default_factory=dict)
    effects: list[_Effect] = field(default_factory=list)
    command_keys: set[UUID] = field(default_factory=set)

    def add(self, aggregate: Aggregate) -> None:
        """Stage a record of its own (a command's outcome, a quarantined message)."""
        self.records[aggregate.id] = aggregate

    def aggregates(self) -> list[Aggregate]:
        return [*(stream for stream, _ in self.sides.values()), *self.registers.values(),
                *self.outlinks.values(), *self.inlinks.values(), *self.records.values()]

    @property
    def decisions(self) -> int:
        return len(self.effects)


@dataclass
class _Plan:
    """Everything a decision will write, computed before anything staged is touched."""

    events: list[Event]
    payloads: list[Any]
    state: Any
    registers: list[tuple[UUID, Any, list[tuple[Event, Any]]]]
    register_states: dict[UUID, Any]


class RegionNode:
    """One region's decision core over its event store."""

    def __init__(
        self, region: str, app: EventStore, protocols: Mapping[str, ProtocolBinding],
        registers: RegisterModel, *, cache_size: int = 50_000,
    ) -> None:
        self.region = region
        self.app = app
        self.protocols = dict(protocols)
        self.registers = registers
        self._sides: dict[UUID, SideView] = {}
        self._finished: dict[UUID, SideView] = {}
        self._versions: dict[UUID, int] = {}  # in- and out-link versions as last committed
        self._registers: dict[UUID, tuple[int, Any]] = {}  # register entry: version, state
        self._cache_size = cache_size
        self._in_progress: set[UUID] = set()
        self.listeners: list[Callable[[SideView, list[Event]], None]] = []
        self.receive_listeners: list[Callable[[LinkMessage, Outcome], None]] = []
        self.register_listeners: list[Callable[[list[Event]], None]] = []

    # ----------------------------------------------------------------- reading

    def side(self, case_id: str) -> SideView | None:
        sid = side_id(case_id, self.region)
        view = self._sides.get(sid) or self._finished.get(sid)
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
        """Cache a view. Finished sides go to a small cache of their own: they are rarely
        written again, and keeping them all would make memory grow with every case handled."""
        sid = view.side_id
        finished = view.state is None or self.protocols[view.process].decider.is_terminal(
            view.state)
        cache, other, limit = ((self._finished, self._sides, FINISHED_CACHE_SIZE) if finished
                               else (self._sides, self._finished, self._cache_size))
        other.pop(sid, None)
        if sid not in cache and len(cache) >= limit:
            cache.pop(next(iter(cache)))
        cache[sid] = view

    def forget_caches(self) -> None:
        """What a crash loses: everything in memory; the store stays."""
        self._sides.clear()
        self._finished.clear()
        self._versions.clear()
        self._registers.clear()
        self._in_progress.clear()

    def inlink_position(self, origin: str) -> int:
        version = self._link_version(InLink.id_for(origin, self.region))
        return 0 if version is None else version - 1

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

    # ----------------------------------------------------------------- units of work

    def begin(self, now: dt.datetime) -> UnitOfWork:
        return UnitOfWork(now)

    def commit(self, uow: UnitOfWork) -> None:
        """Save everything `uow` staged in one transaction, then tell the listeners, in the
        order the decisions were staged. On failure nothing is announced and the caches the unit
        relied on are dropped; `StoreRefused` when the data itself was refused."""
        try:
            aggregates = uow.aggregates()
            if aggregates:
                self.app.save(*aggregates)
        except (DataError, TypeError, ValueError) as exc:
            self._forget(uow)
            raise StoreRefused(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            self._forget(uow)
            raise
        finally:
            self.abort(uow)
        for _, view in uow.sides.values():
            self._remember(view)
        for link in (*uow.outlinks.values(), *uow.inlinks.values()):
            self._versions[link.id] = link.version
        for rid, stream in uow.registers.items():
            if len(self._registers) >= REGISTER_CACHE_SIZE and rid not in self._registers:
                self._registers.pop(next(iter(self._registers)))
            self._registers[rid] = (stream.version, uow.register_states[rid])
        for effect in uow.effects:
            if effect.view is not None:
                for listener in self.listeners:
                    listener(effect.view, effect.events)
            if effect.register_events:
                for register_listener in self.register_listeners:
                    register_listener(effect.register_events)
            if effect.receipt is not None:
                for receive_listener in self.receive_listeners:
                    receive_listener(*effect.receipt)

    def abort(self, uow: UnitOfWork) -> None:
        """Give up a unit of work (or finish with it): its commands are no longer in progress."""
        self._in_progress.difference_update(uow.command_keys)
        uow.command_keys.clear()

    def _forget(self, uow: UnitOfWork) -> None:
        for sid in uow.sides:
            self._sides.pop(sid, None)
            self._finished.pop(sid, None)
        for link in (*uow.outlinks.values(), *uow.inlinks.values()):
            self._versions.pop(link.id, None)
        for rid in uow.registers:
            self._registers.pop(rid, None)

    # ----------------------------------------------------------------- writing

    def submit(self, case_id: str, case_number: str, process: str, command: Command,
               now: dt.datetime, *, command_id: str = "", principal: str = "") -> Outcome:
        """Open this region's side of a new case with its first command (e.g. intake.Submit)."""
        return self.execute(BatchedCommand(case_id, command, command_id, principal, case_number,
                                           process), now)

    def command(self, case_id: str, command: Command, now: dt.datetime, *, command_id: str = "",
                principal: str = "") -> Outcome:
        return self.execute(BatchedCommand(case_id, command, command_id, principal), now)

    def execute(self, request: BatchedCommand, now: dt.datetime) -> Outcome:
        """One command in a transaction of its own; a version conflict decides it again."""
        for _ in range(MAX_CONFLICT_RETRIES):
            uow = self.begin(now)
            try:
                outcome = self.stage(uow, request)
                self.commit(uow)
                return outcome
            except CONFLICTS:
                if request.command_id:
                    replay = self._replay(request, None, store=True)
                    if replay is not None:
                        return replay
            finally:
                self.abort(uow)
        raise RuntimeError("persistent version conflict")

    def stage(self, uow: UnitOfWork, request: BatchedCommand) -> Outcome:
        """Decide one command into `uow`; it takes effect (and is announced) at `commit`.

        Raises `IdempotencyConflict` or `CommandInProgress` for a reused command id.
        """
        case_id, command, command_id = request.case_id, request.command, request.command_id
        if not request.process:
            view = self._staged_or_cached_view(uow, case_id)
            if view is None:
                return Outcome(False, case_id, error_code="unknown_case",
                               error=f"no case {case_id} in region {self.region}")
            request = BatchedCommand(case_id, command, command_id, request.principal,
                                     view.case_number, view.process)
        if request.process not in self.protocols:
            return Outcome(False, case_id, error_code="unknown_process",
                           error=f"no protocol for process {request.process!r}")
        if command_id:
            # Only this unit is searched; a record in the store makes the commit conflict.
            replay = self._replay(request, uow, store=False)
            if replay is not None:
                return replay
            key = CommandRecord.id_for(request.principal, command_id)
            if key in self._in_progress:
                raise CommandInProgress(f"command {command_id} is in progress")
            self._in_progress.add(key)
            uow.command_keys.add(key)
        return self._stage(uow, request, uow.now)

    def run_batch(self, requests: Sequence[BatchedCommand], now: dt.datetime) -> list[Outcome]:
        """Group commit: every request decided in one unit of work, saved once. If the save fails
        (a conflict with another writer, a refused value), each request runs again on its own,
        so one bad request cannot sink the others. A request refused by the domain or the
        idempotency rules gets its `Outcome(ok=False)`; it never raises those."""
        uow = self.begin(now)
        try:
            outcomes = [self._refusal_as_outcome(request, lambda r: self.stage(uow, r))
                        for request in requests]
            self.commit(uow)
            return outcomes
        except (*CONFLICTS, StoreRefused):
            pass
        finally:
            self.abort(uow)
        return [self._refusal_as_outcome(request, lambda r: self.execute(r, now))
                for request in requests]

    @staticmethod
    def _refusal_as_outcome(request: BatchedCommand,
                            run: Callable[[BatchedCommand], Outcome]) -> Outcome:
        try:
            return run(request)
        except DomainError as exc:
            return Outcome(False, request.case_id, error_code=exc.code, error=str(exc))

    def skip_link_seq(self, origin: str, link_seq: int, ref: str, now: dt.datetime) -> None:
        """Advance the in-link past a message that was quarantined, so the link is not blocked.

        The message itself is kept in quarantine; replaying it later applies it without
        touching the link (`receive(..., record_link=False)`).
        """
        for _ in range(MAX_CONFLICT_RETRIES):
            uow = self.begin(now)
            self.stage_skip(uow, origin, link_seq, ref)
            try:
                self.commit(uow)
                return
            except CONFLICTS:
                continue
        raise RuntimeError("persistent version conflict while skipping a link position")

    def stage_skip(self, uow: UnitOfWork, origin: str, link_seq: int, ref: str) -> None:
        self._inlink(uow, origin, uow.now).record(link_seq, ref, "skipped", uow.now)

    def receive(self, message: LinkMessage, now: dt.datetime, *,
                record_link: bool = True) -> Outcome:
        """Record a counterpart event that is next on its link (the inbox checked the order).

        `record_link=False` replays a quarantined message whose link position was already
        skipped (e.g. after an upgrade that knows its newer schema).
        """
        for _ in range(MAX_CONFLICT_RETRIES):
            uow = self.begin(now)
            outcome = self.stage_receive(uow, message, record_link=record_link)
            try:
                self.commit(uow)
            except CONFLICTS:
                continue
            return outcome
        raise RuntimeError("persistent version conflict while receiving")

    def stage_receive(self, uow: UnitOfWork, message: LinkMessage, *,
                      record_link: bool = True) -> Outcome:
        """Decide a counterpart event into `uow` (see `receive`); `DomainError` when it cannot
        be decoded by this node's domain (unknown process or type, newer schema)."""
        if message.process not in self.protocols:
            raise DomainError(f"unknown process {message.process!r}", code="unknown_process")
        event = event_from_payload(message.type, message.payload, message.schema_version)
        command = Receive(actor=Actor.system("inbox", self.region), event=event,
                          from_region=message.origin,
                          ref=EventRef(message.originator_id, message.originator_version))
        request = BatchedCommand(message.case_id, command, case_number=message.case_number,
                                 process=message.process)
        return self._stage(uow, request, uow.now, message=message, record_link=record_link)

    def _staged_or_cached_view(self, uow: UnitOfWork, case_id: str) -> SideView | None:
        staged = uow.sides.get(side_id(case_id, self.region))
        return staged[1] if staged is not None else self.side(case_id)

    def _replay(self, request: BatchedCommand, uow: UnitOfWork | None, *,
                store: bool) -> Outcome | None:
        """The stored outcome of a command id used before (in `uow`, or in the store)."""
        key = CommandRecord.id_for(request.principal, request.command_id)
        record: Any = uow.records.get(key) if uow is not None else None
        if record is None:
            if not store:
                return None
            try:
                record = self.app.repository.get(key)
            except AggregateNotFoundError:
                return None
        assert isinstance(record, CommandRecord)
        if record.request_hash != request_hash(request.command):
            raise IdempotencyConflict(
                f"command id {request.command_id} was already used with a different request")
        return Outcome.from_dict(record.outcome)

    # ----------------------------------------------------------------- one decision

    def _stage(self, uow: UnitOfWork, request: BatchedCommand, now: dt.datetime, *,
               message: LinkMessage | None = None, record_link: bool = True) -> Outcome:
        """Decide one command or counterpart event and stage what it writes into `uow`."""
        binding = self.protocols[request.process]
        case_id, command = request.case_id, request.command
        sid = side_id(case_id, self.region)
        staged = uow.sides.get(sid)
        view = staged[1] if staged is not None else self.side(case_id)
        inlink: InLink | None = None
        if message is not None and record_link:
            inlink = self._inlink(uow, message.origin, now)
            if message.link_seq != inlink.last_seq + 1:
                raise ValueError(f"link {message.origin}->{self.region}: expected "
                                 f"{inlink.last_seq + 1}, got {message.link_seq}")
        state = view.state if view is not None else None
        try:
            events, decided = self._decide(binding.decider, state, command, now)
            plan = self._plan(binding, uow, decided, events, now)
        except DomainError as exc:
            if not isinstance(command, Receive):
                outcome = Outcome(False, case_id, error_code=exc.code, error=str(exc),
                                  status=binding.decider.status(state) if view else "")
                if request.command_id:
                    uow.add(CommandRecord.done(request.principal, request.command_id,
                                               request_hash(command), outcome.to_dict(), now))
                return outcome
            # The side's rules or a register refused the counterpart event: record the
            # refusal (the link sequence stays whole) instead of dropping it.
            refusal = receive(_Refusing(binding.decider, exc), state, command, now)
            for event in refusal:
                state = binding.decider.evolve(state, event)
            plan = self._plan(binding, uow, state, refusal, now)
        outcome = Outcome(True, case_id, tuple(e.TYPE for e in plan.events),
                          binding.decider.status(plan.state) if plan.state is not None else "")
        new_view = None
        if plan.state is not None:
            new_view = self._write(uow, binding, request, sid, staged, view, plan, now)
        register_events = self._write_registers(uow, plan, now)
        if inlink is not None and message is not None:
            inlink.record(message.link_seq, message.event_id, message.type, now)
        if request.command_id:
            uow.add(CommandRecord.done(request.principal, request.command_id,
                                       request_hash(command), outcome.to_dict(), now))
        receipt = (message, outcome) if message is not None else None
        uow.effects.append(_Effect(new_view, plan.events, register_events, receipt))
        return outcome

    def _decide(self, decider: Decider[Any], state: Any, command: Command,
                now: dt.datetime) -> tuple[list[Event], Any]:
        """The command's events and those of the automatic policies it sets off, and the state
        they lead to (pure)."""
        pending = list(decider.decide(state, command, now))
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
        return all_events, state

    def _plan(self, binding: ProtocolBinding, uow: UnitOfWork, state: Any,
              events: list[Event], now: dt.datetime) -> _Plan:
        """Work out the register changes of `events` (which led to `state`); may raise
        `DomainError`, and changes nothing staged (register streams it loads are staged
        unchanged)."""
        payloads = [to_payload(event) for event in events]
        entries: dict[UUID, Any] = {}
        changes: list[tuple[UUID, Any, list[tuple[Event, Any]]]] = []
        for event in events:
            for effect in binding.register_effects(event):
                rid = stable_id("register", self.region, effect.person_key, effect.scheme)
                if rid not in entries:
                    entries[rid] = self._register_state(uow, rid, effect)
                produced = []
                for change in self.registers.decide_register(entries[rid], effect, now,
                                                             event.actor):
                    entries[rid] = self.registers.evolve_register(entries[rid], change)
                    produced.append((change, to_payload(change)))
                changes.append((rid, effect, produced))
        return _Plan(events, payloads, state, changes, entries)

    def _register_state(self, uow: UnitOfWork, rid: UUID, effect: Any) -> Any:
        if rid in uow.register_states:
            return uow.register_states[rid]
        cached = self._registers.get(rid)
        if cached is not None:
            version, state = cached
            uow.registers[rid] = resume(Stream, rid, version, uow.now, kind="register", entries=[],
                                        key={"person_key": effect.person_key,
                                             "scheme": effect.scheme, "region": self.region})
        else:
            try:
                stream: Stream = self.app.repository.get(rid)
            except AggregateNotFoundError:
                state = None
            else:
                uow.registers[rid] = stream
                state = self._fold_register(stream)
        uow.register_states[rid] = state
        return state

    def _write(self, uow: UnitOfWork, binding: ProtocolBinding, request: BatchedCommand,
               sid: UUID, staged: tuple[Stream, SideView] | None, view: SideView | None,
               plan: _Plan, now: dt.datetime) -> SideView:
        case_id, case_number, process = request.case_id, request.case_number, request.process
        stream: Stream | None = staged[0] if staged is not None else None
        if stream is None and view is not None:
            stream = resume(Stream, sid, view.version, now, kind="side", entries=[], key={
                "case_id": view.case_id, "case_number": view.case_number,
                "process": view.process, "region": self.region})
        for event, payload in zip(plan.events, plan.payloads, strict=True):
            if stream is None:
                stream = Stream.open(sid, "side", {"case_id": case_id, "case_number": case_number,
                                                   "process": process, "region": self.region},
                                     event.TYPE, event.SCHEMA_VERSION, payload, now)
            else:
                stream.record(event.TYPE, event.SCHEMA_VERSION, payload, now)
            if event.to_region:
                message = LinkMessage(
                    origin=self.region, destination=event.to_region, link_seq=0,
                    case_id=case_id, case_number=case_number, process=process,
                    originator_id=str(sid), originator_version=stream.version, type=event.TYPE,
                    schema_version=event.SCHEMA_VERSION, payload=payload, at=event.at)
                self._outlink(uow, event.to_region, now).send(message.to_record(), now)
        assert stream is not None  # a state exists, so a view or an event does
        new_view = SideView(sid, case_id, case_number, process, stream.version, plan.state)
        uow.sides[sid] = (stream, new_view)
        return new_view

    def _write_registers(self, uow: UnitOfWork, plan: _Plan, now: dt.datetime) -> list[Event]:
        written: list[Event] = []
        for rid, effect, produced in plan.registers:
            for change, payload in produced:
                stream = uow.registers.get(rid)
                if stream is None:
                    uow.registers[rid] = Stream.open(
                        rid, "register", {"person_key": effect.person_key,
                                          "scheme": effect.scheme, "region": self.region},
                        change.TYPE, change.SCHEMA_VERSION, payload, now)
                else:
                    stream.record(change.TYPE, change.SCHEMA_VERSION, payload, now)
                written.append(change)
        uow.register_states.update(plan.register_states)
        return written

    # ----------------------------------------------------------------- links

    def _link_version(self, link_id: UUID) -> int | None:
        """A link's version as last committed: cached, else its newest stored event."""
        version = self._versions.get(link_id)
        if version is None:
            newest = self.app.recorder.select_events(link_id, desc=True, limit=1)
            if not newest:
                return None
            version = self._versions[link_id] = newest[0].originator_version
        return version

    def _outlink(self, uow: UnitOfWork, destination: str, now: dt.datetime) -> OutLink:
        link = uow.outlinks.get(destination)
        if link is None:
            link_id = OutLink.id_for(self.region, destination)
            version = self._link_version(link_id)
            link = (OutLink.start(self.region, destination, now) if version is None else
                    resume(OutLink, link_id, version, now, origin=self.region,
                           destination=destination))
            uow.outlinks[destination] = link
        return link

    def _inlink(self, uow: UnitOfWork, origin: str, now: dt.datetime) -> InLink:
        link = uow.inlinks.get(origin)
        if link is None:
            link_id = InLink.id_for(origin, self.region)
            version = self._link_version(link_id)
            link = (InLink.start(origin, self.region, now) if version is None else
                    resume(InLink, link_id, version, now, origin=origin,
                           destination=self.region))
            uow.inlinks[origin] = link
        return link


class _Refusing:
    """A decider stand-in whose `decide` raises the refusal already found (for `kernel.receive`)."""

    def __init__(self, decider: Decider[Any], error: DomainError) -> None:
        self._decider = decider
        self._error = error

    def decide(self, state: Any, command: Command, now: dt.datetime) -> list[Event]:
        raise self._error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._decider, name)
