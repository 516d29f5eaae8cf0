"""Deferred cursor saves (issue 17): the relay's and the feed's durable positions may lag what
they handed on, because their receivers drop repeats. Saved at most every interval or number of
items, a crash between publishing and the save re-sends at most that window (plus a batch), the
receiver takes each message once, and a restart resumes from the saved position."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from domain.kernel import Actor
from domain.protocols import spec_of
from projections.records import SideEvent
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.inbox import Incoming
from regions.core.messages import LinkMessage, WireItem
from regions.core.side_events import SideEventTailer
from regions.core.store import EventStore
from regions.runtime.bootstrap import Region, build_region
from regions.wire import link
from tests.unit import toy_protocol as toy
from tests.unit.test_tailer import open_sides

A, B = "150600", "610800"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
STAFF = Actor("staff", "s1", A, "clerk")
HALF = dt.timedelta(seconds=0.5)
MS = dt.timedelta(milliseconds=1)


@pytest.fixture
def app() -> EventStore:
    return MemoryStore().open(A)


def test_a_deferred_tailer_saves_when_its_interval_has_passed_not_per_batch(
        app: EventStore) -> None:
    open_sides(app, 4)
    feed = SideEventTailer(A, app, batch_size=1)
    feed.defer_saves(HALF, 1000)
    for n in range(3):
        assert feed.pump(lambda items: None, T0 + n * 100 * MS) == 1
    assert feed.cursor.load() == 0 and feed.stats["saves"] == 0 and feed.unsaved() == 3
    assert feed.position == 3  # read on in memory
    assert not feed.save_due(T0 + HALF - MS) and feed.save_due(T0 + HALF)
    feed.pump(lambda items: None, T0 + HALF)  # the oldest unsaved batch is half a second old
    assert feed.cursor.load() == 4 and feed.stats["saves"] == 1 and feed.unsaved() == 0
    assert not feed.save_due(T0 + HALF * 10)  # nothing unsaved: nothing to save, ever


def test_a_deferred_tailer_saves_when_enough_items_wait(app: EventStore) -> None:
    open_sides(app, 5)
    feed = SideEventTailer(A, app, batch_size=2)
    feed.defer_saves(dt.timedelta(hours=1), 3)
    feed.pump(lambda items: None, T0)
    assert feed.cursor.load() == 0 and feed.unsaved() == 2
    feed.pump(lambda items: None, T0)
    assert feed.cursor.load() == 4 and feed.unsaved() == 0
    feed.pump(lambda items: None, T0)
    assert feed.cursor.load() == 4 and feed.unsaved() == 1
    feed.flush(T0)  # a clean stop
    assert feed.cursor.load() == 5 and feed.unsaved() == 0


def test_a_deferred_save_that_fails_stays_unsaved_and_is_saved_at_the_next_try(
        app: EventStore) -> None:
    open_sides(app, 2)
    feed = SideEventTailer(A, app, batch_size=1)
    feed.defer_saves(HALF, 1000)
    feed.pump(lambda items: None, T0)
    saves = app.save

    def broken(*aggregates: object) -> None:
        raise ConnectionError("database gone")

    app.save = broken  # type: ignore[method-assign,assignment]
    with pytest.raises(ConnectionError):
        feed.pump(lambda items: None, T0 + HALF)  # passed, then the due save fails
    app.save = saves  # type: ignore[method-assign]
    assert feed.position == 2 and feed.unsaved() == 2  # nothing read twice in this process
    feed.flush(T0 + HALF)
    assert feed.cursor.load() == 2 and feed.unsaved() == 0


def test_a_restarted_feed_hands_on_again_only_what_was_passed_since_the_last_save(
        app: EventStore) -> None:
    open_sides(app, 6)
    feed = SideEventTailer(A, app, batch_size=1)
    feed.defer_saves(dt.timedelta(hours=1), 4)
    taken: list[SideEvent] = []
    for _ in range(6):
        feed.pump(taken.extend, T0)
    assert feed.cursor.load() == 4 and feed.unsaved() == 2
    again = SideEventTailer(A, app)  # a crash: a new process on the same store
    repeated: list[SideEvent] = []
    while again.pump(repeated.extend, T0):
        pass
    assert repeated == taken[4:]


def make(code: str, peer: str, store: MemoryStore) -> Region:
    return build_region(RegionConfig(region=code, peers=(peer,), gap_bound_seconds=10),
                        clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store,
                        protocols={"toy": spec_of("toy", toy)})


def deliver(region: Region, items: list[WireItem], now: dt.datetime) -> tuple[int, int]:
    """The items into `region`'s inbox: (applied, duplicates)."""
    incoming = []
    for item in items:
        out = link.encode(item)
        incoming.append(Incoming(out.subject, out.data, out.headers, token=item,
                                 subject_origin=out.subject.split(".")[-1]))
    result = region.inbox.handle(incoming, now)
    return result.applied, result.duplicates


def test_a_crash_between_publish_and_a_deferred_save_resends_the_window_taken_once() -> None:
    """The origin's relay publishes batch after batch and saves its cursor every 3 messages;
    it dies after publishing with 2 unsaved. Restarted, it resumes from the saved position and
    re-sends exactly those 2 (the bound: fewer than the window's items plus one batch); the
    destination takes each message once, and every message reached it."""
    store = MemoryStore()
    a, b = make(A, B, store), make(B, A, store)
    a.relay.defer_saves(dt.timedelta(hours=1), 3)
    now = T0
    sent: list[LinkMessage] = []
    for n in range(5):
        case_id = toy.new_case(A)
        outcome = a.node.submit(case_id, toy.number_of(case_id), "toy",
                                toy.Ping(actor=STAFF, case_id=case_id, n=n + 1, to=B, home=A), now)
        assert outcome.ok, outcome
        batch = a.relay.step(now)
        assert batch is not None
        applied, duplicates = deliver(b, batch.items, now)  # published
        assert (applied, duplicates) == (1, 0)
        sent += [i for i in batch.items if isinstance(i, LinkMessage)]
        a.relay.advance(batch, now)
    saved = a.relay.cursor.load()
    assert a.relay.unsaved() == 2 and 0 < saved < a.relay.position
    assert [m.link_seq for m in sent] == [1, 2, 3, 4, 5]

    a.restart()  # a crash: memory gone, the store kept
    assert a.relay.position == saved  # resumes from the saved position
    again: list[WireItem] = []
    while (batch := a.relay.step(now)) is not None:
        again += batch.items
        a.relay.advance(batch, now)
    repeated = [i for i in again if isinstance(i, LinkMessage)]
    assert [m.link_seq for m in repeated] == [4, 5]  # the unsaved window, no more
    assert deliver(b, again, now) == (0, 2)  # each taken once: the repeats are dropped
    assert b.node.inlink_position(A) == 5
    assert a.relay.high_water_marks() == {B: 5}


def test_a_relay_saves_the_marks_as_of_its_position_not_of_a_batch_read_after_it() -> None:
    """The driver reads the next batch while the last one's acks come back: the marks saved
    with the last one's position must not claim the next one's messages were published."""
    store = MemoryStore()
    a = make(A, B, store)
    now = T0
    first = None
    for n in range(2):
        case_id = toy.new_case(A)
        assert a.node.submit(case_id, toy.number_of(case_id), "toy",
                             toy.Ping(actor=STAFF, case_id=case_id, n=n + 1, to=B, home=A),
                             now).ok
        first = first or a.relay.step(now)
    assert first is not None
    ahead = a.relay.step(now, after=first.position)  # read while `first` is being published
    assert ahead is not None and [m.link_seq for m in ahead.items] == [2]
    a.relay.advance(first, now)
    a.restart()
    assert a.relay.high_water_marks() == {B: 1} and a.relay.position == first.position


def test_a_batch_read_ahead_leaves_out_a_link_that_fell_behind_meanwhile() -> None:
    """Per-link order: publishing `first` to B failed, so B is caught up from the store, and
    the batch read during that publish hands nothing on to B."""
    store = MemoryStore()
    a = make(A, B, store)
    now = T0
    first = None
    for n in range(2):
        case_id = toy.new_case(A)
        assert a.node.submit(case_id, toy.number_of(case_id), "toy",
                             toy.Ping(actor=STAFF, case_id=case_id, n=n + 1, to=B, home=A),
                             now).ok
        first = first or a.relay.step(now)
    assert first is not None
    ahead = a.relay.step(now, after=first.position)
    assert ahead is not None and len(ahead.items) == 1
    a.relay.fell_behind(B, 1)
    assert a.relay.still_to_hand_on(ahead).items == []
    assert [m.link_seq for m in messages(a.relay.catch_up(B, now))] == [1, 2]


def messages(items: list[WireItem]) -> list[LinkMessage]:
    return [i for i in items if isinstance(i, LinkMessage)]
