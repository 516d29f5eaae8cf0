"""Stores written before `regions/` was layered still open: every persisted class keeps its old
topic (`module:QualName`, which eventsourcing stores with each event and, for the aggregate
class, in its first event)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.utils import get_topic, resolve_topic

from regions.core import store
from regions.core.store import CursorRecord, EventStore, Stream

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
#: Every topic the event store wrote before the move (collected from the code as it was).
FORMER_TOPICS = [
    "regions.ledger:Stream", "regions.ledger:Stream.Opened", "regions.ledger:Stream.Recorded",
    "regions.ledger:OutLink", "regions.ledger:OutLink.Started", "regions.ledger:OutLink.Sent",
    "regions.ledger:InLink", "regions.ledger:InLink.Started", "regions.ledger:InLink.Recorded",
    "regions.ledger:CommandRecord", "regions.ledger:CommandRecord.Done",
    "regions.ledger:Quarantined", "regions.ledger:Quarantined.Parked",
    "regions.ledger:Quarantined.Replayed", "regions.ledger:Quarantined.Discarded",
    "regions.ledger:RelayCursor", "regions.ledger:RelayCursor.Started",
    "regions.ledger:RelayCursor.Advanced",
    "regions.feed:FeedCursor", "regions.feed:FeedCursor.Started",
    "regions.feed:FeedCursor.Advanced",
]
#: The one-per-tailer cursor record replaced the relay's and the feed's cursor classes.
RENAMED = {"RelayCursor": "CursorRecord", "FeedCursor": "CursorRecord"}


@pytest.mark.parametrize("topic", FORMER_TOPICS)
def test_a_former_topic_resolves_to_the_class_that_now_holds_it(topic: str) -> None:
    aggregate, _, event = topic.partition(":")[2].partition(".")
    qualname = RENAMED.get(aggregate, aggregate) + (f".{event}" if event else "")
    cls = resolve_topic(topic)
    assert cls.__qualname__ == qualname
    assert get_topic(cls) == f"{store.__name__}:{qualname}"


def as_written_before(record: StoredEvent, cursor_name: str) -> StoredEvent:
    """The record as the code before the move wrote it: old names in every topic it holds."""
    def old(text: str) -> str:
        former = {"RelayCursor": "regions.ledger", "FeedCursor": "regions.feed"}
        text = text.replace(f"{store.__name__}:CursorRecord",
                            f"{former[cursor_name]}:{cursor_name}")
        return text.replace(f"{store.__name__}:", "regions.ledger:")

    return dataclasses.replace(record, topic=old(record.topic),
                               state=old(record.state.decode()).encode())


def test_records_written_under_the_former_topics_still_decode() -> None:
    before = EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    side = Stream.open(uuid4(), "side", {"case_id": "c"}, "ApplicationSubmitted", 1, {"n": 1}, T0)
    side.record("IntakeAccepted", 1, {"n": 2}, T0)
    relay = CursorRecord.start(CursorRecord.id_for("relay", "150600"), "150600", T0)
    feed = CursorRecord.start(CursorRecord.id_for("feed", "150600"), "150600", T0)
    relay.advance(7, T0)
    feed.advance(9, T0)
    before.save(side, relay, feed)
    written = [as_written_before(r, "FeedCursor" if r.originator_id == feed.id else "RelayCursor")
               for r in before.recorder.select_notifications(start=1, limit=100)]
    assert {r.topic.partition(":")[0] for r in written} == {"regions.ledger", "regions.feed"}
    recorder = POPOApplicationRecorder()
    recorder.insert_events([StoredEvent(r.originator_id, r.originator_version, r.topic, r.state)
                            for r in written])
    after = EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, recorder=recorder)
    reopened: Stream = after.repository.get(side.id)
    assert reopened.entries == side.entries and reopened.key == {"case_id": "c"}
    assert after.repository.get(relay.id).position == 7
    assert after.repository.get(feed.id).position == 9
