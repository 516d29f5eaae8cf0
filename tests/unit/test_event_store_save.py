"""`EventStore.save` records what the library's `Application.save` records for the same objects,
in the same order: it only recognises an aggregate by its class instead of by two runtime
Protocol checks (regions.core.store)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from eventsourcing.application import Application

from regions.core.store import CursorRecord, EventStore, OutLink, Stream

AT = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC)


def objects() -> list[Any]:
    side = Stream.open(uuid.UUID(int=1), "side", {"case_id": "c"}, "Opened", 1, {"a": 1}, AT)
    side.record("Noted", 1, {"b": 2}, AT)
    link = OutLink.start("150600", "610800", AT)
    link.send({"m": 1}, AT)
    cursor = CursorRecord.start(uuid.UUID(int=2), "150600", AT)
    cursor.advance(7, AT)
    loose = cursor.pending_events.pop()  # a bare domain event, saved as one
    return [side, loose, None, link, cursor]


def recorded(app: Application[Any]) -> list[tuple[Any, ...]]:
    return [(n.originator_id, n.originator_version, n.topic, n.state)
            for n in app.recorder.select_notifications(start=1, limit=100)]


def test_an_event_store_records_what_the_library_records_for_the_same_objects() -> None:
    ours, library = EventStore(), Application[Any]()
    made = objects()
    ours.save(*made)
    library.save(*objects())
    assert recorded(ours) == recorded(library)
    assert [r[1] for r in recorded(ours)] == [1, 2, 2, 1, 2, 1]
    assert all(not getattr(o, "pending_events", ()) for o in made)
