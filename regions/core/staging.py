"""Decide and stage: one command or counterpart event through its side's protocol, into a unit
of work.

One code path for every writer of a side (API, back-end, inbox, timer, policies): load the side,
decide with its protocol, fold, run the automatic policies until quiet (`domain.settling.settle`,
the pure loop), apply the
register changes the events imply, assign link sequences to shared events, and stage it all in
the unit of work — the side's events, the register entries, the out-links, the in-link position
(for a counterpart event) and the command's stored outcome (for an idempotent command).

Why a refused decision leaves no trace: a decision first computes everything that can be refused
(the protocol's events, the register changes, the payloads: `_plan`) without touching the staged
aggregates; only then does it append to them (`_write`, `_write_registers`). An authentic
counterpart event the domain refuses is *recorded* as its refusal (`settling.receive` with the
refusal), so the link sequence stays whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.kernel import Command, Decider, DomainError, Event, Receive, to_payload
from domain.refusals import field_of
from domain.settling import receive, settle
from regions.core.caches import Caches
from regions.core.idempotency import Idempotency
from regions.core.messages import LinkMessage
from regions.core.outcome import Outcome
from regions.core.sides import BatchedCommand, ProtocolBinding, RegisterModel, SideView, resume
from regions.core.sides import side_id as side_id_of
from regions.core.store import EventStore, InLink, OutLink, Stream, load_stream, stable_id
from regions.core.unit_of_work import Effect, UnitOfWork


@dataclass
class _Plan:
    """Everything a decision will write, computed before anything staged is touched."""

    events: list[Event]
    payloads: list[Any]
    state: Any
    registers: list[tuple[UUID, Any, list[tuple[Event, Any]]]]
    register_states: dict[UUID, Any]


#: Where a side stands in a unit of work: its id, what the unit staged of it (stream and view),
#: and its view (as staged, else as last committed; None: no such side).
Place = tuple[UUID, tuple[Stream, SideView] | None, SideView | None]


class Stager:
    """Decides into units of work for one region's node."""

    def __init__(self, region: str, app: EventStore, protocols: Mapping[str, ProtocolBinding],
                 registers: RegisterModel, caches: Caches, idempotency: Idempotency) -> None:
        self.region = region
        self.app = app
        self.protocols = protocols
        self.registers = registers
        self.caches = caches
        self.idempotency = idempotency

    def view(self, uow: UnitOfWork, case_id: str) -> SideView | None:
        """The side as `uow` staged it, else as last committed."""
        return self.locate(uow, case_id)[2]

    def locate(self, uow: UnitOfWork, case_id: str) -> Place:
        """The side's id, what `uow` staged of it, and the side as staged, else as last
        committed (`RegionNode.stage` looks once and hands it on to `stage`)."""
        sid = side_id_of(case_id, self.region)
        staged = uow.sides.get(sid)
        return sid, staged, staged[1] if staged is not None else self.caches.side(case_id)

    def stage(self, uow: UnitOfWork, request: BatchedCommand, *,
              message: LinkMessage | None = None, record_link: bool = True,
              place: Place | None = None) -> Outcome:
        """Decide one command or counterpart event and stage what it writes into `uow`.

        `place` is `locate(uow, request.case_id)` when the caller has it; a request without a
        process is one to an existing side (`view`), whose case number and process it takes."""
        now = uow.now
        sid, staged, view = place if place is not None else self.locate(uow, request.case_id)
        process, case_number = request.process, request.case_number
        if not process:
            assert view is not None
            process, case_number = view.process, view.case_number
        binding = self.protocols[process]
        inlink: InLink | None = None
        if message is not None and record_link:
            inlink = self.inlink(uow, message.origin)
            if message.link_seq != inlink.last_seq + 1:
                raise ValueError(f"link {message.origin}->{self.region}: expected "
                                 f"{inlink.last_seq + 1}, got {message.link_seq}")
        state = view.state if view is not None else None
        try:
            events, decided = settle(binding.decider, state, request.command, now)
            plan = self._plan(binding, uow, decided, events, now)
        except DomainError as exc:
            if not isinstance(request.command, Receive):
                outcome = Outcome(False, request.case_id, error_code=exc.code, error=str(exc),
                                  status=binding.decider.status(state) if view else "",
                                  error_field=f"command.{field_of(exc)}")
                self.idempotency.record(uow, request, outcome, now)
                return outcome
            plan = self._plan_refusal(binding, uow, state, request.command, exc, now)
        outcome = Outcome(True, request.case_id, tuple([e.TYPE for e in plan.events]),
                          binding.decider.status(plan.state) if plan.state is not None else "")
        new_view = None
        if plan.state is not None:
            new_view = self._write(uow, (request.case_id, case_number, process), sid, staged,
                                   view, plan, now)
        register_events = self._write_registers(uow, plan, now)
        if inlink is not None and message is not None:
            inlink.record(message.link_seq, message.event_id, message.type, now)
        self.idempotency.record(uow, request, outcome, now)
        receipt = (message, outcome) if message is not None else None
        uow.effects.append(Effect(new_view, plan.events, register_events, receipt))
        return outcome

    def stage_skip(self, uow: UnitOfWork, origin: str, link_seq: int, ref: str) -> None:
        """Step the in-link from `origin` over `link_seq` (a quarantined message)."""
        self.inlink(uow, origin).record(link_seq, ref, "skipped", uow.now)

    # ----------------------------------------------------------------- planning

    def _plan_refusal(self, binding: ProtocolBinding, uow: UnitOfWork, state: Any,
                      command: Receive, error: DomainError, now: dt.datetime) -> _Plan:
        """The side's rules or a register refused the counterpart event: record the refusal
        (the link sequence stays whole) instead of dropping it."""
        refusal = receive(_Refusing(binding.decider, error), state, command, now)
        for event in refusal:
            state = binding.decider.evolve(state, event)
        return self._plan(binding, uow, state, refusal, now)

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
        cached = self.caches.register(rid)
        if cached is not None:
            version, state = cached
            uow.registers[rid] = resume(Stream, rid, version, uow.now, kind="register", entries=[],
                                        key={"person_key": effect.person_key,
                                             "scheme": effect.scheme, "region": self.region})
        else:
            stream = None if self.caches.absent(rid) else load_stream(self.app, rid)
            if stream is None:
                self.caches.no_register(rid)
                state = None
            else:
                uow.registers[rid] = stream
                state = self.caches.fold_register(stream)
        uow.register_states[rid] = state
        return state

    # ----------------------------------------------------------------- writing

    def _write(self, uow: UnitOfWork, case: tuple[str, str, str], sid: UUID,
               staged: tuple[Stream, SideView] | None, view: SideView | None, plan: _Plan,
               now: dt.datetime) -> SideView:
        case_id, case_number, process = case
        stream: Stream | None = staged[0] if staged is not None else None
        if stream is None and view is not None:
            stream = resume(Stream, sid, view.version, now, kind="side", entries=[], key={
                "case_id": view.case_id, "case_number": view.case_number,
                "process": view.process, "region": self.region})
        for event, payload in zip(plan.events, plan.payloads, strict=True):
            if stream is None:
                stream = Stream.open(sid, "side", {"case_id": case_id, "case_number": case_number,
                                                   "process": process, "region": self.region},
                                     event.TYPE, event.SCHEMA_VERSION, payload, now,
                                     decoded=event)
            else:
                stream.record(event.TYPE, event.SCHEMA_VERSION, payload, now, decoded=event)
            if event.to_region:
                self.outlink(uow, event.to_region).send(link_record(
                    self.region, event.to_region, case_id, case_number, process, str(sid),
                    stream.version, event.TYPE, event.SCHEMA_VERSION, payload, event.at), now)
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

    def outlink(self, uow: UnitOfWork, destination: str) -> OutLink:
        link = uow.outlinks.get(destination)
        if link is None:
            link_id = OutLink.id_for(self.region, destination)
            version = self.caches.link_version(link_id)
            link = (OutLink.start(self.region, destination, uow.now) if version is None else
                    resume(OutLink, link_id, version, uow.now, origin=self.region,
                           destination=destination))
            uow.outlinks[destination] = link
        return link

    def inlink(self, uow: UnitOfWork, origin: str) -> InLink:
        link = uow.inlinks.get(origin)
        if link is None:
            link_id = InLink.id_for(origin, self.region)
            version = self.caches.link_version(link_id)
            link = (InLink.start(origin, self.region, uow.now) if version is None else
                    resume(InLink, link_id, version, uow.now, origin=origin,
                           destination=self.region))
            uow.inlinks[origin] = link
        return link


class _Refusing:
    """A decider stand-in whose `decide` raises the refusal already found (for `settling.receive`)."""

    def __init__(self, decider: Decider[Any], error: DomainError) -> None:
        self._decider = decider
        self._error = error

    def decide(self, state: Any, command: Command, now: dt.datetime) -> list[Event]:
        raise self._error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._decider, name)


def link_record(origin: str, destination: str, case_id: str, case_number: str, process: str,
                originator_id: str, originator_version: int, type_: str, schema_version: int,
                payload: Any, at: dt.datetime) -> dict[str, Any]:
    """`LinkMessage(...).to_record()` of a shared event, the same dict in the same key order
    (the stored bytes), without building the frozen `LinkMessage` first (its fourteen fields,
    each set through `object.__setattr__`): the record is all the out-link keeps
    (`tests/unit/test_staging_link_record.py` holds the two equal)."""
    return {"origin": origin, "destination": destination, "case_id": case_id,
            "case_number": case_number, "process": process, "originator_id": originator_id,
            "originator_version": originator_version, "type": type_,
            "schema_version": schema_version, "payload": payload, "at": at.isoformat(),
            "traceparent": ""}
