"""How much a region's quarantine may hold: a count and a size of parked records (issue 11,
finding 11).

Why a bound: quarantine keeps hostile bytes for the operator, so whoever can publish to a node's
inbox could otherwise fill its database (any number of ~1 MiB records). Why the *oldest* are
kept: the first records of an attack or a bad release say what happened; later ones repeat it.
Past the bound a message is still acknowledged and its link still stepped over — nothing is
blocked — but it is not stored; it is counted (`tongban_quarantine_dropped_total`) and logged.
Records an operator discarded still count: they are kept for good (nothing recorded is deleted),
so the bound is on what the store holds. Why the usage is read from the store at start-up: a
restarted node must not grant a full quarantine a fresh budget; the read is itself bounded by
the bound. Why that reading (`Parked`) is handed on to the next start on the same store: see
`Parked`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from eventsourcing.persistence import ApplicationRecorder, Notification
from eventsourcing.utils import get_topic

from regions.core.store import EventStore, Quarantined
from regions.core.unreadable import decode

#: Defaults of `RegionConfig.quarantine_max_records` / `quarantine_max_bytes`.
MAX_RECORDS: Final = 10_000
MAX_BYTES: Final = 256 * 1024 * 1024
PARKED_TOPIC: Final = get_topic(Quarantined.Parked)
PAGE: Final = 500


def record_size(reason: str, subject: str, data: bytes | str, headers: dict[str, str]) -> int:
    """What one parked record costs: its bytes, subject, reason and headers."""
    return (len(data) + len(subject) + len(reason)
            + sum(len(k) + len(v) for k, v in headers.items()))


class Parked:
    """What the store's quarantine holds, as far as it has been read: its records, their bytes,
    and the position the reading stopped at.

    Handed on to the budget of the next start on the same store (`bootstrap.Region.restart`),
    which reads only the records written since (`read`). Why: the first quarantined message
    after each start read every record the region ever wrote (the in-memory store filters its
    whole log by topic) and decoded every parked one again: the simulator restarts its regions
    hundreds of times, so a long run grew quadratic there (4.6 % of a 2,000-case run,
    docs/performance.md, issue 17 sixth session). A durable store's process starts with none
    and reads once, as before. Reading on from a position is sound for the same reason as the
    timer's `OpenedSides`: every store here commits its notifications in id order, and nothing
    recorded is deleted. A record that could not be decoded counts as a record of no bytes and
    is decoded again at each read (its store may be repaired: the full read of each start did
    the same)."""

    def __init__(self) -> None:
        self.position, self.records, self.size = 0, 0, 0
        self.unreadable: list[Notification] = []

    def read(self, app: EventStore) -> tuple[int, int]:
        """Records and bytes the store's quarantine holds now."""
        recorder: ApplicationRecorder = app.recorder
        top = recorder.max_notification_id() or 0
        if top < self.position:  # a log shorter than what was read is not that log: start over
            self.position, self.records, self.size, self.unreadable = 0, 0, 0, []
        pending, self.unreadable = self.unreadable, []
        while self.position < top:
            page = recorder.select_notifications(start=self.position, limit=PAGE, stop=top,
                                                 topics=[PARKED_TOPIC], inclusive_of_start=False)
            pending += page
            self.position = page[-1].id if len(page) == PAGE else top
        for notification in pending:
            event = decode(app, notification)
            if isinstance(event, Quarantined.Parked):
                self.records += 1
                self.size += record_size(event.reason, event.subject, event.data, event.headers)
            else:
                self.unreadable.append(notification)
        return self.records + len(self.unreadable), self.size


@dataclass
class QuarantineBudget:
    max_records: int = MAX_RECORDS
    max_bytes: int = MAX_BYTES
    records: int = 0
    size: int = 0
    loaded: bool = False
    #: The store's reading, shared by copies and handed on across restarts (see `Parked`).
    parked: Parked = field(default_factory=Parked)

    def load(self, app: EventStore) -> None:
        """What the store already holds (once; the inbox keeps it up to date after)."""
        if self.loaded:
            return
        records, size = self.parked.read(app)
        self.records += records
        self.size += size
        self.loaded = True

    def copy(self) -> QuarantineBudget:
        """A copy to put back if a batch fails (one per inbox batch: no `dataclasses.replace`)."""
        return QuarantineBudget(self.max_records, self.max_bytes, self.records, self.size,
                                self.loaded, self.parked)

    def take(self, size: int) -> bool:
        """Room for one more record of `size`? If so it is spent."""
        if self.records + 1 > self.max_records or self.size + size > self.max_bytes:
            return False
        self.records += 1
        self.size += size
        return True
