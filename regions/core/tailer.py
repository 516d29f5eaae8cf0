"""One tailer: read the region's notification log from a durable cursor, hand each batch to a
sink, and move the cursor only after the sink took the batch (sans-IO).

Why one: the outbox relay (`regions.core.relay`), the back-end feed (`regions.core.side_events`)
and every projection do the same three things — read committed records in commit order from
where they left off, hand them on, remember how far they got — and differ only in which records
they read, what they turn them into (`read`), where the items go (the sink, which the driver
supplies) and where the position is kept (the cursor). A crash between sink and cursor hands
the same items on again; sinks are idempotent for that (receivers recognise a link sequence, a
feed position, a projection's tracking id).

Cursors (`Cursor`) are pluggable:
- `RecordCursor` keeps the position as a `CursorRecord` aggregate in the region's event store
  (the relay's and the feed's: the sink publishes to the broker, so position and effect cannot
  share a transaction);
- `TrackingCursor` keeps it as eventsourcing's tracking row of a `TrackingRecorder`: a
  projection whose sink writes its rows *and* `cursor.tracking(position)` in one transaction
  moves its position atomically with its effect (reference/eventsourcing.md §3–4), and `save`
  then only covers a batch that wrote nothing.
- `MemoryCursor` keeps it in memory, for read models rebuilt from the log at start-up.
A snapshot of a read model would be a fourth: it saves its position with the snapshot.

Deferred saves (`Tailer.defer_saves`, issue 17): a position kept in the event store costs a
transaction of its own per batch (9.6–11.7 PostgreSQL round trips on the node's one database
thread, docs/performance.md "Where a paced case waits"). A tailer whose receivers drop repeats
(the relay's by link sequence, the feed's by message id and position) may let its durable
position lag: `passed` moves it in memory, and it is saved once `save_due` — the oldest unsaved
batch is `interval` old, or `items` items wait unsaved — or at a clean stop (`flush`). A crash
then hands on again what was passed since the last save: fewer than `items` plus one batch's
items, passed within the last `interval` (plus however long the driver takes to look; its tail
loop looks at least every quarter second). Nothing is lost: the saved position is never past
what the sink took. The default saves every batch at once (the simulator, the notices, views).

Nothing here reads the clock or touches the network: `now` is an argument, the driver (asyncio
or the simulator's scheduler) calls `step` and `advance`, or `pump` with a synchronous sink.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from eventsourcing.persistence import Notification, Tracking, TrackingRecorder

from regions.core.recent_log import recent_log_of
from regions.core.sides import resume
from regions.core.store import CursorRecord, EventStore

T = TypeVar("T")
#: How long a node's tailer that has read everything its process committed trusts that nothing
#: else was (regions.core.recent_log): a record another process writes is read within this.
STORE_CHECK = dt.timedelta(seconds=0.25)


@dataclass(frozen=True)
class Batch(Generic[T]):
    """What one step read: the items for the sink, and the position to record once they are in."""

    items: list[T]
    position: int  # notification id of the last record read (items may be fewer than records)


@dataclass(frozen=True)
class SaveWindow:
    """How far a tailer's durable position may lag what it passed (`Tailer.defer_saves`)."""

    interval: dt.timedelta
    items: int


class Cursor(Protocol):
    """Where a tailer keeps its position durably (a notification id; 0: from the start)."""

    def load(self) -> int: ...

    def save(self, position: int, now: dt.datetime) -> None:
        """Record `position`, after the sink took everything up to it."""
        ...

    def forget(self) -> None:
        """Drop what is held in memory (after a crash, or a save that failed)."""
        ...


class RecordCursor:
    """A position kept as a `CursorRecord` in the region's event store, one per tailer `name`.

    The record is kept in memory between batches because reloading it would replay one event per
    batch ever saved; its tailer is its only writer. If a save fails the tailer calls `forget`:
    unsaved events must not linger in memory.
    """

    def __init__(self, app: EventStore, name: str, region: str) -> None:
        self.app = app
        self.name = name
        self.region = region
        self.id = CursorRecord.id_for(name, region)
        self._record: CursorRecord | None = None

    def load(self) -> int:
        record = self._newest()
        return 0 if record is None else record.position

    def marks(self) -> dict[str, int] | None:
        """The marks saved with the newest position (`save(..., marks=)`): {} before the first
        save, None if that position was saved without them (by an older node)."""
        record = self._record or self._newest()
        if record is None:
            return {}
        return None if record.marks is None else dict(record.marks)

    def saved_at(self) -> dt.datetime | None:
        """When the newest position was saved (the saver's clock), None before the first save."""
        record = self._record or self._newest()
        return None if record is None else record.modified_on

    def _newest(self) -> CursorRecord | None:
        """The record from its newest event alone: it gets one event per batch, so replaying
        them all would make every start slower the older the node is. Enough to append to (the
        store's optimistic concurrency still guards the version)."""
        stored = self.app.recorder.select_events(self.id, desc=True, limit=1)
        if not stored:
            return None
        event = self.app.mapper.to_domain_event(stored[0])
        assert isinstance(event, CursorRecord.Started | CursorRecord.Advanced
                          | CursorRecord.Marked)
        position = 0 if isinstance(event, CursorRecord.Started) else event.position
        marks = (dict(event.marks) if isinstance(event, CursorRecord.Marked)
                 else {} if isinstance(event, CursorRecord.Started) else None)
        return resume(CursorRecord, self.id, event.originator_version, event.timestamp,
                      region=self.region, position=position, marks=marks)

    def save(self, position: int, now: dt.datetime,
             marks: Mapping[str, int] | None = None) -> None:
        """Record `position` (with `marks` as of it, if given: what a start reads back)."""
        if self._record is None:
            self._record = self._newest() or CursorRecord.start(self.id, self.region, now)
        if position > self._record.position:
            self._record.advance(position, now, marks)
            self.app.save(self._record)

    def forget(self) -> None:
        self._record = None


class TrackingCursor:
    """A position kept as eventsourcing's tracking row `name` of a `TrackingRecorder` (a view).

    A sink that writes its rows with `tracking(position)` in the same transaction has already
    saved the position when `save` runs, which then writes nothing; a batch the sink wrote
    nothing for is tracked here, so the tailer does not read it again.
    """

    def __init__(self, recorder: TrackingRecorder, name: str) -> None:
        self.recorder = recorder
        self.name = name

    def tracking(self, position: int) -> Tracking:
        return Tracking(self.name, position)

    def load(self) -> int:
        return self.recorder.max_tracking_id(self.name) or 0

    def save(self, position: int, now: dt.datetime) -> None:
        if not self.recorder.has_tracking_id(self.name, position):
            self.recorder.insert_tracking(self.tracking(position))

    def forget(self) -> None:
        """Nothing is held in memory: the recorder is the position."""


class MemoryCursor:
    """A position held only in memory: a read model rebuilt from the log at every start-up
    (the node's in-memory views) starts at 0 and moves with the batches it applied."""

    def __init__(self) -> None:
        self.position = 0

    def load(self) -> int:
        return self.position

    def save(self, position: int, now: dt.datetime) -> None:
        self.position = position

    def forget(self) -> None:
        """The position dies with the views it belongs to."""


class Tailer(Generic[T]):
    """Reads `topics` from the log after its cursor's position, `batch_size` records a step.

    Subclasses say what a batch of records becomes (`read`); the caller hands `Batch.items` to
    its sink and then calls `advance`.
    """

    topics: Sequence[str] = ()

    def __init__(self, app: EventStore, cursor: Cursor, *, batch_size: int = 500) -> None:
        self.app = app
        self.cursor = cursor
        self.batch_size = batch_size
        self._position: int | None = None
        self._store_read_at: dt.datetime | None = None
        #: How long "nothing new in this process's window" is believed without the store (see
        #: STORE_CHECK): none unless the caller's `now` moves with real time, as the node's
        #: driver's does (a reader stepping at a fixed instant would never ask the store).
        self.trust = dt.timedelta(0)
        self.stats = {"batches": 0, "items": 0, "saves": 0}
        #: Deferred saves (see the module): None saves every batch as it is passed.
        self.deferred: SaveWindow | None = None
        #: Passed but not saved yet: the position, its items, when the oldest was passed.
        self._unsaved: tuple[int, int, dt.datetime] | None = None

    def read(self, notifications: Sequence[Notification], now: dt.datetime) -> list[T]:
        """The items these records stand for (possibly none)."""
        raise NotImplementedError

    @property
    def position(self) -> int:
        """The last notification id handed on (as far as this process knows)."""
        if self._position is None:
            self._position = self.cursor.load()
        return self._position

    def step(self, now: dt.datetime, after: int | None = None) -> Batch[T] | None:
        """The next batch to hand on; None when nothing new was committed. `after`: read on
        after that position instead (the driver reads the next batch while the sink still
        works on the one ending there)."""
        start = self.position if after is None else after
        recent = recent_log_of(self.app)
        notifications: Sequence[Notification] | None = None
        if recent is not None:
            notifications = recent.after(start, self.topics, self.batch_size)
            if notifications is None and recent.holds(start) and self._trusts(now):
                return None  # nothing new that this process committed, none elsewhere lately
        if notifications is None:  # not in this process's latest commits: the store
            notifications = self.app.recorder.select_notifications(
                start=start, limit=self.batch_size, topics=list(self.topics),
                inclusive_of_start=False)
            self._store_read_at = now
        if not notifications:
            return None
        return Batch(self.read(notifications, now), notifications[-1].id)

    def still_to_hand_on(self, batch: Batch[T]) -> Batch[T]:
        """A batch read ahead, as it stands once the sink took the one before (the relay leaves
        out the links that fell behind meanwhile)."""
        return batch

    def _trusts(self, now: dt.datetime | None) -> bool:
        """Whether the store was asked less than `trust` ago (`now` on the same clock)."""
        read_at = self._store_read_at
        return now is not None and read_at is not None and \
            dt.timedelta(0) <= now - read_at < self.trust

    def backlog(self, limit: int = 10_000) -> int:
        """How many records of this tailer's topics wait after its position (up to `limit`):
        a read model's lag in events, exact where the log's head is not (other records follow)."""
        return len(self.app.recorder.select_notifications(
            start=self.position, limit=limit, topics=list(self.topics), inclusive_of_start=False))

    def save(self, position: int, now: dt.datetime) -> None:
        """Record `position` with the cursor (a tailer that knows more saves it here too)."""
        self.cursor.save(position, now)

    def defer_saves(self, interval: dt.timedelta, items: int) -> None:
        """Save the position at most every `interval` or `items` items (see the module): only
        for a sink whose receivers drop what a crash makes it hand on again."""
        self.deferred = SaveWindow(interval, items)

    def advance(self, batch: Batch[T], now: dt.datetime) -> None:
        """The sink took `batch`: read on after it, and remember that durably — at once, or
        when due if saves are deferred."""
        if self.deferred is None:
            try:
                self.save(batch.position, now)
            except Exception:
                self.cursor.forget()
                raise
            self.stats["saves"] += 1
        self.passed(batch, now)
        if self.save_due(now):
            self.flush(now)

    def passed(self, batch: Batch[T], now: dt.datetime) -> None:
        """In memory only: the sink took `batch`, read on after it (the durable position follows
        at `flush`; with saves not deferred, `advance` has saved it already)."""
        self._position = max(self.position, batch.position)
        self.stats["batches"] += 1
        self.stats["items"] += len(batch.items)
        if self.deferred is not None:
            position, items, since = self._unsaved or (0, 0, now)
            self._unsaved = (max(position, batch.position), items + len(batch.items), since)

    def save_due(self, now: dt.datetime) -> bool:
        """Whether the passed batches are to be saved now (never without deferred saves)."""
        window, unsaved = self.deferred, self._unsaved
        if window is None or unsaved is None:
            return False
        return unsaved[1] >= window.items or now - unsaved[2] >= window.interval

    def unsaved(self) -> int:
        """How many items were passed since the last save (what a crash would hand on again)."""
        return 0 if self._unsaved is None else self._unsaved[1]

    def flush(self, now: dt.datetime) -> None:
        """Save the position passed so far, if any is unsaved (a clean stop calls this). A save
        that fails keeps it unsaved, to be saved at the next try. Not concurrently with
        `passed` (the driver runs them one after the other for a tail)."""
        unsaved = self._unsaved
        if unsaved is None:
            return
        try:
            self.save(unsaved[0], now)
        except Exception:
            self.cursor.forget()
            raise
        self.stats["saves"] += 1
        self._unsaved = None

    def pump(self, sink: Callable[[list[T]], None], now: dt.datetime) -> int | None:
        """One step with a synchronous sink: read, hand on, advance; the items handed on (None
        when there was nothing to read)."""
        batch = self.step(now)
        if batch is None:
            return None
        sink(batch.items)
        self.advance(batch, now)
        return len(batch.items)

    def seek(self, position: int) -> None:
        """Read on from `position` (in memory only; the durable cursor stays where it is)."""
        self._position = position

    def forget(self) -> None:
        """A crash: the in-memory position is gone (and what was passed unsaved); the durable
        cursor is not."""
        self._position = None
        self._unsaved = None
        self.cursor.forget()
