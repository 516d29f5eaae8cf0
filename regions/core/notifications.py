"""Notifications to applicants (补正 needed, decided, completed), driven from the region's log
(sans-IO): an outbox that cannot lose a notice, and a port that does not send one twice.

Why a tailer and not a call in the command handler: the notice must go out if and only if the
event was committed, and a crash must not lose it. The region's notification log *is* the
outbox — the events are written in the same transaction as the decision, no second write —
and this tailer reads it with its own durable cursor (`CursorRecord` "notifications"), like the
back-end feed. A notice is handed to the port (`Notifier`) before the cursor moves, so a crash
between the two hands the same notices over again after the restart: at-least-once towards the
port. The port makes it at-most-once towards the applicant: every notice carries a stable
`notice_id` (region and log position), and an adapter drops an id it has already sent — the log
adapter (`regions.adapters.notify_log`) remembers them in its own file; an SMS or mail gateway
gets the id as its idempotency key. What the applicant may still see twice: a gateway that
has no idempotency key and a crash inside its call (documented in docs/architecture.md).

Which events: those that change what the applicant must do or may expect (`KINDS`, and the
handling region's decision as the receiving window records it, `HANDLING_NOTICES`), on the side
of the region that took the application — the region of the case number (受理地 / 转入地 /
收件地): a handling region or a transfer's origin never writes to the applicant, so one decision
is one notice. Everything else on the log is skipped (the cursor moves past it).
The notice names the case and the masked applicant only — the adapter finds the contact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from eventsourcing.persistence import Notification

from regions.core.side_events import SideEventTailer
from regions.core.store import EventStore
from regions.core.tailer import Cursor, MemoryCursor, RecordCursor, Tailer

Kind = Literal["supplement_needed", "decided", "completed"]
#: The notifications tailer's cursor name (`CursorRecord.id_for`).
NOTIFY_CURSOR: Final = "notifications"

#: Event type → what the applicant is told. The accepting side's events only: the applicant
#: deals with the region that took the application (受理地 / 转入地 / 收件地).
KINDS: Final[dict[str, Kind]] = {
    "SupplementRequested": "supplement_needed",   # 一次性告知: what is missing, by when
    "IntakeRejected": "decided",                  # 不予受理
    "ApplicationApproved": "decided",
    "ApplicationDenied": "decided",
    "OriginRefusalReceived": "decided",           # 转出地不予转出
    "TransferCompleted": "completed",
    "CaseCompleted": "completed",
}

#: What the handling region decided, as the receiving window (代收代办) records it.
HANDLING_NOTICES: Final[dict[str, Kind]] = {
    "HandlingApproved": "decided", "HandlingDenied": "decided", "HandlingRejected": "decided",
}

TEXTS: Final[dict[Kind, str]] = {
    "supplement_needed": "您的办件需要补正材料，请按一次性告知的清单补正",
    "decided": "您的办件已有办理结果，请查询",
    "completed": "您的办件已办结",
}


@dataclass(frozen=True)
class Notice:
    """One message to the applicant of `case_number`."""

    notice_id: str  # "<region>:<log position>": stable across re-reads, the port's dedup key
    region: str
    case_number: str
    kind: Kind
    event_type: str
    text: str
    detail: dict[str, object]


class Notifier(Protocol):
    """The port: deliver notices; a notice whose `notice_id` was delivered before is dropped."""

    def send(self, notices: Sequence[Notice]) -> int:
        """Deliver what was not delivered yet; returns how many went out now."""
        ...


def kind_of(event_type: str, payload: dict[str, object]) -> Kind | None:
    if event_type == "HandlingNoticeReceived":
        return None if payload.get("stale") else HANDLING_NOTICES.get(str(payload.get("notice")))
    return KINDS.get(event_type)


def _detail(event_type: str, payload: dict[str, object]) -> dict[str, object]:
    """What the applicant needs from the event (never the person's data: it is not there)."""
    keep = ("missing_kinds", "due_at", "reason", "note")
    return {k: payload[k] for k in keep if k in payload and payload[k] not in ("", None, [])}


class NotificationTailer(Tailer[Notice]):
    """The side events of `KINDS`, as notices, from the "notifications" cursor (the side events
    decoded as the feed decodes them: `SideEventTailer.read`)."""

    topics = SideEventTailer.topics

    def __init__(self, region: str, app: EventStore, *, batch_size: int = 500,
                 cursor: Cursor | None = None) -> None:
        super().__init__(app, cursor or RecordCursor(app, NOTIFY_CURSOR, region),
                         batch_size=batch_size)
        self.region = region
        self._sides = SideEventTailer(region, app, cursor=MemoryCursor())

    def read(self, notifications: Sequence[Notification], now: dt.datetime) -> list[Notice]:
        notices = []
        for event in self._sides.read(notifications, now):
            kind = kind_of(event.type, event.payload)
            if kind is None or not event.case_number.startswith(self.region + "-"):
                continue  # the applicant is told by the region that took the application
            notices.append(Notice(
                notice_id=f"{self.region}:{event.position}", region=self.region,
                case_number=event.case_number, kind=kind, event_type=event.type,
                text=TEXTS[kind], detail=_detail(event.type, event.payload)))
        return notices
