"""The asyncio driver of a node's sans-IO cores: the real-time twin of the simulator's scheduler.

All store work runs on one dedicated thread (the cores are single-writer and not thread-safe), so
the event loop stays free for the broker; nothing else here touches the database. The thread
takes the hops between regions (relay, inbox) before commands and the feed, and those before
the readers nothing waits on (`regions.runtime.db_thread`). Every tailer
of the region's log (the outbox relay, the back-end feed, later the projections) runs in one
loop shape (`_tail_loop`): it reads what the store has committed, hands the batch to its sink
(the feed publishes pipelined, reading its next batch while the acks come back; the relay
flows, up to `RELAY_WINDOW` batches awaiting acks at once: `regions.runtime.tail_flow`),
and moves its durable cursor only after the sink succeeded — the relay's and the feed's at most
every `CURSOR_SAVE_INTERVAL`, not per batch; a commit wakes the tailers. The inbox fetches a
batch, hands it to the core, and acknowledges only what the core committed — fetching the
next batch meanwhile, and deciding it while these acks come back
(`regions.runtime.inbox_pipeline`). Heartbeats announce
high-water marks and old gaps ask for re-sends. Link items are published one destination at a time (`publish_links`): a
destination that fails (no stream, timeouts) is counted, and the relay leaves it behind and
catches it up from the store on later heartbeats (`retry_links`) while the other links go on
(issue 11, finding 5); only when every destination of a batch fails — the broker itself is
gone — does the batch fail and wait, cursor unmoved. `stop()` lets in-flight batches finish
(nothing is acked that wasn't committed) and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from projections.records import SideEvent
from regions.core.inbox import Incoming
from regions.core.inbox_state import InboxResult
from regions.core.messages import LinkMessage, ResendRequest, WireItem
from regions.core.ports import Broker, BrokerError, Delivery, PublishError
from regions.core.tailer import STORE_CHECK
from regions.runtime import crashpoints
from regions.runtime.bootstrap import Region
from regions.runtime.db_thread import BACKGROUND, NORMAL, RELAY, URGENT, DatabaseThread
from regions.runtime.inbox_pipeline import give_back, run_inbox
from regions.runtime.tail_flow import QUIET, RELAY_WINDOW, Tail, flow, passed_on
from regions.wire import feed as feed_codec
from regions.wire import link, subjects

log = logging.getLogger("tongban.node")
T = TypeVar("T")
#: How far the relay's and the feed's durable cursors may lag what they published
#: (`Tailer.defer_saves`): saved at most every half second or thousand items, not as a
#: transaction of their own per batch. A crash re-sends at most that window (plus a batch);
#: receivers drop the repeats (link sequence; JetStream's message-id dedup window of minutes,
#: then the feed's position), and a clean stop saves what was passed.
CURSOR_SAVE_INTERVAL = dt.timedelta(seconds=0.5)
CURSOR_SAVE_ITEMS = 1000


class NodeDriver:
    def __init__(self, region: Region, broker: Broker, *, fetch_batch: int = 256,
                 fetch_timeout: float = 0.5, timer_period: float = 1.0) -> None:
        self.region = region
        self.link_batch = region.config.link_batch  # events per link message (`encode_many`)
        self.broker = broker
        self.fetch_batch = fetch_batch
        self.fetch_timeout = fetch_timeout
        self.timer_period = timer_period
        self._db = DatabaseThread(f"db-{region.code}")
        self._stop = asyncio.Event()
        #: Tailers of the region's log and their sinks: the outbox relay, the back-end feed,
        #: and whatever `tail()` adds before `run`.
        self.tails = [Tail("relay", region.relay, self.publish_relayed, "published",
                           crashpoints.AFTER_COMMIT_BEFORE_PUBLISH,
                           crashpoints.AFTER_PUBLISH_BEFORE_CURSOR, slack=RELAY,
                           window=RELAY_WINDOW)]
        if region.feed is not None:
            self.tails.append(Tail("feed", region.feed, self.publish_feed, "feed_published"))
        for tail in self.tails:  # their receivers drop repeats: see CURSOR_SAVE_INTERVAL
            tail.tailer.defer_saves(CURSOR_SAVE_INTERVAL, CURSOR_SAVE_ITEMS)
            tail.read_ahead = True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_pending = False
        self.counters = {"published": 0, "feed_published": 0, "consumed": 0, "acked": 0,
                         "errors": 0, "link_publish_failures": 0,
                         "document_requests_throttled": 0}
        #: Commands served by this node's endpoints, by outcome (see `count_command`).
        self.commands: Counter[str] = Counter()
        self.on_batch: list[Callable[[str, int], None]] = []
        #: More long-running components (a command endpoint, an HTTP server...): each is called
        #: with this driver and runs until `stopped` is set.
        self.services: list[Callable[[NodeDriver], Coroutine[Any, Any, None]]] = []
        crashpoints.arm()  # tests' deliberate crashes (regions/runtime/crashpoints.py); inert if unset

    @property
    def stopped(self) -> asyncio.Event:
        return self._stop

    def now(self) -> dt.datetime:
        return self.region.clock()

    async def db(self, fn: Callable[..., T], *args: Any, slack: float = NORMAL) -> T:
        """Run store work on the node's one database thread, after any work due before
        now + `slack` (regions.runtime.db_thread: the hops between regions go first)."""
        result: T = await self._db.call(asyncio.get_running_loop(), slack, fn, *args)
        return result

    def wake_tailers(self) -> None:
        """Thread-safe: something committed, the tailers (relay, feed...) should look.

        One wake-up in flight at a time: a group commit announces every side it changed (a
        hundred in a burst), and each `call_soon_threadsafe` writes to the loop's self-pipe,
        which wakes the loop and hands it the interpreter lock — 20,000 of them in a quick
        bench, ~5 % of a node's database thread (docs/performance.md). A wake-up already
        scheduled runs after this commit, so the tailers still see it. It goes back with the
        database thread's next batch of results (`DatabaseThread.notify`): the commit's own
        result and the tailers' wake-up wake the loop once."""
        if self._loop is not None and not self._wake_pending:
            self._wake_pending = True
            self._db.notify(self._loop, self._wake_all)

    def _wake_all(self) -> None:
        self._wake_pending = False  # first: a commit from now on schedules its own wake-up
        for tail in self.tails:
            tail.wake.set()

    def tail(self, tail: Tail) -> None:
        """Run one more tailer of the region's log (before `run`)."""
        self.tails.append(tail)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.region.node.listeners.append(lambda view, events: self.wake_tailers())
        await self.db(self.region.timer.rebuild)
        for tail in self.tails:  # `now` is the wall clock here: see Tailer.trust
            tail.tailer.trust = STORE_CHECK
        tasks = [asyncio.create_task(self._guard(tail.name, functools.partial(
            self._tail_loop, tail))) for tail in self.tails]
        tasks += [asyncio.create_task(self._guard(name, loop)) for name, loop in (
            ("inbox", self._inbox_loop), ("timer", self._timer_loop),
            ("heartbeat", self._heartbeat_loop))]
        tasks += [asyncio.create_task(service(self)) for service in self.services]
        await self._stop.wait()
        for tail in self.tails:
            tail.wake.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.save_cursors()
        self.close()

    def stop(self) -> None:
        self._stop.set()

    async def save_cursors(self) -> None:
        """A clean stop: every tail's deferred position saved (a restart re-sends nothing)."""
        for tail in self.tails:
            await self._discard_ahead(tail)
            try:
                await self.db(tail.tailer.flush, self.now())
            except Exception:  # the store is gone: the restart re-sends the window instead
                log.exception("%s: saving the cursor at stop failed", tail.name)

    def close(self) -> None:
        """Let the database thread finish what it was given, and end it (`run` does this)."""
        self._db.shutdown(wait=True)

    def count_command(self, outcome: str) -> None:
        """A command endpoint served one, of this kind (`regions.core.commands.KINDS`)."""
        self.commands[outcome] += 1

    async def _guard(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Keep a component alive across transient errors (broker down, database restart)."""
        while not self._stop.is_set():
            try:
                await loop()
            except (BrokerError, OSError) as exc:
                self.counters["errors"] += 1
                log.warning("%s: %s; retrying", name, exc)
                await self._sleep(1.0)
            except Exception:
                self.counters["errors"] += 1
                log.exception("%s failed; retrying", name)
                await self._sleep(1.0)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def publish(self, items: list[WireItem]) -> None:
        """Link items, each destination on its own: one failing never holds up another."""
        await self.publish_links(items)

    async def publish_links(self, items: list[WireItem]) -> dict[str, tuple[int, BrokerError]]:
        """Publish `items` grouped by recipient, in order within each, a recipient's consecutive
        events packed into batched messages (`link.encode_many`), the recipients side by side:
        each one's messages go out before any acks are awaited, so a batch the relay hands on
        while this one's acks come back (`tail_flow`) never reaches a recipient first. The
        recipients that failed, with the first link_seq of theirs not published (0: only control
        items failed) and the error. Raises only when there was something for each recipient and all failed:
        the broker is gone, not one link."""
        groups: dict[str, list[WireItem]] = {}
        for item in items:
            groups.setdefault(recipient_of(item), []).append(item)
        failed: dict[str, tuple[int, BrokerError]] = {}

        async def one(recipient: str, group: list[WireItem]) -> None:
            packets = link.encode_many(group, self.link_batch)  # `link_batch` events at most
            try:
                await self.broker.publish_many([p.out for p in packets])
            except BrokerError as exc:
                done = exc.failed_index if isinstance(exc, PublishError) else 0
                failed[recipient] = (first_seq(packets[done or 0:]), exc)
                self.counters["link_publish_failures"] += 1
                log.warning("publishing to %s failed (%s); the other links go on", recipient, exc)

        if len(groups) == 1:
            await one(*next(iter(groups.items())))
        else:
            for outcome in await asyncio.gather(*(one(r, g) for r, g in groups.items()),
                                                return_exceptions=True):
                if isinstance(outcome, BaseException):
                    raise outcome
        if groups and len(failed) == len(groups):
            raise next(iter(failed.values()))[1]
        return failed

    async def publish_resent(self, items: list[WireItem], request: ResendRequest) -> None:
        """A re-send under fresh msg ids (`link.resent`); failing, the receiver asks again."""
        try:
            await self.broker.publish_many(
                [link.resent(p.out, request) for p in link.encode_many(items, self.link_batch)])
        except BrokerError as exc:
            self.counters["link_publish_failures"] += 1
            log.info("re-send to %s failed (%s); it will ask again", request.destination, exc)

    async def publish_relayed(self, items: list[WireItem]) -> None:
        """The relay's sink: a destination that failed falls behind, to be caught up later."""
        for destination, (first, _) in (await self.publish_links(items)).items():
            if first:
                await self.db(self.region.relay.fell_behind, destination, first, slack=URGENT)

    async def retry_links(self) -> None:
        """Catch up every link the relay left behind, from the store, as far as it now goes.
        (Relay state is only touched on the database thread, like its batches.)"""
        relay = self.region.relay
        for destination in sorted(await self.db(relay.behind)):
            while True:
                start = (await self.db(relay.behind)).get(destination)
                items = await self.db(relay.catch_up, destination, self.now())
                if start is None or not items:
                    break
                try:
                    await self.broker.publish_many([p.out for p in link.encode_many(items, self.link_batch)])
                except BrokerError as exc:
                    self.counters["link_publish_failures"] += 1
                    log.info("link to %s still failing (%s); retried later", destination, exc)
                    break
                self.counters["published"] += len(items)
                sent = [i.link_seq for i in items if isinstance(i, LinkMessage)]
                await self.db(relay.caught_up, destination, max(sent, default=start - 1))
                if not sent:
                    break

    async def publish_feed(self, items: list[SideEvent]) -> None:
        """Every committed side event to the region's back-ends: one message per commit and
        process (`feed_codec.encode_all`), not one per event or side: each is a JetStream
        store with its own fsync and ack, what bounded the product at burst."""
        if items:
            await self.broker.publish_many(feed_codec.encode_all(items))

    async def _tail_loop(self, tail: Tail) -> None:
        if tail.window > 1:
            await flow(self, tail, tail.window)
            return
        while not self._stop.is_set():
            tail.wake.clear()
            if not await self.tail_once(tail):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(tail.wake.wait(), QUIET)

    async def tail_once(self, tail: Tail) -> bool:
        """One batch through a tailer: read, hand to the sink, and only then move the cursor.
        False when there was nothing to read.

        With `read_ahead` the next batch is read (on the database thread) while the sink awaits
        this one's acks, and handed to the sink only after this one went out whole: the
        publishes stay one batch after the other, in order per destination, and a batch the
        sink failed discards the one read after it (read again from the position)."""
        tailer = tail.tailer
        batch = None
        if tail.ahead is not None:
            ahead, tail.ahead = tail.ahead, None
            batch = await ahead
            if batch is not None:
                batch = tailer.still_to_hand_on(batch)
        if batch is None:
            batch = await self.db(tailer.step, self.now(), slack=tail.slack)
        if batch is None:
            if tailer.save_due(self.now()):  # quiet now: what was passed is saved when due
                await self.db(tailer.flush, self.now(), slack=tail.slack)
            return False
        if tail.before_sink:
            crashpoints.reached(tail.before_sink)
        if tail.read_ahead:
            tail.ahead = asyncio.ensure_future(
                self.db(tailer.step, self.now(), batch.position, slack=tail.slack))
        try:
            await tail.sink(batch.items)
        except BaseException:
            await self._discard_ahead(tail)
            raise
        await passed_on(self, tail, batch)
        return True

    async def _discard_ahead(self, tail: Tail) -> None:
        """The batch read ahead is not handed on: the next step reads it again."""
        ahead, tail.ahead = tail.ahead, None
        if ahead is not None:
            with contextlib.suppress(Exception):
                await ahead

    async def _inbox_loop(self) -> None:
        """Pipelined (`regions.runtime.inbox_pipeline`): the next batch is fetched while this
        one commits, and queued on the database thread before this one's acks come back; each
        batch is acked after its own commit, as before; after a failed batch, it and what was
        fetched after it are nak'ed (`give_back`)."""
        code = self.region.code
        consumer, stream = subjects.inbox_consumer_name(code), subjects.event_stream_name(code)

        async def fetch(n: int) -> list[Delivery]:
            return await self.broker.fetch(consumer, stream, n, self.fetch_timeout)

        await run_inbox(fetch, functools.partial(self.db, slack=URGENT), self.decide,
                        self.settle, self._stop, self.fetch_batch,
                        functools.partial(give_back, self.broker))

    async def handle(self, deliveries: list[Delivery]) -> None:
        """One batch decided and settled on its own (the inbox loop's steps, not pipelined)."""
        await self.settle(deliveries, await self.db(self.decide, deliveries, slack=URGENT))

    def decide(self, deliveries: list[Delivery]) -> InboxResult:
        """On the database thread: the inbox core's transaction over a fetched batch."""
        incoming = [Incoming(d.subject, d.data, d.headers, d,
                             subject_origin=_origin_of(d.subject)) for d in deliveries]
        return self.region.inbox.handle(incoming, self.now())

    async def settle(self, deliveries: list[Delivery], result: InboxResult) -> None:
        """After the batch's commit: its acks, the re-sends it asked for or was asked for."""
        self.counters["consumed"] += len(deliveries)
        if result.applied:
            crashpoints.reached(crashpoints.AFTER_COMMIT_BEFORE_ACK)
        await self._ack(result.ack)  # after commit, never before
        self.counters["acked"] += len(result.ack)
        await self.publish(list(result.resend_requests))
        for request in result.resends_asked_of_us:
            items = await self.db(self.region.relay.resend, request.destination,
                                  request.from_seq, request.to_seq, slack=URGENT)
            await self.publish_resent(items, request)
        for listener in self.on_batch:
            listener(self.region.code, result.applied)

    async def _ack(self, deliveries: list[Delivery]) -> None:
        """Ack what the inbox committed: in one go where the broker can (`NatsBroker.ack_many`:
        one confirmation per batch, not per delivery), else one by one."""
        ack_many = getattr(self.broker, "ack_many", None)
        if ack_many is not None:
            await ack_many(deliveries)
            return
        for delivery in deliveries:
            await self.broker.ack(delivery)

    async def _timer_loop(self) -> None:
        while not self._stop.is_set():
            await self.db(self.region.timer.step, self.now())
            await self._sleep(self.timer_period)

    async def _heartbeat_loop(self) -> None:
        period = self.region.config.heartbeat_seconds
        while not self._stop.is_set():
            await self._sleep(period)
            await self.retry_links()
            marks = await self.db(self.region.relay.heartbeat, self.now(), slack=BACKGROUND)
            requests = await self.db(self.region.inbox.check_gaps, self.now(), slack=BACKGROUND)
            await self.publish([*marks, *requests])


def first_seq(packets: list[link.Packet]) -> int:
    """The first link_seq `packets` carry (0: none, only control items): where a link whose
    publish failed at the first of them resumes. A failed batch maps back to its first event:
    the broker may have stored it or not, and the receiver drops what it has by link_seq."""
    for packet in packets:
        for item in packet.items:
            if isinstance(item, LinkMessage):
                return item.link_seq
    return 0


def recipient_of(item: WireItem) -> str:
    """The region a link item goes to (the bench's probe groups what it counts by it too)."""
    return item.destination if isinstance(item, LinkMessage) else item.recipient


def _origin_of(subject: str) -> str:
    try:
        return subjects.parse_event_subject(subject)[1]
    except ValueError:
        return ""
