"""The asyncio driver of a node's sans-IO cores: the real-time twin of the simulator's scheduler.

All store work runs on one dedicated thread (the cores are single-writer and not thread-safe), so
the event loop stays free for the broker; nothing else here touches the database. The relay
publishes whatever the store has committed, in pipelined batches, and moves its durable cursor
only after the broker acknowledged the batch; the inbox fetches a batch, hands it to the core,
and acknowledges only what the core committed. Heartbeats announce high-water marks and old gaps
ask for re-sends. `stop()` lets in-flight batches finish (nothing is acked that wasn't committed)
and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from regions.core.inbox import Incoming
from regions.core.messages import WireItem
from regions.core.ports import Broker, BrokerError, Delivery
from regions.runtime import crashpoints
from regions.runtime.bootstrap import Region
from regions.wire import feed as feed_codec
from regions.wire import link, subjects

log = logging.getLogger("tongban.node")
T = TypeVar("T")


class NodeDriver:
    def __init__(self, region: Region, broker: Broker, *, fetch_batch: int = 256,
                 fetch_timeout: float = 0.5, timer_period: float = 1.0) -> None:
        self.region = region
        self.broker = broker
        self.fetch_batch = fetch_batch
        self.fetch_timeout = fetch_timeout
        self.timer_period = timer_period
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"db-{region.code}")
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        #: The back-end feed (`regions.core.feed`): on unless a caller turns it off before `run`.
        self.feed_enabled = True
        self._feed_wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.counters = {"published": 0, "consumed": 0, "acked": 0, "errors": 0}
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

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run store work on the node's one database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, lambda: fn(*args))

    def wake_relay(self) -> None:
        """Thread-safe: something committed, the relay should look."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)
            self._loop.call_soon_threadsafe(self._feed_wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.region.node.listeners.append(lambda view, events: self.wake_relay())
        await self.db(self.region.timer.rebuild)
        tasks = [asyncio.create_task(self._guard(name, loop)) for name, loop in (
            ("relay", self._relay_loop), ("inbox", self._inbox_loop),
            ("timer", self._timer_loop), ("heartbeat", self._heartbeat_loop))]
        tasks += [asyncio.create_task(service(self)) for service in self.services]
        if self.feed_enabled and self.region.feed is not None:
            tasks.append(asyncio.create_task(self._guard("feed", self._feed_loop)))
        await self._stop.wait()
        self._wake.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._db.shutdown(wait=True)

    def stop(self) -> None:
        self._stop.set()

    def count_command(self, outcome: str) -> None:
        """A command endpoint served one: ok, refused, conflict, invalid or error (/metrics)."""
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
        if items:
            await self.broker.publish_many([link.encode(i) for i in items])

    async def _relay_loop(self) -> None:
        relay = self.region.relay
        while not self._stop.is_set():
            self._wake.clear()
            batch = await self.db(relay.step, self.now())
            if batch is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 0.25)
                continue
            crashpoints.reached(crashpoints.AFTER_COMMIT_BEFORE_PUBLISH)
            await self.publish(batch.items)
            crashpoints.reached(crashpoints.AFTER_PUBLISH_BEFORE_CURSOR)
            await self.db(relay.published, batch, self.now())
            self.counters["published"] += len(batch.items)

    async def _feed_loop(self) -> None:
        """Every committed side event to the region's back-ends; the cursor moves after the acks."""
        feed = self.region.feed
        assert feed is not None
        while not self._stop.is_set():
            self._feed_wake.clear()
            batch = await self.db(feed.step, self.now())
            if batch is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._feed_wake.wait(), 0.25)
                continue
            await self.broker.publish_many([feed_codec.encode(item) for item in batch.items])
            await self.db(feed.published, batch, self.now())
            self.counters["feed_published"] = (
                self.counters.get("feed_published", 0) + len(batch.items))

    async def _inbox_loop(self) -> None:
        code = self.region.code
        consumer, stream = subjects.inbox_consumer_name(code), subjects.event_stream_name(code)
        while not self._stop.is_set():
            deliveries = await self.broker.fetch(consumer, stream, self.fetch_batch,
                                                 self.fetch_timeout)
            if not deliveries:
                # A broker may answer "nothing" at once (the in-memory one always does): back
                # off briefly so the loop never spins and starves the other components.
                await self._sleep(0.01)
                continue
            await self.handle(deliveries)

    async def handle(self, deliveries: list[Delivery]) -> None:
        incoming = [Incoming(d.subject, d.data, d.headers, d,
                             subject_origin=_origin_of(d.subject)) for d in deliveries]
        result = await self.db(self.region.inbox.handle, incoming, self.now())
        self.counters["consumed"] += len(deliveries)
        if result.applied:
            crashpoints.reached(crashpoints.AFTER_COMMIT_BEFORE_ACK)
        for token in result.ack:  # after commit, never before
            await self.broker.ack(token)
        self.counters["acked"] += len(result.ack)
        await self.publish(list(result.resend_requests))
        for request in result.resends_asked_of_us:
            items = await self.db(self.region.relay.resend, request.destination,
                                  request.from_seq, request.to_seq)
            await self.publish(list(items))
        for listener in self.on_batch:
            listener(self.region.code, result.applied)

    async def _timer_loop(self) -> None:
        while not self._stop.is_set():
            await self.db(self.region.timer.step, self.now())
            await self._sleep(self.timer_period)

    async def _heartbeat_loop(self) -> None:
        period = self.region.config.heartbeat_seconds
        while not self._stop.is_set():
            await self._sleep(period)
            marks = await self.db(self.region.relay.heartbeat, self.now())
            requests = await self.db(self.region.inbox.check_gaps, self.now())
            await self.publish([*marks, *requests])


def _origin_of(subject: str) -> str:
    try:
        return subjects.parse_event_subject(subject)[1]
    except ValueError:
        return ""
