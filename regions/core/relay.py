"""The outbox relay core: committed shared events out, in commit order (sans-IO).

The relay is a tailer (`regions.core.tailer`) of the store's `OutLink.Sent` records, written in
the same transaction as the events they carry (no dual write). It turns them into link
messages; its driver publishes them and then calls `advance`, which moves the durable cursor.
A crash between publish and cursor only repeats messages, which receivers recognise by their
link sequence. After every batch, and on a heartbeat, it announces each link's high-water mark
so that a receiver can see a lost *last* message. `resend()` answers a receiver's
`ResendRequest` from the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from regions.core.messages import HighWaterMark, LinkMessage, WireItem
from regions.core.store import EventStore, OutLink
from regions.core.tailer import Cursor, RecordCursor, Tailer
from regions.core.unreadable import decode

SENT_TOPIC = get_topic(OutLink.Sent)
#: The relay's cursor name (`CursorRecord.id_for`).
CURSOR: Final = "relay"


class Relay(Tailer[WireItem]):
    topics = (SENT_TOPIC,)

    def __init__(self, region: str, app: EventStore, *, batch_size: int = 500,
                 heartbeat: dt.timedelta = dt.timedelta(seconds=5),
                 cursor: Cursor | None = None) -> None:
        super().__init__(app, cursor or RecordCursor(app, CURSOR, region), batch_size=batch_size)
        self.region = region
        self.heartbeat_every = heartbeat
        self._high: dict[str, int] = {}
        self._last_heartbeat: dt.datetime | None = None
        self.stats.update(resent=0, heartbeats=0)

    def forget(self) -> None:
        """A crash: the in-memory position and marks are gone; the durable cursor is not."""
        super().forget()
        self._high.clear()
        self._last_heartbeat = None

    def read(self, notifications: Sequence[Notification], now: dt.datetime) -> list[WireItem]:
        """The link messages of a batch of `Sent` records, then the links' high-water marks."""
        items: list[WireItem] = []
        touched: dict[str, int] = {}
        for notification in notifications:
            sent = decode(self.app, notification)
            if not isinstance(sent, OutLink.Sent):
                continue  # unreadable: set aside (regions.core.unreadable), the others go on
            message = LinkMessage.from_record(sent.message, sent.originator_version - 1)
            items.append(message)
            touched[message.destination] = message.link_seq
        for destination in sorted(touched):
            self._high[destination] = max(self._high.get(destination, 0), touched[destination])
            items.append(HighWaterMark(self.region, destination, self._high[destination], now))
        return items

    def heartbeat(self, now: dt.datetime) -> list[WireItem]:
        """High-water marks of every link this relay has ever sent on, every `heartbeat`."""
        if self._last_heartbeat is not None and now < self._last_heartbeat + self.heartbeat_every:
            return []
        self._last_heartbeat = now
        marks: list[WireItem] = []
        for destination, seq in sorted(self.high_water_marks().items()):
            marks.append(HighWaterMark(self.region, destination, seq, now))
        self.stats["heartbeats"] += 1
        return marks

    def high_water_marks(self) -> dict[str, int]:
        """Last link_seq *published* per destination (what receivers may expect)."""
        if not self._high:
            # After a restart: everything up to the durable cursor was published.
            for notification in self.app.recorder.select_notifications(
                    start=None, limit=1_000_000, stop=self.position, topics=[SENT_TOPIC]):
                sent = decode(self.app, notification)
                if not isinstance(sent, OutLink.Sent):
                    continue
                dest = sent.message["destination"]
                self._high[dest] = max(self._high.get(dest, 0), sent.originator_version - 1)
        return dict(self._high)

    def resend(self, destination: str, from_seq: int, to_seq: int) -> list[WireItem]:
        """Re-read link messages `from_seq..to_seq` from the store (anti-entropy)."""
        link_id = OutLink.id_for(self.region, destination)
        items: list[WireItem] = []
        # link_seq n is OutLink version n + 1.
        for stored in self.app.recorder.select_events(link_id, gt=max(from_seq, 1),
                                                      lte=to_seq + 1):
            event = decode(self.app, stored)
            if not isinstance(event, OutLink.Sent):
                continue
            items.append(LinkMessage.from_record(event.message, event.originator_version - 1))
        self.stats["resent"] += len(items)
        return items
