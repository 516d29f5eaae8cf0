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
the bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from eventsourcing.utils import get_topic

from regions.core.store import EventStore, Quarantined
from regions.core.unreadable import decode

#: Defaults of `RegionConfig.quarantine_max_records` / `quarantine_max_bytes`.
MAX_RECORDS: Final = 10_000
MAX_BYTES: Final = 256 * 1024 * 1024
PARKED_TOPIC: Final = get_topic(Quarantined.Parked)


def record_size(reason: str, subject: str, data: bytes | str, headers: dict[str, str]) -> int:
    """What one parked record costs: its bytes, subject, reason and headers."""
    return (len(data) + len(subject) + len(reason)
            + sum(len(k) + len(v) for k, v in headers.items()))


@dataclass
class QuarantineBudget:
    max_records: int = MAX_RECORDS
    max_bytes: int = MAX_BYTES
    records: int = 0
    size: int = 0
    loaded: bool = False

    def load(self, app: EventStore) -> None:
        """What the store already holds (once; the inbox keeps it up to date after)."""
        if self.loaded:
            return
        start: int | None = None
        while True:
            page = app.recorder.select_notifications(start=start, limit=500,
                                                     topics=[PARKED_TOPIC],
                                                     inclusive_of_start=start is None)
            for notification in page:
                event = decode(app, notification)
                self.records += 1
                if isinstance(event, Quarantined.Parked):
                    self.size += record_size(event.reason, event.subject, event.data,
                                             event.headers)
            if len(page) < 500:
                break
            start = page[-1].id
        self.loaded = True

    def copy(self) -> QuarantineBudget:
        """A copy to put back if a batch fails (one per inbox batch: no `dataclasses.replace`)."""
        return QuarantineBudget(self.max_records, self.max_bytes, self.records, self.size,
                                self.loaded)

    def take(self, size: int) -> bool:
        """Room for one more record of `size`? If so it is spent."""
        if self.records + 1 > self.max_records or self.size + size > self.max_bytes:
            return False
        self.records += 1
        self.size += size
        return True
