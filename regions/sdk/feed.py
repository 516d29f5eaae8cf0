"""A small Python client for region back-ends: the region's feed in, commands out.

    async with BackendClient("nats://backend_150600_pension:…@127.0.0.1:4222", "150600",
                             "pension") as backend:
        await backend.run(handle, stop)      # handle(event: SideEvent) -> awaitable
        # inside `handle`: await backend.commands.command(case_id, ..., command_id=...)

Why this shape: a back-end's work is "react to what happened on my region's cases"; the feed
(`tb.v1.feed.<region>.<process>.events`, stream `TB_FEED_<region>`) holds every side event in
commit order, one message per commit and process (the events of every case one transaction
decided, up to 100; the handler still gets one event at a time, and the message is acked once
all of them are handled), and the back-end's *own* durable consumer remembers how far it got,
so a restart resumes where it stopped and nothing is lost. The durable is provisioned by the operator
(`tongban nats provision --regions R --backend NAME`); under the shipped `nats.conf` a back-end
may read, pull and ack only its own durable, and never create one. This client connects with
the back-end's own reply prefix (`_INBOX_<region>_<name>`) — the only one its NATS user may
subscribe to.

Delivery is at-least-once: an event is acked only after the handler returned; if the handler
raises, that event is retried before anything behind it (and handed back in order if the
process stops), so handlers must be idempotent — send commands with deterministic
`command_id`s and the node replays the stored outcome instead of acting twice. While this client
handles what it fetched, the messages it holds are kept alive (`+WPI` every third of the
consumer's `ack_wait`), so neither a slow handler nor a message of many events (each handler
quick, their sum longer than `ack_wait`) sees its message redelivered behind its back.

Order and crashes: within one process events are handled in feed order (a failed one is retried
before anything behind it). When a process dies holding deliveries, they come back only once
their `ack_wait` has passed — provisioning's 5 s is what makes the feed drain promptly (60 s
stalled a back-end for a minute) — and if the dead process held fewer than the durable's
`max_ack_pending`, later events reach the next process first. So the client remembers which
events *it* handled (a bounded set, not a high-water mark): a redelivered event it never
handled is handled whenever it comes, a repeat of one it did is acked without calling the
handler. It fetches at most `max_ack_pending` at a time.

What makes a repeat: the same event — its id (`originatorid:originatorversion`) and what it
says (type, schema version, payload with its instant) — not its feed position. Positions are
one store's numbering: a store restored from a backup, rebuilt, or replaced by a fresh one
numbers its events from the same positions again, and a client keyed by position acked the new
events as repeats and never handled them (lost work). The id alone is not enough across a
restore either: the versions a side recorded after the backup are lost with the store and
recorded again with other events. So the key is the id and a digest of the content (nothing
new on the wire: contract 3.0.0 and every older message read as before); an event a rebuilt
store sends again at another position is still a repeat, and one upcast to a newer schema
between two sends is handled again (at-least-once: handlers are idempotent anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Final

from projections.records import SideEvent
from regions.adapters.brokers.nats import NatsBroker
from regions.core.ports import BrokerError, ConsumerInfo, Delivery, NoConsumer, NoStream
from regions.sdk.client import RegionClient
from regions.wire import feed as feed_codec
from regions.wire import subjects
from regions.wire.errors import WireError

log = logging.getLogger("tongban.feed")

Handler = Callable[[SideEvent], Awaitable[None]]
RETRY_DELAY: Final = 1.0
#: Batch size when neither the caller nor the durable (`max_ack_pending`) sets one.
DEFAULT_BATCH: Final = 64
#: How many handled feed events a client remembers (to ack repeats without handling them).
REMEMBERED: Final = 100_000


def identity(event: SideEvent) -> bytes:
    """What recognises a repeat of `event` (see the module's docstring): a 16-byte digest of
    its id, type, schema version and canonical payload — never its position, which another
    store (restored, rebuilt, fresh) gives to another event. `surrogatepass`: the feed's
    decoder reads a lone `\\ud800` escape into the payload, and a key must not raise on it."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (event.event_id, event.type, str(event.schema_version)):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    digest.update(json.dumps(event.payload, sort_keys=True, separators=(",", ":"),
                             ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return digest.digest()


class FeedConsumerMismatch(BrokerError):
    """The back-end's durable consumer exists with another filter (another process)."""


class BackendClient:
    """One back-end of one region: its feed consumer and a `RegionClient` for commands."""

    def __init__(self, url: str, region: str, name: str, *, process: str | None = None,
                 batch: int | None = None, fetch_timeout: float = 1.0,
                 retry_delay: float = RETRY_DELAY) -> None:
        self.url = url
        self.region = subjects.region_code(region)
        self.name = subjects.feed_consumer_name(name)
        self.process = process
        self.filter = subjects.feed_filter(region, process)
        self.stream = subjects.feed_stream_name(region)
        if batch is not None and batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch!r}")
        self.batch = batch or 0  # 0 until connected: the durable's max_ack_pending
        self.fetch_timeout = fetch_timeout
        self.retry_delay = retry_delay
        self.ack_wait = 0.0  # the durable's, once connected
        self.commands = RegionClient(url, region, name)
        self._broker: NatsBroker | None = None
        self._handled: OrderedDict[bytes, None] = OrderedDict()
        self._held: list[Delivery] = []
        self.stats = {"handled": 0, "repeats": 0, "skipped": 0, "failed": 0,
                      "undecodable": 0}

    async def connect(self) -> BackendClient:
        if self._broker is None:
            broker = await NatsBroker.connect(
                self.url, name=f"tongban-feed-{self.region}-{self.name}",
                inbox_prefix=subjects.inbox_prefix(self.region, self.name))
            try:
                self._configure(await self._consumer(broker))
                await self.commands.connect()
            except BaseException:
                await broker.close()
                raise
            self._broker = broker
        return self

    async def close(self) -> None:
        await self.commands.close()
        if self._broker is not None:
            broker, self._broker = self._broker, None
            held, self._held = self._held, []
            with contextlib.suppress(BrokerError):
                for delivery in held:  # in order, at once: the next consumer starts with them
                    await broker.nak(delivery)
            await broker.close()

    async def __aenter__(self) -> BackendClient:
        return await self.connect()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def _consumer(self, broker: NatsBroker) -> ConsumerInfo:
        """This back-end's durable, as provisioned; `BrokerError` saying what to do if not."""
        hint = f"run `tongban nats provision --regions {self.region} --backend {self.name}"
        try:
            info = await broker.consumer_info(self.stream, self.name)
        except NoStream:
            raise BrokerError(f"no feed stream {self.stream}: {hint}`") from None
        except NoConsumer:
            wanted = f"={self.process}" if self.process else ""
            raise BrokerError(f"no durable {self.name} on {self.stream}: {hint}{wanted}`") \
                from None
        whole_feed = ("", subjects.feed_filter(self.region))
        if info.filter_subject != self.filter and not (
                self.process is not None and info.filter_subject in whole_feed):
            raise FeedConsumerMismatch(
                f"consumer {self.name} on {self.stream} filters {info.filter_subject!r}, not "
                f"{self.filter!r}: choose another name")
        return info

    def _configure(self, info: ConsumerInfo) -> None:
        """Fetch no more than the durable lets wait for an ack (so a crash keeps the order)."""
        self.ack_wait = info.ack_wait
        cap = info.max_ack_pending if info.max_ack_pending > 0 else None
        wanted = self.batch or cap or DEFAULT_BATCH
        self.batch = min(wanted, cap) if cap else wanted

    async def run(self, handler: Handler, stop: asyncio.Event) -> None:
        """Handle the feed until `stop` is set; transient broker errors are retried."""
        await self.connect()
        while not stop.is_set():
            try:
                await self.poll(handler)
            except BrokerError as exc:
                log.warning("feed %s of %s: %s; retrying", self.name, self.region, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.retry_delay)

    async def poll(self, handler: Handler) -> int:
        """Handle the deliveries held from a failed attempt, else one fetch; how many events handled.

        After a handler failure the failed delivery and those behind it stay *here* (their
        `ack_wait` kept alive) and are retried first: a nak would let later events overtake
        them. Closing the client hands them back to the broker in order (nak, no delay).
        """
        broker = self._broker
        if broker is None:
            raise BrokerError("not connected: call connect() first")
        if not self._held:
            self._held = await broker.fetch(self.name, self.stream, self.batch,
                                            self.fetch_timeout)
        async with self._kept_alive(broker):
            return await self._handle_held(broker, handler)

    async def _handle_held(self, broker: NatsBroker, handler: Handler) -> int:
        handled = 0
        while self._held:
            delivery = self._held[0]
            try:
                events = feed_codec.decode(delivery.data)
            except WireError as exc:
                # Not a feed message (nothing recorded is lost: the feed is derived from
                # the store); keep it out of the way of the ones behind it.
                log.error("feed %s: undecodable message %s seq %d: %s", self.name,
                          delivery.subject, delivery.stream_seq, exc)
                self.stats["undecodable"] += 1
                await broker.term(delivery)
                self._held.pop(0)
                continue
            for event in events:
                if self.process is not None and event.process != self.process:
                    self.stats["skipped"] += 1  # a durable on the whole feed; not this process
                elif (key := identity(event)) in self._handled:
                    self.stats["repeats"] += 1  # redelivered, or republished by the relay
                else:
                    try:
                        await handler(event)
                    except Exception:
                        # The message stays held; its events handled so far are repeats then.
                        self.stats["failed"] += 1
                        log.exception("feed %s: handler failed on %s %s; retrying it",
                                      self.name, event.type, event.event_id)
                        for held in self._held:
                            await broker.in_progress(held)
                        await asyncio.sleep(self.retry_delay)
                        return handled
                    self._remember(key)
                    self.stats["handled"] += 1
                    handled += 1
            await broker.ack(delivery)
            self._held.pop(0)
        return handled

    def _remember(self, key: bytes) -> None:
        self._handled[key] = None
        if len(self._handled) > REMEMBERED:
            self._handled.popitem(last=False)

    @contextlib.asynccontextmanager
    async def _kept_alive(self, broker: NatsBroker) -> AsyncIterator[None]:
        """While the held deliveries are handled, tell the server every third of `ack_wait`
        that they are still being worked on."""
        async def beat() -> None:
            while True:
                await asyncio.sleep(self.ack_wait / 3)
                with contextlib.suppress(BrokerError):
                    for held in list(self._held):  # the handling pops acked ones meanwhile
                        await broker.in_progress(held)

        task = asyncio.create_task(beat()) if self.ack_wait > 0 else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
