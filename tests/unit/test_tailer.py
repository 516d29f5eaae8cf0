"""One tailer for every reader of the region's log: the cursor moves only after the sink took the
batch, a restart resumes from the durable cursor, and the cursor is pluggable (an event-store
record for the relay and the feed, a tracking row for a projection)."""

from __future__ import annotations

import datetime as dt
from uuid import uuid4

import pytest
from eventsourcing.popo import POPOTrackingRecorder

from projections.records import SideEvent
from regions.adapters.stores.memory import MemoryStore
from regions.core.side_events import SideEventTailer, side_reads_of
from regions.core.store import CursorRecord, EventStore, Stream
from regions.core.tailer import STORE_CHECK, MemoryCursor, RecordCursor, TrackingCursor

REGION = "150600"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def open_sides(app: EventStore, count: int) -> list[Stream]:
    sides = []
    for n in range(count):
        side = Stream.open(uuid4(), "side", {"case_id": f"c{n}", "case_number": f"n{n}",
                                             "process": "toy", "region": REGION},
                           "Pinged", 1, {"n": n}, T0)
        sides.append(side)
    app.save(*sides)
    return sides


@pytest.fixture
def app() -> EventStore:
    return MemoryStore().open(REGION)


def test_a_batch_the_sink_refused_is_read_again_and_the_cursor_stays(app: EventStore) -> None:
    open_sides(app, 3)
    tailer = SideEventTailer(REGION, app)

    def refuse(items: list[SideEvent]) -> None:
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        tailer.pump(refuse, T0)
    assert tailer.position == 0 and tailer.cursor.load() == 0
    taken: list[SideEvent] = []
    assert tailer.pump(taken.extend, T0) == 3
    assert [e.payload["n"] for e in taken] == [0, 1, 2]
    assert tailer.cursor.load() == taken[-1].position
    assert tailer.pump(taken.extend, T0) is None  # nothing new


def test_a_restarted_tailer_resumes_after_what_its_cursor_recorded(app: EventStore) -> None:
    open_sides(app, 2)
    first = SideEventTailer(REGION, app, batch_size=1)
    first.pump(lambda items: None, T0)
    later = open_sides(app, 1)
    again = SideEventTailer(REGION, app)  # a new process on the same store
    taken: list[SideEvent] = []
    again.pump(taken.extend, T0)
    assert [e.case_id for e in taken] == ["c1", "c0"]  # the second of the first two, then later
    assert taken[-1].side_id == str(later[0].id)


def test_a_failed_cursor_save_drops_the_cursor_copy_and_keeps_the_position(
        app: EventStore) -> None:
    open_sides(app, 1)
    tailer = SideEventTailer(REGION, app)
    batch = tailer.step(T0)
    assert batch is not None
    saves = app.save

    def broken(*aggregates: object) -> None:
        raise ConnectionError("database gone")

    app.save = broken  # type: ignore[method-assign,assignment]
    with pytest.raises(ConnectionError):
        tailer.advance(batch, T0)
    app.save = saves  # type: ignore[method-assign]
    assert tailer.position == 0
    assert isinstance(tailer.cursor, RecordCursor) and tailer.cursor._record is None
    tailer.advance(batch, T0)
    assert tailer.cursor.load() == batch.position


def test_a_projection_keeps_its_position_as_a_tracking_row_written_with_its_rows(
        app: EventStore) -> None:
    view = POPOTrackingRecorder()
    cursor = TrackingCursor(view, "case_counts")
    tailer = SideEventTailer(REGION, app, cursor=cursor)
    rows: dict[str, int] = {}

    def project(items: list[SideEvent]) -> None:  # rows and position in one "transaction"
        for item in items:
            rows[item.case_id] = rows.get(item.case_id, 0) + 1
        if items:
            view.insert_tracking(cursor.tracking(items[-1].position))

    open_sides(app, 2)
    tailer.pump(project, T0)
    assert rows == {"c0": 1, "c1": 1}
    first = view.max_tracking_id("case_counts")
    assert first == tailer.position  # written by the sink; the cursor's save added nothing
    other = Stream.open(uuid4(), "register", {"person_key": "k", "scheme": "s"}, "Held", 1, {}, T0)
    app.save(other)  # read, but no side event: nothing for the sink, tracked by the cursor
    assert tailer.pump(project, T0) == 0
    assert view.max_tracking_id("case_counts") == tailer.position > first
    resumed = SideEventTailer(REGION, app, cursor=TrackingCursor(view, "case_counts"))
    assert resumed.position == tailer.position


def test_the_tailers_of_one_store_decode_each_record_once_and_read_the_same_events(
        app: EventStore) -> None:
    sides = open_sides(app, 3)
    sides[0].record("Ponged", 1, {"n": 10}, T0)
    app.save(sides[0])
    app.recent.clear()  # records this process did not just write: read from the store
    decoded: list[int] = []
    to_domain_event = app.mapper.to_domain_event

    def counted(record: object) -> object:
        decoded.append(getattr(record, "id", 0))
        return to_domain_event(record)  # type: ignore[arg-type]

    app.mapper.to_domain_event = counted  # type: ignore[method-assign,assignment]
    feed = SideEventTailer(REGION, app)
    views = SideEventTailer(REGION, app, batch_size=2, cursor=MemoryCursor())
    seen_by_feed: list[SideEvent] = []
    seen_by_views: list[SideEvent] = []
    feed.pump(seen_by_feed.extend, T0)
    while views.pump(seen_by_views.extend, T0):
        pass
    assert seen_by_views == seen_by_feed and len(seen_by_feed) == 4
    assert sorted(decoded) == [1, 2, 3, 4]


def test_tailers_take_this_process_s_latest_commits_without_reading_or_decoding_the_store(
        app: EventStore) -> None:
    """The relay, feed, notices and views each read every commit: records the process has just
    saved come from its window (regions.core.recent_log) — no query, no decoding — and what
    they read is what the store would have given."""
    open_sides(app, 2)
    reads: list[object] = []
    select, to_domain_event = app.recorder.select_notifications, app.mapper.to_domain_event

    def counted_select(*args: object, **kwargs: object) -> object:
        found = select(*args, **kwargs)  # type: ignore[arg-type]
        reads.append(len(found))
        return found

    def counted_decode(record: object) -> object:
        reads.append("decoded")
        return to_domain_event(record)  # type: ignore[arg-type]

    app.recorder.select_notifications = counted_select  # type: ignore[method-assign,assignment]
    app.mapper.to_domain_event = counted_decode  # type: ignore[method-assign,assignment]
    feed = SideEventTailer(REGION, app, cursor=MemoryCursor())
    views = SideEventTailer(REGION, app, batch_size=1, cursor=MemoryCursor())
    fed: list[SideEvent] = []
    viewed: list[SideEvent] = []
    assert feed.pump(fed.extend, T0) == 2
    while views.pump(viewed.extend, T0):
        pass
    assert [r for r in reads if r != 0] == []  # only "anything after?" queries, all empty
    assert fed == viewed and [e.payload["n"] for e in fed] == [0, 1]
    app.recent.clear()
    side_reads_of(app).items.clear()  # and the tailers' shared memo: a process started afresh
    from_store = SideEventTailer(REGION, app, cursor=MemoryCursor())
    again: list[SideEvent] = []
    from_store.pump(again.extend, T0)
    assert again == fed  # the same records, read and decoded from the store this time
    assert reads.count("decoded") == 2


def test_a_record_another_process_wrote_is_read_from_the_store(app: EventStore) -> None:
    """The window vouches only for a run of ids this process wrote: a record written by
    another writer of the same store (an operator's tool) breaks the run and is read from the
    store, in its place in the log."""
    feed = SideEventTailer(REGION, app, cursor=MemoryCursor())
    taken: list[SideEvent] = []
    open_sides(app, 1)
    other = EventStore(recorder=app.recorder)  # another writer of the same log
    open_sides(other, 1)
    open_sides(app, 1)
    while feed.pump(taken.extend, T0):
        pass
    assert [e.payload["n"] for e in taken] == [0, 0, 0]
    assert [e.position for e in taken] == [1, 2, 3]


def test_a_tailer_that_read_everything_its_process_wrote_asks_the_store_only_now_and_then(
        app: EventStore) -> None:
    """After a batch, and at every wake-up by a commit that held nothing for it, a tailer asked
    the store whether anything was new: a round trip each on the database thread. Inside the
    window it trusts that nothing else was committed for STORE_CHECK; a record another process
    wrote meanwhile is read when that has passed."""
    open_sides(app, 1)
    feed = SideEventTailer(REGION, app, cursor=MemoryCursor())
    feed.trust = STORE_CHECK  # as the node's driver sets it (its clock is the wall clock)
    asked: list[int] = []
    select = app.recorder.select_notifications

    def counted(*args: object, **kwargs: object) -> object:
        asked.append(1)
        return select(*args, **kwargs)  # type: ignore[arg-type]

    app.recorder.select_notifications = counted  # type: ignore[method-assign,assignment]
    taken: list[SideEvent] = []
    assert feed.pump(taken.extend, T0) == 1  # from the window
    assert feed.pump(taken.extend, T0) is None and len(asked) == 1  # the store, once
    app.save(CursorRecord.start(CursorRecord.id_for("relay", REGION), REGION, T0))
    later = T0 + STORE_CHECK / 2  # a commit with nothing for the feed woke it
    assert feed.step(later) is None and feed.step(later) is None
    assert len(asked) == 1  # neither after its batch nor at the wake-ups
    other = EventStore(recorder=app.recorder)  # another writer of the same log
    open_sides(other, 1)
    assert feed.step(later) is None  # not yet: the window vouches for this process only
    assert feed.pump(taken.extend, T0 + STORE_CHECK * 2) == 1
    assert [e.payload["n"] for e in taken] == [0, 0] and len(asked) == 2


def test_a_reader_stepping_at_a_fixed_instant_always_asks_the_store(app: EventStore) -> None:
    """Trust needs a clock that moves: a reader that steps at one instant (the simulator's
    projection checks, a command-line catch-up) holding a store another writer also writes
    reads every record at once."""
    open_sides(app, 1)
    reader = SideEventTailer(REGION, app, cursor=MemoryCursor())
    taken: list[SideEvent] = []
    assert reader.pump(taken.extend, T0) == 1 and reader.pump(taken.extend, T0) is None
    restarted = EventStore(recorder=app.recorder)  # the region's store after a restart
    open_sides(restarted, 1)
    assert reader.pump(taken.extend, T0) == 1
