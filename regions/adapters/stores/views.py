"""Durable case views: the writer a node's views tailer hands its batches to, the cursor that
keeps the tailer's position in the views' tracking row, and the reader the pages and the API use.

Why the writer folds with `projections.cases.apply` and keeps recent views in memory: the fold
needs the protocol's state of each side, which the tables do not keep (the store does). A view
the writer holds is the fold up to its position; one it does not hold (after a start, or after
a rebuild's swap) it folds again from the side's stored events, up to the event before the one
it applies — the same fold, so the same view. Whenever the tracking row is not where this
writer left it (a rebuild swapped the table), it drops what it holds.

Exactly once: a batch skips the events at or below the tracking position it read under the
lock, and writes its rows with the new position in the same transaction (`ViewTables.write`).

Folded once (`NodeFolds`): the node folds each side as it decides, and tells its listeners
the state each decision left with the events that led there; the writer takes that state
for the decision's last event instead of folding the event again (the events before it in
the same decision are still folded: their views need the state after each).
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from uuid import UUID

from domain.kernel import Decider, Event
from projections.cases import CaseView, fold
from projections.documents import Encoder, from_document, summary
from projections.joint import Agreement, agreement
from projections.reconciliation import Reconciliation, reconcile
from projections.records import SideEvent
from projections.views import QueueEntry, Supervision, monthly_on_time, queue_entry, supervise
from regions.adapters.stores.view_tables import (
    LIVE,
    LIVE_TRACKING,
    SUMMARY,
    ViewTables,
)
from regions.core.side_events import SideEventTailer
from regions.core.store import EventStore, load_streams
from regions.core.tailer import MemoryCursor
from regions.core.unreadable import decode

#: Views a writer keeps between batches (a miss folds the side again from the store).
CACHE_SIZE = 10_000
#: Cases whose document parts a writer's `Encoder` keeps: the cases still being written (a
#: case is written ~4 times within seconds at burst); not `CACHE_SIZE` (nor a rebuild's
#: million), which would hold a second copy of every view kept, as text.
ENCODED_CASES = 2_048
#: Decisions whose state `NodeFolds` keeps (the views write within a second or two of the
#: commit; at burst a node makes ~1,000 decisions a second).
FOLDS_KEPT = 4_096


class NodeFolds:
    """The side states the node folded as it decided, by the last event of each decision:
    what a node listener (`heard`, on the node's database thread) was told after each commit,
    for the views' writer (`state_after`, on its own thread).

    Why: the views folded every side event again with the protocol's `evolve` (a fifth of
    the views' thread, ~2 % of a node's CPU in the bench, docs/performance.md, VIEWS), while
    the node had just folded the same events from the same state (a fold is a function of the
    side's events; both start from nothing, or from what the same events left). Keyed by the
    event object itself, which the side-event tailer hands the views with the record
    (`SideEvent.with_event`): a record read back from the store carries a freshly decoded event,
    finds nothing here, and is folded as before. The most recent `kept` decisions are kept
    (each entry holds its event, so no other event can take its id while it is kept)."""

    def __init__(self, kept: int = FOLDS_KEPT) -> None:
        self.kept = kept
        self._states: dict[int, tuple[Event, Any]] = {}
        self._order: deque[int] = deque()
        self.taken = 0  # states the writer took (tests, profiles)

    def heard(self, view: Any, events: list[Event]) -> None:
        """A `RegionNode.listeners` entry: `view` is the side as the decision left it (its
        `state` the fold of every event of the side up to the last of `events`)."""
        if not events or view.state is None:
            return
        last = events[-1]
        self._states[id(last)] = (last, view.state)
        self._order.append(id(last))
        while len(self._order) > self.kept:
            self._states.pop(self._order.popleft(), None)

    def state_after(self, event: Event) -> Any | None:
        entry = self._states.get(id(event))
        if entry is None or entry[0] is not event:
            return None
        self.taken += 1
        return entry[1]


class ViewWriter:
    """Applies side events to one view table, exactly once, with its tracking row."""

    def __init__(self, tables: ViewTables, app: EventStore, region: str,
                 deciders: Mapping[str, Decider[Any]], *, table: str = LIVE, tracking: str = LIVE_TRACKING,
                 cache_size: int = CACHE_SIZE, folds: NodeFolds | None = None) -> None:
        self.tables = tables
        self.app = app
        self.region = region
        self.deciders = deciders
        self.table = table
        self.tracking = tracking
        self.cache_size = cache_size
        self._views: OrderedDict[str, CaseView] = OrderedDict()
        self._known: int | None = None  # the tracking position this writer last saw or wrote
        self._encoder = Encoder(min(cache_size, ENCODED_CASES))
        self._folded = folds.state_after if folds is not None else None
        self.refolds = 0

    def write(self, items: Sequence[SideEvent], position: int | None = None) -> int:
        """Apply `items` and track `position` (default: the last item's); the number applied."""
        with self.tables.writing() as curs:
            return self.write_in(curs, items, position)

    def sink(self, items: list[SideEvent]) -> None:
        """A tailer's synchronous sink (`Tailer.pump`)."""
        self.write(items)

    def write_in(self, curs: Any, items: Sequence[SideEvent], position: int | None = None) -> int:
        """`write` inside a transaction the caller holds (a rebuild's swap)."""
        if position is None:
            position = max((r.position for r in items), default=0)
        tracked = self.tables.locked_position(curs, self.tracking)
        if tracked != self._known:
            self._views.clear()  # someone else moved the row: what we hold may be stale
            self._encoder.forget()
            self._known = tracked
        if position <= tracked:
            return 0
        fresh = [r for r in items if r.position > tracked and r.process in self.deciders]
        changed = self._fold(fresh)
        self.tables.write(curs, self.table, list(changed.values()), self.tracking, position,
                          self._encoder)
        self._known = position  # in memory only once written (a failed batch keeps the old)
        for case_id, view in changed.items():
            self._views[case_id] = view
            self._views.move_to_end(case_id)
        while len(self._views) > self.cache_size:
            self._views.popitem(last=False)
        return len(fresh)

    def forget(self) -> None:
        self._views.clear()
        self._encoder.forget()
        self._known = None

    def _fold(self, records: Sequence[SideEvent]) -> dict[str, CaseView]:
        """The views `records` change, each case's events folded together (`cases.fold`: the
        batch writes only each case's last view)."""
        grouped = self._group(records)
        missing = {events[0].side_id: events[0].version for case_id, events in grouped.items()
                   if case_id not in self._views and events[0].version > 1}
        folded = self._refold(missing) if missing else {}
        changed: dict[str, CaseView] = {}
        for case_id, events in grouped.items():
            changed[case_id] = fold(self._views.get(case_id) or folded.get(case_id), events,
                                    self.deciders[events[0].process], self._folded)
        return changed

    @staticmethod
    def _group(records: Sequence[SideEvent]) -> dict[str, list[SideEvent]]:
        """`records` by case, in the order each case first appears, each case's in order (a
        case is one side in a region, so one process)."""
        grouped: dict[str, list[SideEvent]] = {}
        for r in records:
            events = grouped.get(r.case_id)
            if events is None:
                grouped[r.case_id] = [r]
            else:
                events.append(r)
        return grouped

    def _refold(self, before: Mapping[str, int]) -> dict[str, CaseView]:
        """Each side's view up to (not including) the version given, from the store."""
        streams = load_streams(self.app, [UUID(side) for side in before])
        views: dict[str, CaseView] = {}
        for side_id, stream in streams.items():
            key = stream.key
            decider = self.deciders.get(key["process"])
            if decider is None:
                continue
            events = [SideEvent(0, self.region, key["case_id"], key["case_number"],
                                key["process"], str(side_id), version, type_, schema, payload)
                      for version, (type_, schema, payload) in enumerate(
                          stream.entries[:before[str(side_id)] - 1], start=1)]
            if events:
                view = fold(None, events, decider)
                views[view.case_id] = view
        self.refolds += len(views)
        return views


class ViewCursor:
    """The views tailer's position: the live tracking row. `save` tracks a batch the writer
    wrote no rows for (register entries only); a position at or below the row is a no-op, so a
    rebuild's swap that moved the row ahead never makes it fail."""

    def __init__(self, writer: ViewWriter) -> None:
        self.writer = writer

    def load(self) -> int:
        return self.writer.tables.position(self.writer.tracking)

    def save(self, position: int, now: object) -> None:
        """One statement when the row is where the writer left it (`ViewTables.move`), else
        the writer's transaction (which also drops what it holds if the row moved)."""
        writer = self.writer
        known = writer._known
        if known is None or position > known:
            if known is not None and writer.tables.move(writer.tracking, known, position):
                writer._known = position
            else:
                writer.write((), position)

    def forget(self) -> None:
        self.writer.forget()


class _Cases(Mapping[str, CaseView]):
    """Every view in the table by case id, read when asked (the reports read them all)."""

    def __init__(self, views: DurableViews) -> None:
        self._owner = views

    def _all(self) -> dict[str, CaseView]:
        rows = self._owner.tables.select(f"SELECT doc FROM {self._owner.table}")
        docs = [from_document(_json(row["doc"])) for row in rows]
        return {v.case_id: v for v in docs}

    def __getitem__(self, case_id: str) -> CaseView:
        rows = self._owner.tables.select(f"SELECT doc FROM {self._owner.table} WHERE case_id = ?",
                                         (case_id,))
        if not rows:
            raise KeyError(case_id)
        return from_document(_json(rows[0]["doc"]))

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        rows = self._owner.tables.select(f"SELECT count(*) AS n FROM {self._owner.table}")
        return int(rows[0]["n"])

    def values(self) -> Any:
        return self._all().values()


class DurableViews:
    """`projections.views.CaseViews` over the live view table (see the module docstring)."""

    def __init__(self, tables: ViewTables, region: str) -> None:
        self.tables = tables
        self.region = region
        self.table = tables.dialect.table(LIVE)

    @property
    def cases(self) -> Mapping[str, CaseView]:
        return _Cases(self)

    @property
    def position(self) -> int:
        return self.tables.position()

    def case(self, case_number: str) -> CaseView | None:
        rows = self.tables.select(f"SELECT doc FROM {self.table} WHERE case_number = ?",
                                  (case_number,))
        return from_document(_json(rows[0]["doc"])) if rows else None

    def _summaries(self, where: str = "", params: Sequence[Any] = ()) -> list[CaseView]:
        rows = self.tables.select(f"SELECT {SUMMARY} FROM {self.table} {where}", params)
        return [summary(row, self.region) for row in rows]

    def queue(self, *, include_done: bool = False) -> list[QueueEntry]:
        """Ordered by the database on the queue index, the most urgent first."""
        open_only = "" if include_done else "WHERE terminal = ?"
        order = ("ORDER BY needs_attention DESC, overdue DESC, due_at IS NULL, due_at, "
                 "case_number")
        views = self._summaries(f"{open_only} {order}", () if include_done else (False,))
        return [queue_entry(v) for v in views]

    def agreement(self, case_number: str, counterparts: Sequence[CaseView] = (),
                  ) -> Agreement | None:
        view = self.case(case_number)
        if view is None:
            return None
        return agreement([view, *counterparts], complete=bool(counterparts))

    def reconciliation(self, region: str, start: Any, end: Any) -> Reconciliation:
        rows = self.tables.select(
            f"SELECT doc FROM {self.table} WHERE opened_at >= ? AND opened_at < ?",
            (_param(self.tables, start), _param(self.tables, end)))
        return reconcile((from_document(_json(r["doc"])) for r in rows), region, start, end)

    def monthly_on_time(self) -> list[tuple[str, float]]:
        return monthly_on_time(self._summaries("WHERE terminal = ?", (True,)))

    def supervision(self, where: Callable[[CaseView], bool] = lambda v: True) -> Supervision:
        return supervise(v for v in self._summaries() if where(v))


def _json(value: Any) -> dict[str, Any]:
    import json
    return value if isinstance(value, dict) else json.loads(value)


def _param(tables: ViewTables, at: Any) -> Any:
    from projections.documents import iso
    return at if tables.dialect.postgres else iso(at)


def catch_up(writer: ViewWriter, batch_size: int = 500, now: dt.datetime | None = None) -> int:
    """Write the writer's table up to the log's head (a command-line reader beside or without a
    node: exactly once either way, the tracking row decides); the events applied."""
    now = now or dt.datetime.now(dt.UTC)
    tailer = SideEventTailer(writer.region, writer.app, batch_size=batch_size,
                             cursor=ViewCursor(writer))
    applied = 0
    while (batch := tailer.step(now)) is not None:
        applied += writer.write(batch.items, batch.position)
        tailer.advance(batch, now)
    return applied


def lag(app: EventStore, region: str, position: int, now: dt.datetime) -> tuple[int, float]:
    """(events, seconds) a view at `position` is behind: the side events after it (up to
    10,000), and how long ago the oldest of them was recorded (0 when none wait)."""
    tailer = SideEventTailer(region, app, cursor=MemoryCursor())
    tailer.seek(position)
    events = tailer.backlog()
    if not events:
        return 0, 0.0
    oldest = app.recorder.select_notifications(start=position, limit=1,
                                               topics=list(tailer.topics),
                                               inclusive_of_start=False)
    event = decode(app, oldest[0])
    if event is None:
        return events, 0.0
    at: dt.datetime = getattr(event, "timestamp")  # noqa: B009
    return events, max(0.0, (now - at).total_seconds())
