"""The outbox relay core: committed shared events out, in commit order (sans-IO).

The relay is a tailer (`regions.core.tailer`) of the store's `OutLink.Sent` records, written in
the same transaction as the events they carry (no dual write). It turns them into link
messages; its driver publishes them and then calls `advance`, which moves the durable cursor.
A crash between publish and cursor only repeats messages, which receivers recognise by their
link sequence. On a heartbeat it announces each link's high-water mark, so that a receiver can
see a lost *last* message: a mark a batch moved at the next heartbeat, at most one beat later
(the batch itself carries no mark), an unchanged one at a doubling interval (why that is enough:
docs/nats.md, "The relay's high-water marks"). `resend()` answers a receiver's
`ResendRequest` from the store, at most `RESEND_LIMIT` messages at a time (a receiver asking for
a million messages gets the first ones, and asks again for the rest while its gap persists).

Links are isolated (issue 11, finding 5): a destination the driver could not publish to (a peer
not provisioned, its stream gone, timeouts) is marked `fell_behind` from its first unpublished
message, and the cursor moves on, so the other links' messages keep going out. Later batches
leave a link that is behind out (they would only be held behind its gap), and `catch_up` reads
its missed messages from the store — where they stay — until it is whole again. After a restart
the marks are gone, but nothing is lost: the heartbeat announces every link's high-water mark
from the store, and the receiver asks for what it lacks.

The high-water marks are saved with the cursor (`CursorRecord.Marked`, one event per batch as
before), so a start reads them back from the cursor's newest event instead of every `Sent`
record up to it: start-up costs the same however long the region has been sending (issue 11,
finding 11). A cursor saved by an older node, without marks, is read the old way once; the next
batch saves them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Final

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from regions.core.messages import HighWaterMark, LinkMessage, WireItem
from regions.core.store import EventStore, OutLink
from regions.core.tailer import Batch, RecordCursor, Tailer
from regions.core.unreadable import decode

SENT_TOPIC = get_topic(OutLink.Sent)
#: A number a restored store stepped over (`regions.core.link_restore`): it moves the link's mark.
LOST_TOPIC = get_topic(OutLink.Lost)
#: The relay's cursor name (`CursorRecord.id_for`).
CURSOR: Final = "relay"
log = logging.getLogger("tongban.relay")

#: The most link messages one re-send (a receiver's request, or a link catching up) reads.
RESEND_LIMIT: Final = 1000
#: The longest interval, in heartbeats, at which an unchanged high-water mark is repeated.
MARK_REPEAT_MAX_BEATS: Final = 17_280


class Relay(Tailer[WireItem]):
    topics = (SENT_TOPIC, LOST_TOPIC)

    def __init__(self, region: str, app: EventStore, *, batch_size: int = 500,
                 heartbeat: dt.timedelta = dt.timedelta(seconds=5),
                 cursor: RecordCursor | None = None) -> None:
        self.record = cursor or RecordCursor(app, CURSOR, region)
        super().__init__(app, self.record, batch_size=batch_size)
        self.region = region
        self.heartbeat_every = heartbeat
        #: Last link_seq per destination as of the position read; None until read back.
        self._marks: dict[str, int] | None = None
        self._last_heartbeat: dt.datetime | None = None
        #: Per destination, the mark the heartbeat last announced, when it repeats it next and
        #: the interval it waited before that.
        self._announced: dict[str, tuple[int, dt.datetime, dt.timedelta]] = {}
        #: Before this instant no heartbeat has a mark to announce (None: not known, look).
        self._quiet_until: dt.datetime | None = None
        #: Links the driver could not publish to: destination -> first link_seq not published.
        self._behind: dict[str, int] = {}
        #: The marks as of each batch read and not saved yet (its last position -> marks): what
        #: `save` records with that position, though a batch after it may have been read.
        self._read_marks: dict[int, dict[str, int]] = {}
        self.stats.update(resent=0, heartbeats=0, lost_asked=0)

    def forget(self) -> None:
        """A crash: the in-memory position and marks are gone; the durable cursor is not."""
        super().forget()
        self._marks = None
        self._behind.clear()
        self._read_marks.clear()
        self._last_heartbeat = None
        self._announced.clear()
        self._quiet_until = None

    def read(self, notifications: Sequence[Notification], now: dt.datetime) -> list[WireItem]:
        """The link messages of a batch of `Sent` records (their links' marks move; the next
        heartbeat announces them)."""
        high = self._high()
        items: list[WireItem] = []
        touched: dict[str, int] = {}
        for notification in notifications:
            sent = decode(self.app, notification)
            if not isinstance(sent, OutLink.Sent):
                if isinstance(sent, OutLink.Lost):  # the peer has it; its mark moves past it
                    touched[sent.destination] = sent.originator_version - 1
                continue  # unreadable: set aside (regions.core.unreadable), the others go on
            message = LinkMessage.from_record(sent.message, sent.originator_version - 1)
            touched[message.destination] = message.link_seq
            if message.destination not in self._behind:  # caught up from the store instead
                items.append(message)
        for destination in sorted(touched):
            high[destination] = max(high.get(destination, 0), touched[destination])
        if touched:
            # No mark of the batch's own: the links' marks moved, so the next heartbeat (at most
            # one beat later, inside the receivers' gap bound) announces them.
            self._quiet_until = None
        if notifications:
            self._read_marks[notifications[-1].id] = dict(high)
        return items

    def still_to_hand_on(self, batch: Batch[WireItem]) -> Batch[WireItem]:
        """A batch read while the one before was published: a link that fell behind meanwhile
        is caught up from the store (`catch_up`), so its messages stay out of this one, as
        `read` would have left them out (per-link order). Called on the driver's loop thread;
        `_behind` is only looked into."""
        behind = self._behind
        if not behind:
            return batch
        items = [i for i in batch.items
                 if not (isinstance(i, LinkMessage) and i.destination in behind)]
        return Batch(items, batch.position)

    def save(self, position: int, now: dt.datetime) -> None:
        """The cursor, and the marks as of it (not of a batch read after it): what a restart
        reads back."""
        marks = self._read_marks.get(position)
        self.record.save(position, now, marks=self._high() if marks is None else marks)
        for read_to in [p for p in self._read_marks if p <= position]:
            del self._read_marks[read_to]

    def behind(self) -> dict[str, int]:
        """Links the driver could not publish to: destination -> first link_seq not published."""
        return dict(self._behind)

    def fell_behind(self, destination: str, first_unpublished: int) -> None:
        """Publishing to `destination` failed from `first_unpublished` on: leave it out of later
        batches until `catch_up` brought it level (the other links go on)."""
        self._behind[destination] = min(self._behind.get(destination, first_unpublished),
                                        first_unpublished)
        self._quiet_until = None

    def catch_up(self, destination: str, now: dt.datetime) -> list[WireItem]:
        """What a link that fell behind still lacks, from the store (at most `RESEND_LIMIT`
        messages), then its high-water mark; [] if it is not behind."""
        start = self._behind.get(destination)
        if start is None:
            return []
        top = self.high_water_marks().get(destination, 0)
        items: list[WireItem] = []
        if top >= start:
            items, lost = self._reread(destination, start, min(top, start + RESEND_LIMIT - 1))
            while start in lost:  # the peer recorded these (a restore's `Lost`): nothing to send
                start += 1
            self._behind[destination] = start
        return [*items, HighWaterMark(self.region, destination, top, now)] if top else items

    def caught_up(self, destination: str, published_to: int) -> None:
        """`catch_up`'s items up to link_seq `published_to` went out."""
        if destination not in self._behind:
            return
        self._quiet_until = None
        # the first number still to publish: past what went out, and past the numbers a
        # restore stepped over that `catch_up` skipped
        first = max(self._behind[destination], published_to + 1)
        if first > self._high().get(destination, 0):
            del self._behind[destination]
        else:
            self._behind[destination] = first

    def heartbeat(self, now: dt.datetime) -> list[WireItem]:
        """High-water marks of the links this relay has ever sent on, every `heartbeat`: each
        mark that moved since it was last announced, and each unchanged one when its repeat is
        due (the interval doubles per repeat, up to `MARK_REPEAT_MAX_BEATS` heartbeats).

        The doubling counts time, not calls: a repeat waits twice as long as the mark had waited
        since it was last announced. With a heartbeat every beat that is the same ladder; a
        heartbeat called rarely (a stalled loop, the simulator's sparse steps after its workload)
        no longer climbs it one rung per call, repeating every quiet link at each of ~15 calls
        (two thirds of a 300-case simulation's marks, all after its faults had stopped)."""
        if self._last_heartbeat is not None and now < self._last_heartbeat + self.heartbeat_every:
            return []
        self._last_heartbeat = now
        self.stats["heartbeats"] += 1
        if self._quiet_until is not None and now < self._quiet_until:
            return []  # no repeat is due: the same answer as the loop below, without it
        marks: list[WireItem] = []
        longest = self.heartbeat_every * MARK_REPEAT_MAX_BEATS
        quiet_until: dt.datetime | None = None
        for destination, seq in sorted(self.high_water_marks().items()):
            if destination in self._behind:
                continue  # `catch_up` announces it once it can publish there again
            last = self._announced.get(destination)
            if last is None:  # the first beat since a start: the link is as quiet as the cursor
                interval = self._quiet_since_start(now, longest)
            elif last[0] != seq:
                interval = self.heartbeat_every
            elif now >= last[1]:  # twice the time since it was last announced (see below)
                interval = min(max(last[2], now - (last[1] - last[2])) * 2, longest)
            else:
                quiet_until = last[1] if quiet_until is None else min(quiet_until, last[1])
                continue
            self._announced[destination] = (seq, now + interval, interval)
            marks.append(HighWaterMark(self.region, destination, seq, now))
            quiet_until = now + interval if quiet_until is None else min(quiet_until,
                                                                         now + interval)
        # A link behind is announced by `catch_up`, and leaving `_behind` resets this.
        self._quiet_until = quiet_until
        return marks

    def _quiet_since_start(self, now: dt.datetime, longest: dt.timedelta) -> dt.timedelta:
        """How long to wait before repeating a mark first announced after a start: the time
        since the cursor was last saved, within one beat and the longest repeat. Every mark moved
        at or before that save, so each link has been quiet at least that long, and the doubling
        interval would have reached about that much had the relay not restarted: starting over
        at one beat repeated every link ~14 times after each simulated crash."""
        saved = self.record.saved_at()
        if saved is None:
            return self.heartbeat_every
        return min(max(now - saved, self.heartbeat_every), longest)

    def high_water_marks(self) -> dict[str, int]:
        """Last link_seq *published* per destination (what receivers may expect)."""
        return dict(self._high())

    def _high(self) -> dict[str, int]:
        """The marks, read back at the first use after a start (before any batch is counted
        in, or the batch's links would be the only ones known): everything up to the durable
        cursor was published."""
        if self._marks is None:
            saved = self.record.marks()
            self._marks = saved if saved is not None else self._marks_from_history()
        return self._marks

    def _marks_from_history(self) -> dict[str, int]:
        """A cursor saved without marks (by an older node): every `Sent` record up to it, once."""
        marks: dict[str, int] = {}
        for notification in self.app.recorder.select_notifications(
                start=None, limit=1_000_000, stop=self.position, topics=[SENT_TOPIC, LOST_TOPIC]):
            sent = decode(self.app, notification)
            if not isinstance(sent, OutLink.Sent | OutLink.Lost):
                continue
            dest = (sent.message["destination"] if isinstance(sent, OutLink.Sent) else
                    sent.destination)
            marks[dest] = max(marks.get(dest, 0), sent.originator_version - 1)
        return marks

    def resend(self, destination: str, from_seq: int, to_seq: int) -> list[WireItem]:
        """Re-read link messages `from_seq..to_seq` from the store (anti-entropy), at most
        `RESEND_LIMIT` of them: the receiver asks again for the rest while its gap persists."""
        items, lost = self._reread(destination, from_seq, to_seq)
        if lost:  # the asker recorded less than the positions `tongban links restored` was given
            log.error("relay %s: %s asked for %d link message(s) in %d..%d that this store lost "
                      "in a restore from a backup (OutLink.Lost): they cannot be re-sent",
                      self.region, destination, len(lost), from_seq, to_seq)
            self.stats["lost_asked"] += len(lost)
        return items

    def _reread(self, destination: str, from_seq: int, to_seq: int
                ) -> tuple[list[WireItem], set[int]]:
        """The link messages `from_seq..to_seq` in the store (at most `RESEND_LIMIT` numbers),
        and the numbers among them a restore stepped over (`OutLink.Lost`: none to send)."""
        link_id = OutLink.id_for(self.region, destination)
        to_seq = min(to_seq, max(from_seq, 1) + RESEND_LIMIT - 1)
        items: list[WireItem] = []
        lost: set[int] = set()
        # link_seq n is OutLink version n + 1.
        for stored in self.app.recorder.select_events(link_id, gt=max(from_seq, 1),
                                                      lte=to_seq + 1):
            event = decode(self.app, stored)
            if not isinstance(event, OutLink.Sent):
                if isinstance(event, OutLink.Lost):
                    lost.add(event.originator_version - 1)
                continue
            items.append(LinkMessage.from_record(event.message, event.originator_version - 1))
        self.stats["resent"] += len(items)
        return items, lost
