"""The case query: a back-end asks a region what it knows of one case (issue 18, finding 7).

Before it, a back-end learnt a case's state only from command replies and the feed, so one that
lost its own records (or joined late) could not ask. The answer is the case view the pages and
the JSON API read (`projections.cases.apply`), folded here from the side's stored events, so it
is what the region has committed, whichever read models the node runs:

- **this side**: process, role, status (`Outcome.status`'s values), whether it is over or needs
  a person, its version (the last `originatorversion` of the side on the feed), the amounts;
- **each counterpart, as known here**: the last event received from it, when, and the version of
  the counterpart's side it came from — what this region knows, not the other region's present;
- **pending deadlines**: each running step with its due instant and legal basis, and the steps
  already overdue.

Sans-IO: `case_state` reads the node's store on the caller's thread (the database thread).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domain.kernel import Receipt
from projections.cases import CaseView, apply
from projections.records import SideEvent
from regions.core.node import RegionNode
from regions.core.sides import side_id
from regions.core.store import load_stream


@dataclass(frozen=True)
class CounterpartState:
    """What this region knows of one counterpart's side: its last event received here."""

    region: str
    last_received: str = ""
    received_at: dt.datetime | None = None
    version: int = 0


@dataclass(frozen=True)
class PendingDeadline:
    """A running step's time limit (`DeadlineSet`), until it is met, paused or the case ends."""

    step: str
    due_at: dt.datetime
    basis: str
    provisional: bool


@dataclass(frozen=True)
class CaseState:
    """One region's answer to a case query (see the module docstring)."""

    case_id: str
    case_number: str
    process: str
    region: str
    role: str
    status: str
    terminal: bool
    needs_attention: bool
    version: int
    item_id: str
    mode: str
    counterparts: tuple[CounterpartState, ...]
    deadlines: tuple[PendingDeadline, ...]
    overdue: tuple[str, ...]
    amount_stated_fen: int
    amount_sent_fen: int
    amount_received_fen: int
    amount_credited_fen: int
    opened_at: dt.datetime | None
    finished_at: dt.datetime | None


def case_state(node: RegionNode, case_id: str) -> CaseState | None:
    """This region's state of the case, or None when it holds no side of it."""
    side = side_id(case_id, node.region)
    stream = load_stream(node.app, side)
    binding = None if stream is None else node.protocols.get(stream.key.get("process", ""))
    if stream is None or binding is None or stream.kind != "side":
        return None
    key = stream.key
    view: CaseView | None = None
    known: dict[str, CounterpartState] = {}
    for version, (type_, schema_version, payload) in enumerate(stream.entries, start=1):
        record = SideEvent(position=0, region=node.region, case_id=key["case_id"],
                           case_number=key["case_number"], process=key["process"],
                           side_id=str(side), version=version, type=type_,
                           schema_version=schema_version, payload=payload)
        view = apply(view, record, binding.decider)
        event = record.event()
        if isinstance(event, Receipt):
            known[event.from_region] = CounterpartState(event.from_region, type_, event.at,
                                                        event.ref.version)
    assert view is not None
    return CaseState(
        case_id=view.case_id, case_number=view.case_number, process=view.process,
        region=view.region, role=view.role, status=view.status, terminal=view.terminal,
        needs_attention=view.needs_attention, version=len(stream.entries), item_id=view.item_id,
        mode=view.mode,
        counterparts=tuple(known.get(peer, CounterpartState(peer)) for peer in view.peers),
        deadlines=tuple(PendingDeadline(d.step, d.due_at, d.basis, d.provisional)
                        for d in view.deadlines),
        overdue=view.overdue, amount_stated_fen=view.amount_stated,
        amount_sent_fen=view.amount_sent, amount_received_fen=view.amount_received,
        amount_credited_fen=view.amount_credited, opened_at=view.opened_at,
        finished_at=view.finished_at)
