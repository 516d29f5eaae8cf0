"""The region node's decision core: commands and counterpart events in, atomic saves out.

`RegionNode` is what every writer of a side calls (API, back-end, inbox, timer, policies). It
is put together from four parts, each in its own module:

- `staging.Stager` decides one command or counterpart event with the side's protocol and
  stages everything it writes into a unit of work (why a refusal leaves no trace: there);
- `unit_of_work.UnitOfWork` holds any number of staged decisions, saved here with *one*
  `app.save()` (`commit`), after which the listeners hear of them in order;
- `caches.Caches` keeps side views, link versions and register entries between decisions
  (why the node does not reload streams: there), moved only after a commit;
- `idempotency.Idempotency` keeps each command id's outcome with its effects (why ids are not
  looked up before deciding: there).

A version conflict (another writer got there first) drops that unit's caches and decides again
(`run`, `receive`, `skip_link_seq`); a group commit that fails is retried request by request
(`run_batch`), so one bad request cannot sink the others.

Sans-IO: nothing here reads the clock or touches the network; `now` is an argument.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from eventsourcing.persistence import DataError, IntegrityError, RecordConflictError

from domain.kernel import Actor, Command, DomainError, Event, EventRef, Receive, event_from_payload
from domain.refusals import field_of
from regions.core.caches import Caches
from regions.core.errors import (
    CommandInProgress,
    IdempotencyConflict,
    PersistentConflict,
    StoreRefused,
)
from regions.core.idempotency import Idempotency
from regions.core.messages import LinkMessage
from regions.core.outcome import Outcome
from regions.core.sides import BatchedCommand, ProtocolBinding, RegisterModel, SideView
from regions.core.staging import Stager
from regions.core.store import EventStore, InLink, load_stream, stable_id
from regions.core.unit_of_work import UnitOfWork

MAX_CONFLICT_RETRIES = 5
CONFLICTS = (RecordConflictError, IntegrityError)


class RegionNode:
    """One region's decision core over its event store."""

    def __init__(
        self, region: str, app: EventStore, protocols: Mapping[str, ProtocolBinding],
        registers: RegisterModel, *, cache_size: int = 50_000,
        peers: Collection[str] | None = None,
    ) -> None:
        self.region = region
        #: The regions this node exchanges cases with; None: not configured (a bare node in a
        #: test), and no command is refused for its counterparts.
        self.peers = None if peers is None else frozenset(peers)
        self.app = app
        self.protocols = dict(protocols)
        self.registers = registers
        self.caches = Caches(region, app, self.protocols, registers, size=cache_size)
        self.idempotency = Idempotency(app)
        self.stager = Stager(region, app, self.protocols, registers, self.caches,
                             self.idempotency)
        #: Who records a counterpart event (an `Actor` is immutable: one for every message).
        self._inbox_actor = Actor.system("inbox", region)
        self.listeners: list[Callable[[SideView, list[Event]], None]] = []
        self.receive_listeners: list[Callable[[LinkMessage, Outcome], None]] = []
        self.register_listeners: list[Callable[[list[Event]], None]] = []

    # ----------------------------------------------------------------- reading

    def side(self, case_id: str) -> SideView | None:
        """This region's side of the case as last committed (None if it has none)."""
        return self.caches.side(case_id)

    def forget_caches(self) -> None:
        """What a crash loses: everything in memory; the store stays."""
        self.caches.clear()
        self.idempotency.clear()

    def inlink_position(self, origin: str) -> int:
        version = self.caches.link_version(InLink.id_for(origin, self.region))
        return 0 if version is None else version - 1

    def register_entry(self, person_key: str, scheme: str) -> Any:
        rid = stable_id("register", self.region, person_key, scheme)
        stream = load_stream(self.app, rid)
        return None if stream is None else self.caches.fold_register(stream)

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
            self.caches.dropped(uow)
            raise StoreRefused(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            self.caches.dropped(uow)
            raise
        finally:
            self.abort(uow)
        self.caches.committed(uow)
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
        """Give up a unit of work (or finish with it): its commands are no longer in progress,
        and what a prefetch found absent may exist now."""
        self.idempotency.release(uow)
        self.caches.forget_absent()

    def prefetch(self, case_ids: Iterable[str]) -> None:
        """Read the sides of a batch's cases that are not in memory in one go, before the batch
        is staged; valid until the unit of work ends (`abort`)."""
        self.caches.prefetch(case_ids)

    # ----------------------------------------------------------------- commands

    def submit(self, case_id: str, case_number: str, process: str, command: Command,
               now: dt.datetime, *, command_id: str = "", principal: str = "") -> Outcome:
        """Open this region's side of a new case with its first command (e.g. intake.Submit)."""
        return self.run(BatchedCommand(case_id, command, command_id, principal, case_number,
                                       process), now)

    def command(self, case_id: str, command: Command, now: dt.datetime, *, command_id: str = "",
                principal: str = "") -> Outcome:
        """A command to this region's existing side of a case."""
        return self.run(BatchedCommand(case_id, command, command_id, principal), now)

    def run(self, request: BatchedCommand, now: dt.datetime) -> Outcome:
        """One command in a transaction of its own; a version conflict decides it again."""
        for _ in range(MAX_CONFLICT_RETRIES):
            uow = self.begin(now)
            try:
                outcome = self.stage(uow, request)
                self.commit(uow)
                return outcome
            except CONFLICTS:
                if request.command_id:
                    replay = self.idempotency.replay(request, None, store=True)
                    if replay is not None:
                        return replay
            finally:
                self.abort(uow)
        raise PersistentConflict("persistent version conflict")

    def stage(self, uow: UnitOfWork, request: BatchedCommand) -> Outcome:
        """Decide one command into `uow`; it takes effect (and is announced) at `commit`.

        Raises `IdempotencyConflict` or `CommandInProgress` for a reused command id.
        """
        case_id = request.case_id
        place = self.stager.locate(uow, case_id)
        process = request.process
        if not process:  # a command to an existing side: the side names its process
            view = place[2]
            if view is None:
                return Outcome(False, case_id, error_code="unknown_case",
                               error=f"no case {case_id} in region {self.region}",
                               error_field="case_id")
            process = view.process
        if process not in self.protocols:
            return Outcome(False, case_id, error_code="unknown_process",
                           error=f"no protocol for process {process!r}",
                           error_field="process")
        if request.command_id:
            replay = self.idempotency.claim(uow, request)
            if replay is not None:
                return replay
        return self.stager.stage(uow, request, place=place)

    def run_batch(self, requests: Sequence[BatchedCommand], now: dt.datetime) -> list[Outcome]:
        """Group commit: every request decided in one unit of work, saved once. If the save fails
        (a conflict with another writer, a refused value), each request runs again on its own,
        so one bad request cannot sink the others. A request refused by the domain or the
        idempotency rules gets its `Outcome(ok=False)`; it never raises those."""
        uow = self.begin(now)
        try:
            self.prefetch([request.case_id for request in requests])
            outcomes = []
            stage = self.stage
            for request in requests:  # the loop is the bench's per-command path: no call more
                try:
                    outcomes.append(stage(uow, request))
                except DomainError as exc:
                    outcomes.append(self._refused(request, exc))
            self.commit(uow)
            return outcomes
        except (*CONFLICTS, StoreRefused):
            pass
        finally:
            self.abort(uow)
        outcomes = []
        for request in requests:
            try:
                outcomes.append(self.run(request, now))
            except DomainError as exc:
                outcomes.append(self._refused(request, exc))
        return outcomes

    @staticmethod
    def _refused(request: BatchedCommand, exc: DomainError) -> Outcome:
        """A refusal by the domain or the idempotency rules, as the request's outcome."""
        field = ("command_id" if isinstance(exc, IdempotencyConflict | CommandInProgress)
                 else f"command.{field_of(exc)}")
        return Outcome(False, request.case_id, error_code=exc.code, error=str(exc),
                       error_field=field)

    # ----------------------------------------------------------------- counterpart events

    def receive(self, message: LinkMessage, now: dt.datetime, *,
                record_link: bool = True) -> Outcome:
        """Record a counterpart event that is next on its link (the inbox checked the order).

        `record_link=False` replays a quarantined message whose link position was already
        skipped (e.g. after an upgrade that knows its newer schema).
        """
        for _ in range(MAX_CONFLICT_RETRIES):
            uow = self.begin(now)
            try:
                outcome = self.stage_receive(uow, message, record_link=record_link)
            except BaseException:
                self.abort(uow)
                raise
            try:
                self.commit(uow)
            except CONFLICTS:
                continue
            return outcome
        raise PersistentConflict("persistent version conflict while receiving")

    def stage_receive(self, uow: UnitOfWork, message: LinkMessage, *,
                      record_link: bool = True) -> Outcome:
        """Decide a counterpart event into `uow` (see `receive`); `DomainError` when it cannot
        be decoded by this node's domain (unknown process or type, newer schema)."""
        if message.process not in self.protocols:
            raise DomainError(f"unknown process {message.process!r}", code="unknown_process")
        event = message.event  # as the link codec decoded it: the payload is its `to_payload`
        if event is None:
            event = event_from_payload(message.type, message.payload, message.schema_version)
        command = Receive(actor=self._inbox_actor, event=event,
                          from_region=message.origin,
                          ref=EventRef(message.originator_id, message.originator_version))
        request = BatchedCommand(message.case_id, command, case_number=message.case_number,
                                 process=message.process)
        return self.stager.stage(uow, request, message=message, record_link=record_link)

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
        raise PersistentConflict("persistent version conflict while skipping a link position")

    def stage_skip(self, uow: UnitOfWork, origin: str, link_seq: int, ref: str) -> None:
        self.stager.stage_skip(uow, origin, link_seq, ref)
