"""Every event committed on this region's case sides, in commit order, as `SideEvent` records
(sans-IO): what the back-end feed publishes and what projections read.

Why a tailer of its own, beside the outbox relay: the relay reads only shared events, one per
destination, and its cursor is part of the inter-region protocol; a back-end (pension, police,
finance system) or a read model needs *all* of its region's side events — its own decisions, the
receipts of the counterparts' events, deadlines, timers — and must never slow the links down or
be slowed by them. So this tailer reads the same notification log (the store's commit order, no
dual write) with its own cursor: the feed's `CursorRecord` ("feed"), or a projection's tracking
row (`TrackingCursor`). For the feed, a crash between publish and cursor republishes the same
events in the same messages (one per commit and process, named by the positions they carry:
`regions.wire.feed`): JetStream drops them within the dedup window, and after it a back-end
sees a repeat, which at-least-once allows and the position (`SideEvent.position`, strictly
increasing) lets it recognise. Each `SideEvent` carries its commit's instant (`committed`, the
record's timestamp: a unit of work stamps all it saves with its `now`), which is how the feed
knows where a commit ends after a restart too, when only the store is left to read.

Register streams (the per-person registers) are not case events and are skipped.

Why the tailers of one store share their reads (`SideReads`): a node runs several of them over
the same records — the feed, the case views, the notices — each decoding every record it
reads (JSON, the library's event object) on the one database thread. A stored record never
changes, so the `SideEvent` made of the record at a position is the same for all of them: the
first reader decodes it, the others take it from a bounded memo (the most recent
`READS_REMEMBERED` positions, where tailers a commit or two apart meet). The side keys (a
stream's case, number and process, from its first event) are shared the same way.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Final
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from projections.records import SideEvent, built
from regions.core.recent_log import recent_log_of
from regions.core.store import EventStore, Stream
from regions.core.tailer import Cursor, RecordCursor, Tailer
from regions.core.unreadable import decode

OPENED_TOPIC = get_topic(Stream.Opened)
RECORDED_TOPIC = get_topic(Stream.Recorded)
#: Streams whose key is remembered; a miss costs one read of the stream's first event.
KEY_CACHE_SIZE = 10_000
#: Positions whose `SideEvent` (or None: not a case event) the store's tailers share.
READS_REMEMBERED = 4_096
#: The back-end feed's cursor name (`CursorRecord.id_for`).
FEED_CURSOR: Final = "feed"


class SideReads:
    """What the side-event tailers of one store have read: each position's `SideEvent` (None
    for a record that is not a case event), and each stream's key (None: a register entry)."""

    def __init__(self) -> None:
        self.items: OrderedDict[int, SideEvent | None] = OrderedDict()
        self.keys: OrderedDict[UUID, dict[str, Any] | None] = OrderedDict()

    def remember(self, position: int, item: SideEvent | None) -> None:
        self.items[position] = item
        if len(self.items) > READS_REMEMBERED:
            self.items.popitem(last=False)

    def remember_key(self, stream_id: UUID, key: dict[str, Any] | None) -> None:
        self.keys[stream_id] = key
        self.keys.move_to_end(stream_id)
        if len(self.keys) > KEY_CACHE_SIZE:
            self.keys.popitem(last=False)


def side_reads_of(app: EventStore) -> SideReads:
    """The store's shared reads (made on first use; they go with the application object, so a
    restarted node starts afresh)."""
    found = getattr(app, "side_reads", None)
    if not isinstance(found, SideReads):
        found = SideReads()
        app.side_reads = found  # type: ignore[attr-defined]
    return found


class SideEventTailer(Tailer[SideEvent]):
    topics = (OPENED_TOPIC, RECORDED_TOPIC)

    def __init__(self, region: str, app: EventStore, *, batch_size: int = 500,
                 cursor: Cursor | None = None) -> None:
        super().__init__(app, cursor or RecordCursor(app, FEED_CURSOR, region),
                         batch_size=batch_size)
        self.region = region
        self._reads = side_reads_of(app)

    def forget(self) -> None:
        super().forget()
        self._reads.keys.clear()

    def read(self, notifications: Sequence[Notification], now: dt.datetime) -> list[SideEvent]:
        items: list[SideEvent] = []
        known = self._reads.items
        for notification in notifications:
            position = notification.id
            if position in known:
                item = known[position]
            else:
                item = self._read_one(notification)
                self._reads.remember(position, item)
            if item is not None:
                items.append(item)
        return items

    def _read_one(self, notification: Notification) -> SideEvent | None:
        event = decode(self.app, notification)
        if not isinstance(event, (Stream.Opened, Stream.Recorded)):
            return None  # unreadable: set aside (regions.core.unreadable), the others go on
        if isinstance(event, Stream.Opened):
            key = event.key if event.kind == "side" else None
            self._reads.remember_key(event.originator_id, key)
        else:
            key = self._key_of(event.originator_id)
        if key is None:
            return None  # a register entry
        recent = recent_log_of(self.app)
        return built(notification.id, self.region, key["case_id"], key["case_number"],
                     key["process"], str(event.originator_id), event.originator_version,
                     event.type, event.schema_version, event.payload, event.timestamp,
                     ).with_event(recent.decoded(notification) if recent is not None else None)

    def _key_of(self, stream_id: UUID) -> dict[str, Any] | None:
        keys = self._reads.keys
        if stream_id in keys:
            keys.move_to_end(stream_id)
            return keys[stream_id]
        first = self.app.recorder.select_events(stream_id, lte=1)
        key = None
        if first:
            opened = decode(self.app, first[0])
            if isinstance(opened, Stream.Opened) and opened.kind == "side":
                key = opened.key
        self._reads.remember_key(stream_id, key)
        return key
