"""The outbox relay core: committed shared events out, in commit order (sans-IO).

The relay tails the store's notification log for `OutLink.Sent` records (written in the same
transaction as the events they carry — no dual write), turns them into link messages, and leaves
the publishing to its driver. After the driver confirms a batch, `published()` moves the durable
cursor; a crash between publish and cursor only repeats messages, which receivers recognise by
their link sequence. After every batch, and on a heartbeat, it announces each link's high-water
mark so that a receiver can see a lost *last* message. `resend()` answers a receiver's
`ResendRequest` from the store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from regions.core.messages import HighWaterMark, LinkMessage, WireItem
from regions.core.store import EventStore, OutLink, RelayCursor, save_cursor

SENT_TOPIC = get_topic(OutLink.Sent)


@dataclass(frozen=True)
class RelayBatch:
    items: list[WireItem]
    position: int  # notification id to record once the items are published


class Relay:
    def __init__(self, region: str, app: EventStore, *, batch_size: int = 500,
                 heartbeat: dt.timedelta = dt.timedelta(seconds=5)) -> None:
        self.region = region
        self.app = app
        self.batch_size = batch_size
        self.heartbeat_every = heartbeat
        self._position: int | None = None
        self._cursor: RelayCursor | None = None
        self._high: dict[str, int] = {}
        self._last_heartbeat: dt.datetime | None = None
        self.stats = {"published": 0, "resent": 0, "heartbeats": 0}

    @property
    def position(self) -> int:
        if self._position is None:
            self._position = self._load_position()
        return self._position

    def _load_position(self) -> int:
        try:
            cursor: RelayCursor = self.app.repository.get(RelayCursor.id_for(self.region))
        except AggregateNotFoundError:
            return 0
        return cursor.position

    def forget(self) -> None:
        """A crash: the in-memory position is gone; the durable cursor is not."""
        self._position = None
        self._cursor = None
        self._high.clear()
        self._last_heartbeat = None

    def step(self, now: dt.datetime) -> RelayBatch | None:
        """The next batch of messages to publish, with high-water marks; None when idle."""
        notifications = self.app.recorder.select_notifications(
            start=self.position, limit=self.batch_size, topics=[SENT_TOPIC],
            inclusive_of_start=False)
        if not notifications:
            return None
        items: list[WireItem] = []
        touched: dict[str, int] = {}
        for notification in notifications:
            sent = self.app.mapper.to_domain_event(notification)
            assert isinstance(sent, OutLink.Sent)
            message = LinkMessage.from_record(sent.message, sent.originator_version - 1)
            items.append(message)
            touched[message.destination] = message.link_seq
        for destination in sorted(touched):
            self._high[destination] = max(self._high.get(destination, 0), touched[destination])
            items.append(HighWaterMark(self.region, destination, self._high[destination], now))
        return RelayBatch(items, notifications[-1].id)

    def published(self, batch: RelayBatch, now: dt.datetime) -> None:
        """The driver published `batch`: remember it durably."""
        try:
            self._cursor = save_cursor(self.app, self._cursor, RelayCursor, self.region,
                                       batch.position, now)
        except Exception:
            self._cursor = None
            raise
        self._position = max(self.position, batch.position)
        self.stats["published"] += sum(isinstance(i, LinkMessage) for i in batch.items)

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
                sent = self.app.mapper.to_domain_event(notification)
                assert isinstance(sent, OutLink.Sent)
                dest = sent.message["destination"]
                self._high[dest] = max(self._high.get(dest, 0), sent.originator_version - 1)
        return dict(self._high)

    def resend(self, destination: str, from_seq: int, to_seq: int) -> list[WireItem]:
        """Re-read link messages `from_seq..to_seq` from the store (anti-entropy)."""
        link_id = OutLink.id_for(self.region, destination)
        items: list[WireItem] = []
        # link_seq n is OutLink version n + 1.
        for event in self.app.events.get(link_id, gt=max(from_seq, 1), lte=to_seq + 1):
            assert isinstance(event, OutLink.Sent)
            items.append(LinkMessage.from_record(event.message, event.originator_version - 1))
        self.stats["resent"] += len(items)
        return items
