"""A neutral record for readers: one event on one region's side of a case, at its position.

Why here and not in `regions/`: projections (and back-ends, and anything else that reads a
region's history) must not import the node (`tests/unit/test_architecture.py` forbids it), yet
they need the same facts the node's feed hands out. The node's side-event tailer produces
exactly this record (`regions.core.side_events`), the feed's wire form decodes back to it
(`regions.wire.feed`), so a projection consumes what a back-end consumes, in or out of process.

The payload is kept as stored (JSON-ready data, written by `schema_version`); `event()` decodes it
through the kernel, upcasting an older schema, so a reader never depends on how it was stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any

from domain.kernel import Event, event_from_payload


@dataclass(frozen=True)
class SideEvent:
    """One event of one side of a case, where it sits in its region's log."""

    #: The region's notification id: strictly increasing in commit order (not contiguous).
    position: int
    region: str
    case_id: str
    case_number: str
    process: str
    #: The side's stream id, uuid5(case id, region): one writer, this region.
    side_id: str
    #: The event's version in the side (1 = the side's first event), contiguous.
    version: int
    type: str
    schema_version: int
    payload: dict[str, Any]
    #: When the transaction that recorded it committed (the unit of work's `now`, the same for
    #: every record of one commit); None where unknown (decoded from the feed). The feed sends a
    #: commit's events of one process as one message by it. Not compared: a stored fact of the
    #: record's commit, not of the event.
    committed: dt.datetime | None = field(default=None, compare=False, repr=False)

    @property
    def event_id(self) -> str:
        """The event's identity, the same the links and the feed use: `<side id>:<version>`."""
        return f"{self.side_id}:{self.version}"

    def event(self) -> Event:
        """The domain event; `DomainError` when this code does not know its type or schema.

        Decoded once per record: the node hands its readers the event it saved along with the
        record (`with_event`), and a record decoded here keeps what it decoded. Why: the views
        folded every side event from its payload again, 15 % of the views' thread at burst
        (docs/performance.md), while the node had just built that very event."""
        known: Event | None = self.__dict__.get("_event")
        if known is None:
            known = event_from_payload(self.type, self.payload, self.schema_version)
            object.__setattr__(self, "_event", known)
        return known

    def fresh(self) -> SideEvent:
        """A copy of this record's stored facts alone, without the event decoded or handed
        with it (`with_event`): its `event()` decodes the payload afresh. For a check that the
        payload reads back as the event (the simulator's replay): the copy is equal to this
        record, only its memo is left behind. Copied field by field rather than through
        `dataclasses.replace` (which runs the frozen `__init__`, a guarded set per field): the
        replay copies every record of the run (a twelfth of the replay's time)."""
        copy = object.__new__(SideEvent)
        facts = copy.__dict__
        facts.update(self.__dict__)
        facts.pop("_event", None)
        return copy

    def with_event(self, event: Event | None) -> SideEvent:
        """This record, carrying `event`: the domain event its payload was written from (its
        `to_payload` is this payload, at this schema version). Not a field: equality, `asdict`
        and every wire form are the record's stored facts alone."""
        if event is not None:
            object.__setattr__(self, "_event", event)
        return self


#: `SideEvent`'s fields in its `__init__`'s order (`built` fills them all, in that order).
_FIELDS = tuple(f.name for f in fields(SideEvent))
_new = object.__new__


def built(position: int, region: str, case_id: str, case_number: str, process: str,
          side_id: str, version: int, type_: str, schema_version: int,
          payload: dict[str, Any], committed: dt.datetime | None) -> SideEvent:
    """`SideEvent(...)` of these values, without the frozen `__init__` (a guarded
    `object.__setattr__` per field: two thirds of building one): the same fields in the same
    order, as `fresh` copies one. For the node's side-event tailer, which makes one per side
    event the region records (`regions.core.side_events`)."""
    item = _new(SideEvent)
    item.__dict__.update(position=position, region=region, case_id=case_id,
                         case_number=case_number, process=process, side_id=side_id,
                         version=version, type=type_, schema_version=schema_version,
                         payload=payload, committed=committed)
    return item


if tuple(built(0, "", "", "", "", "", 0, "", 0, {}, None).__dict__) != _FIELDS:
    raise TypeError(f"SideEvent's fields are {_FIELDS}: update `built`")
