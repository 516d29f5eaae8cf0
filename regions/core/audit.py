"""The audit log of unmasked reads of personal data (issue 13: "every unmasked read is
audit-logged"): who read, when, which case, which field — in the region's own event store.

Why the event store and not a log file: the store is what the region keeps durably, backs up,
encrypts (the store cipher) and fails over with; a node's local log would be lost with the host
and could be edited by whoever runs it. An entry is written *before* the data is returned (the
staff API answers 503 if it cannot be written: no unlogged read), and nothing in the node ever
changes or removes one. Entries are their own aggregate topic, so no tailer of case events reads
them; the operator lists them with `tongban audit list` (api.cli.audit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from regions.core.store import EventStore


class UnmaskedRead(Aggregate):
    """One read of unmasked personal data by one staff member."""

    class Read(Aggregate.Created):
        region: str
        staff_id: str
        role: str
        case_number: str
        field: str
        purpose: str

    def __init__(self, region: str, staff_id: str, role: str, case_number: str, field: str,
                 purpose: str) -> None:
        self.region = region
        self.staff_id = staff_id
        self.role = role
        self.case_number = case_number
        self.field = field
        self.purpose = purpose


READ_TOPIC = get_topic(UnmaskedRead.Read)


@dataclass(frozen=True)
class AuditEntry:
    position: int
    at: str  # ISO 8601, UTC
    region: str
    staff_id: str
    role: str
    case_number: str
    field: str
    purpose: str


def record(app: EventStore, entry_id: UUID, now: dt.datetime, *, region: str, staff_id: str,
           role: str, case_number: str, field: str, purpose: str = "") -> None:
    """Write one entry (durably, before the caller returns the data)."""
    read = UnmaskedRead._create(UnmaskedRead.Read, id=entry_id, timestamp=now, region=region,
                                staff_id=staff_id, role=role, case_number=case_number,
                                field=field, purpose=purpose)
    app.save(read)


def entries(app: EventStore, *, case_number: str = "", staff_id: str = "",
            after: int = 0, limit: int = 1000) -> Iterator[AuditEntry]:
    """The entries after position `after`, oldest first, filtered by case or staff member."""
    start, yielded = after, 0
    while yielded < limit:
        page = app.recorder.select_notifications(start=start, limit=500, topics=[READ_TOPIC],
                                                 inclusive_of_start=False)
        for notification in page:
            event: Any = app.mapper.to_domain_event(notification)
            if case_number and event.case_number != case_number:
                continue
            if staff_id and event.staff_id != staff_id:
                continue
            yield AuditEntry(notification.id, event.timestamp.isoformat(), event.region,
                             event.staff_id, event.role, event.case_number, event.field,
                             event.purpose)
            yielded += 1
            if yielded >= limit:
                return
        if len(page) < 500:
            return
        start = page[-1].id
