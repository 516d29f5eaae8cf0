"""The in-memory (POPO) event store: the simulator's, and the unit tests'."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    Notification,
    StoredEvent,
)
from eventsourcing.popo import POPOApplicationRecorder

from regions.adapters.stores.cipher import cipher_settings
from regions.core.rows import frozen
from regions.core.store import EventStore

#: The env prefix eventsourcing looks up first for this application (`LEDGER_`).
PREFIX = EventStore.name.upper() + "_"


class MemoryStore:
    """One in-memory (POPO) store per region that survives the node's simulated restarts.

    `cipher_key` (see `regions.adapters.stores.cipher`) encrypts what it keeps, as a durable
    store does; a restart after changing it is a key rotation.
    """

    def __init__(self, *, cipher_key: str = "") -> None:
        self._recorders: dict[str, ApplicationRecorder] = {}
        self.cipher_key = cipher_key
        #: Side folds kept across the nodes' simulated restarts, per region, rules and
        #: protocols: a stream's version fixes its events (append-only, optimistic
        #: concurrency), so a fold of the same version by the same protocols is the same state.
        #: Why: a crash rebuilds the timer from every side the region ever had, and folding
        #: them all again made a long simulation quadratic (`tongban simulate`, issue 17). Each
        #: side version is still folded from its stored events once, the first time it is read;
        #: after that a read compares the fold's version with the stream's newest stored event
        #: (`Caches._kept_fold`) and decodes nothing.
        self.folds: dict[Any, Any] = {}

    def open(self, region: str) -> EventStore:
        recorder = self._recorders.get(region)
        if recorder is None:
            recorder = self._recorders[region] = MemoryRecorder()
        env = {PREFIX + "PERSISTENCE_MODULE": "eventsourcing.popo",
               **cipher_settings(self.cipher_key, PREFIX)}
        return EventStore(env=env, recorder=recorder)


def _key(originator_id: UUID | str) -> int | str:
    """A stream's key in the index: its id's 128-bit integer (hashed in C; the library keyed
    by `str(id)`, a Python-level `UUID.__str__` per event written or read). A string id is
    the same stream as its UUID; one that is no UUID keys by itself (no int equals a str)."""
    if type(originator_id) is UUID:
        return originator_id.int
    try:
        return UUID(str(originator_id)).int
    except ValueError:
        return str(originator_id)


class MemoryRecorder(POPOApplicationRecorder):
    """eventsourcing's POPO application recorder — the same rows, notification ids, order and
    `IntegrityError`s — with its per-row Python trimmed: a stream's index keyed by its id's
    integer, each topic's rows indexed (a tailer of one or two topics reads its rows, not every
    row since its position), and each `Notification` built as `regions.core.rows` builds its
    rows (the frozen dataclass's `__dict__` set, not five `object.__setattr__`).

    Why (issue 17, the simulator's store): the library's recorder was ~4 % of a 2,000-case
    simulation — `str(uuid)` twice and a UUID hash per row written, a frozen `Notification`
    per row read by each tailer (the relay's, the timer's, the views'). Nothing here is durable
    or shared between processes, so nothing is skipped but Python overhead: the checks, the
    lock and the listeners stay the library's (`tests/unit/test_memory_recorder.py` holds it
    to the library's answers)."""

    def __init__(self) -> None:
        super().__init__()
        self._streams: dict[int | str, dict[int, int]] = {}
        #: Each topic's rows, by position (0-based, ascending): a read of a few topics goes to
        #: its rows instead of testing every row since its start (`select_notifications`).
        self._topics: dict[str, list[int]] = {}

    def _insert_events(self, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        with self._database_lock:
            streams = self._streams
            keys = [_key(s.originator_id) for s in stored_events]
            new = set()
            for key, s in zip(keys, stored_events, strict=True):
                known = streams.get(key)
                if known is not None and s.originator_version in known:
                    raise IntegrityError(f"Stored event already recorded: {s}")
                new.add((key, s.originator_version))
            if len(new) < len(stored_events):
                raise IntegrityError(f"Stored events are not unique: {stored_events}")
            rows, topics = self._stored_events, self._topics
            ids = []
            for key, s in zip(keys, stored_events, strict=True):
                rows.append(s)
                position = len(rows)
                index = streams.get(key)
                if index is None:
                    index = streams[key] = {}
                index[s.originator_version] = position - 1
                same = topics.get(s.topic)
                if same is None:
                    topics[s.topic] = [position - 1]
                else:
                    same.append(position - 1)
                ids.append(position)
            return ids

    def select_events(self, originator_id: UUID | str, *, gt: int | None = None,
                      lte: int | None = None, desc: bool = False,
                      limit: int | None = None) -> Sequence[StoredEvent]:
        with self._database_lock:
            index = self._streams.get(_key(originator_id))
            if not index:
                return []
            rows = self._stored_events
            results: list[StoredEvent] = []
            for p in (reversed(index) if desc else index):
                if gt is not None and not p > gt:
                    continue
                if lte is not None and not p <= lte:
                    continue
                results.append(rows[index[p]])
                if len(results) == limit:
                    break
            return results

    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Sequence[str] = (), *,
                             inclusive_of_start: bool = True) -> Sequence[Notification]:
        with self._database_lock:
            if start is None:
                start = 1
                inclusive_of_start = True
            if not inclusive_of_start:
                start += 1
            rows = self._stored_events
            first = max(start, 1) - 1
            end = len(rows) if stop is None else min(max(stop, 0), len(rows))
            most = limit if limit > 0 else len(rows)  # the library's: 0 (or less) is no limit
            positions: Sequence[int] = range(first, max(first, min(end, first + most)))
            if topics:  # the rows of these topics in [first, end), the first `most` of them
                wanted = set(topics)
                picked: list[int] = []
                for topic in wanted:
                    rows_of = self._topics.get(topic)
                    if rows_of:
                        low = bisect_left(rows_of, first)
                        high = bisect_left(rows_of, end, low)
                        picked += rows_of[low:min(high, low + most)]
                if len(wanted) > 1:
                    picked.sort()
                positions = picked[:most]
            return [frozen(Notification, {
                "originator_id": s.originator_id, "originator_version": s.originator_version,
                "topic": s.topic, "state": s.state, "id": i + 1})
                for i in positions for s in (rows[i],)]
