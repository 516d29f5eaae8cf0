"""The records this process committed most recently, numbered as the store numbered them: what
the log's tailers read first, before asking the store (issue 17).

Why: a node runs four tailers over its own log — the outbox relay, the back-end feed, the
applicant notices, the case views — and every commit wakes each of them. Each read the records
just written back from the database (a round trip, rows built, each record decoded) on the
node's one database thread: four queries a commit, for records the process had in hand. A save
returns every record it wrote with its notification id and the event it was made from (the
library's `Recording`), so a tailer whose position lies inside the window takes its records
from here, and `decode` (regions.core.unreadable) hands back the saved event instead of
decoding the stored bytes again.

Why it is exact: the window holds one run of consecutive notification ids (`start`, `end`],
every one written by this process's saves. Notification ids are drawn in commit order — under
the store's table lock on PostgreSQL (regions.adapters.stores.sql), by the one writer on SQLite
and in memory — so no other transaction can hold an id inside the run. A save whose first id
does not follow `end` (another process wrote, or a failed transaction used ids up) starts a
new run. A tailer behind the run's start reads the store as before.

What another process writes (an operator's tool on the same store) has ids after the run, and
only the store knows of it: a node's tailer with nothing left for it in the run trusts that
nothing else was committed for a short while (`regions.core.tailer.STORE_CHECK`, set by the
driver, whose clock is the wall clock), then asks the store.
So such a record reaches the tailers within that while, or at once when this process's next
save, no longer continuing the run, starts a new one. Without that trust every tailer asked
the store after every batch and at every wake-up — most of them woken by commits that held
nothing for them — a round trip each on the database thread (~0.3 ms of CPU and, with the
database busy, several ms of waiting, per tailer and wake).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from eventsourcing.persistence import Notification

#: Records kept (the most recent): tailers a few commits apart meet inside it. Why this many:
#: at burst a node writes ~2,000 records a second (24 rows per case at the destination, ~80
#: cases/s), so 4,096 held about two seconds of log, and the tailers that wait behind the hops
#: (the feed, the views: `regions.runtime.db_thread`) fell out of it and read and decoded from
#: the store — `Tailer.step` 13.7 % of the destination's database thread (py-spy `--gil`), the
#: views decoding payloads again. At 16,384: 5.2 %, for ~1.5 KB a record (+16-19 MB of RSS at
#: the quick bench's end; fixed, it does not grow with the cases).
KEPT = 16_384


class RecentLog:
    """The most recent run of consecutive records this process committed."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._records: dict[int, tuple[Notification, Any, Any]] = {}
        self.start = 0  # the run holds ids start+1 .. end
        self.end = 0
        self.served = 0  # records handed to a tailer from here (for tests and profiles)

    def committed(self, recordings: Sequence[Any], aggregates: Mapping[Any, Any] | None = None,
                  ) -> None:
        """A save returned `recordings` (the library's: a domain event and its notification
        each, in id order); keep them if they continue the run, else start a new run. With the
        saved `aggregates`, a record also keeps the decoded event a stream was given for it
        (`Stream.remember`: the side's domain event), for `decoded`."""
        if not recordings:
            return
        ids = [r.notification.id for r in recordings]
        first = ids[0]
        if not isinstance(first, int) or ids != list(range(first, first + len(ids))):
            self.clear()  # not one run: nothing to vouch for
            return
        if not self._records or first != self.end + 1:
            self.clear()
            self.start = first - 1
        for recording in recordings:
            saved = recording.domain_event
            given = getattr((aggregates or {}).get(saved.originator_id), "decoded", None)
            self._records[recording.notification.id] = (
                recording.notification, saved,
                given.pop(saved.originator_version, None) if given else None)
        self.end = ids[-1]
        while len(self._records) > self.kept:
            del self._records[self.start + 1]
            self.start += 1

    def clear(self) -> None:
        self._records.clear()
        self.start = self.end = 0

    def after(self, position: int, topics: Collection[str], limit: int,
              ) -> list[Notification] | None:
        """The records after `position` with one of `topics` (any when empty), at most `limit`,
        when the run covers everything after `position` and holds at least one of them; None
        when the store must be asked."""
        if not self._records or position < self.start or position >= self.end:
            return None
        found: list[Notification] = []
        records = self._records
        for id_ in range(position + 1, self.end + 1):
            notification = records[id_][0]
            if not topics or notification.topic in topics:
                found.append(notification)
                if len(found) >= limit:
                    break
        if not found:
            return None
        self.served += len(found)
        return found

    def holds(self, position: int) -> bool:
        """Whether the run knows everything this process committed after `position`."""
        return bool(self._records) and self.start <= position <= self.end

    def event(self, record: Any) -> Any | None:
        """The saved event of a record this window handed out (None for any other record)."""
        entry = self._records.get(getattr(record, "id", None))  # type: ignore[arg-type]
        if entry is None or entry[0] is not record:
            return None
        return entry[1]


    def decoded(self, record: Any) -> Any | None:
        """The domain event a record this window handed out was written from, when its writer
        gave it (`Stream.remember`); None otherwise."""
        entry = self._records.get(getattr(record, "id", None))  # type: ignore[arg-type]
        if entry is None or entry[0] is not record:
            return None
        return entry[2]


def recent_log_of(app: Any) -> RecentLog | None:
    """The store's window, if it keeps one (`regions.core.store.EventStore` does)."""
    found = getattr(app, "recent", None)
    return found if isinstance(found, RecentLog) else None
