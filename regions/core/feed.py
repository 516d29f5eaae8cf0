"""The back-end feed relay core: every event committed on this region's case sides, in commit
order, out to the region's own back-ends (sans-IO).

Why a relay of its own, beside the outbox relay: the link relay sends only shared events, one per
destination, and its cursor is part of the inter-region protocol; a back-end (pension, police,
finance system) needs *all* of its region's side events — its own decisions, the receipts of the
counterparts' events, deadlines, timers — and must never slow the links down or be slowed by
them. So the feed tails the same notification log (the store's commit order, no dual write) with
its own durable cursor (`FeedCursor`). A crash between publish and cursor republishes the same
events with the same `Nats-Msg-Id` (the event identity): JetStream drops them within the dedup
window, and after it a back-end sees a repeat, which at-least-once allows and the feed position
(`FeedItem.position`, strictly increasing) lets it recognise.

Register streams (the per-person registers) are not case events and stay off the feed.
Like `regions.core.relay.Relay`, nothing here reads the clock or touches the network.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from regions.core.store import EventStore, FeedCursor, RelayCursor, Stream, save_cursor

OPENED_TOPIC = get_topic(Stream.Opened)
RECORDED_TOPIC = get_topic(Stream.Recorded)
#: Streams whose key is remembered; a miss costs one read of the stream's first event.
KEY_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class FeedItem:
    """One event of one side, as the store holds it, with where it sits in the feed."""

    region: str
    position: int  # notification id: strictly increasing in commit order
    side_id: str
    version: int  # the event's version in the side's stream (1 = the side's first event)
    case_id: str
    case_number: str
    process: str
    type: str
    schema_version: int
    payload: dict[str, Any]

    @property
    def event_id(self) -> str:
        """The event's identity, the same the links use: `<side id>:<version>`."""
        return f"{self.side_id}:{self.version}"


@dataclass(frozen=True)
class FeedBatch:
    items: list[FeedItem]
    position: int  # notification id to record once the items are published


class FeedRelay:
    def __init__(self, region: str, app: EventStore, *, batch_size: int = 500) -> None:
        self.region = region
        self.app = app
        self.batch_size = batch_size
        self._position: int | None = None
        self._cursor: RelayCursor | None = None  # a FeedCursor
        self._keys: OrderedDict[UUID, dict[str, Any] | None] = OrderedDict()
        self.stats = {"published": 0}

    @property
    def position(self) -> int:
        if self._position is None:
            try:
                cursor: FeedCursor = self.app.repository.get(FeedCursor.id_for(self.region))
            except AggregateNotFoundError:
                self._position = 0
            else:
                self._position = cursor.position
        return self._position

    def forget(self) -> None:
        """A crash: the in-memory position is gone; the durable cursor is not."""
        self._position = None
        self._cursor = None
        self._keys.clear()

    def seek(self, position: int) -> None:
        """Read on from `position` (in memory only; the durable cursor stays): a back-end that
        lost its consumer can be fed again from the start."""
        self._position = position

    def step(self, now: dt.datetime) -> FeedBatch | None:
        """The next batch of side events to publish; None when nothing new was committed."""
        notifications = self.app.recorder.select_notifications(
            start=self.position, limit=self.batch_size, topics=[OPENED_TOPIC, RECORDED_TOPIC],
            inclusive_of_start=False)
        if not notifications:
            return None
        items: list[FeedItem] = []
        for notification in notifications:
            event = self.app.mapper.to_domain_event(notification)
            assert isinstance(event, (Stream.Opened, Stream.Recorded))
            if isinstance(event, Stream.Opened):
                key = event.key if event.kind == "side" else None
                self._remember(event.originator_id, key)
            else:
                key = self._key_of(event.originator_id)
            if key is None:
                continue  # a register entry
            items.append(FeedItem(
                region=self.region, position=notification.id, side_id=str(event.originator_id),
                version=event.originator_version, case_id=key["case_id"],
                case_number=key["case_number"], process=key["process"], type=event.type,
                schema_version=event.schema_version, payload=event.payload))
        return FeedBatch(items, notifications[-1].id)

    def published(self, batch: FeedBatch, now: dt.datetime) -> None:
        """The driver published `batch`: remember it durably."""
        try:
            self._cursor = save_cursor(self.app, self._cursor, FeedCursor, self.region,
                                       batch.position, now)
        except Exception:
            self._cursor = None
            raise
        self._position = max(self.position, batch.position)
        self.stats["published"] += len(batch.items)

    def _key_of(self, stream_id: UUID) -> dict[str, Any] | None:
        if stream_id in self._keys:
            self._keys.move_to_end(stream_id)
            return self._keys[stream_id]
        first = self.app.recorder.select_events(stream_id, lte=1)
        key = None
        if first:
            opened = self.app.mapper.to_domain_event(first[0])
            if isinstance(opened, Stream.Opened) and opened.kind == "side":
                key = opened.key
        self._remember(stream_id, key)
        return key

    def _remember(self, stream_id: UUID, key: dict[str, Any] | None) -> None:
        self._keys[stream_id] = key
        self._keys.move_to_end(stream_id)
        if len(self._keys) > KEY_CACHE_SIZE:
            self._keys.popitem(last=False)
