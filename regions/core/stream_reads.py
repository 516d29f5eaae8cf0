"""Reading decider streams back from the store, faster than the library's repository.

Kept apart from `regions.core.store` (the aggregates themselves) because it is how they are
read, not what they are; `store` re-exports both functions, so importers name them from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import Application

if TYPE_CHECKING:
    from regions.core.store import Stream


def load_stream(app: Application[UUID], id_: UUID) -> Stream | None:
    """A stream read from its stored events, or None when it has none.

    What `app.repository.get` does, minus its projector: eventsourcing 9.5 asserts
    `isinstance(event, CanMutateProtocol)` for every event, a runtime-protocol check that walks
    the protocol's attributes on every call in Python 3.11 and cost more than the rest of the
    read (a third of the simulator's time after a crash: docs/performance.md). Each event still
    mutates the stream through the library's own `mutate` (its version checks included).
    """
    stream: Any = None
    for event in app.events.get(id_):
        stream = event.mutate(stream)  # type: ignore[attr-defined]
    return stream


def load_streams(app: Application[UUID], ids: Sequence[UUID]) -> dict[UUID, Stream]:
    """The streams of `ids` that exist, read together: in one query where the recorder can
    (`select_events_of`: PostgreSQL), else one by one."""
    select_many = getattr(app.recorder, "select_events_of", None)
    if select_many is None:
        found = {id_: load_stream(app, id_) for id_ in ids}
        return {id_: stream for id_, stream in found.items() if stream is not None}
    streams: dict[UUID, Any] = {}
    for stored in select_many(ids):
        event = app.mapper.to_domain_event(stored)
        streams[event.originator_id] = event.mutate(  # type: ignore[attr-defined]
            streams.get(event.originator_id))
    return streams
