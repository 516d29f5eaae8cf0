"""A small Python client for region back-ends: the region's feed in, commands out.

    async with BackendClient("nats://127.0.0.1:4222", "150600", "pension",
                             process="pension_transfer") as backend:
        await backend.run(handle, stop)      # handle(event: SideEvent) -> awaitable
        # inside `handle`: await backend.commands.command(case_id, ..., command_id=...)

Why this shape: a back-end's work is "react to what happened on my region's cases"; the feed
(`tb.v1.feed.<region>.<process>.<type>`, stream `TB_FEED_<region>`) holds every side event in
commit order, and the back-end's *own* durable consumer remembers how far it got, so a restart
resumes where it stopped and nothing is lost. Delivery is at-least-once: an event is acked only
after the handler returned; if the handler raises, that event is retried before anything behind
it (and handed back in order if the process stops), so handlers must be idempotent — send
commands with deterministic `command_id`s and the node replays the stored outcome instead of
acting twice.
Events this process already handled (by feed position) are acked without calling the handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Final

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.js import api

from projections.records import SideEvent
from regions.adapters.brokers.nats import NatsBroker
from regions.core.ports import BrokerError, Delivery
from regions.sdk.client import RegionClient
from regions.wire import feed as feed_codec
from regions.wire import subjects
from regions.wire.envelope import WireError

log = logging.getLogger("tongban.feed")

Handler = Callable[[SideEvent], Awaitable[None]]
DEFAULT_ACK_WAIT: Final = 60.0
RETRY_DELAY: Final = 1.0
STREAM_NOT_FOUND: Final = 10059  # JetStream API error code


class FeedConsumerMismatch(BrokerError):
    """The back-end's durable consumer exists with another filter (another process)."""


class BackendClient:
    """One back-end of one region: its feed consumer and a `RegionClient` for commands."""

    def __init__(self, url: str, region: str, name: str, *, process: str | None = None,
                 batch: int = 64, fetch_timeout: float = 1.0,
                 ack_wait: float = DEFAULT_ACK_WAIT, retry_delay: float = RETRY_DELAY) -> None:
        self.url = url
        self.region = subjects.region_code(region)
        self.name = subjects.feed_consumer_name(name)
        self.process = process
        self.filter = subjects.feed_filter(region, process)
        self.stream = subjects.feed_stream_name(region)
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch!r}")
        self.batch = batch
        self.fetch_timeout = fetch_timeout
        self.ack_wait = ack_wait
        self.retry_delay = retry_delay
        self.commands = RegionClient(url, region, name=f"tongban-backend-{name}")
        self._broker: NatsBroker | None = None
        self._last_position = 0
        self._held: list[Delivery] = []
        self.stats = {"handled": 0, "repeats": 0, "failed": 0, "undecodable": 0}

    async def connect(self) -> BackendClient:
        if self._broker is None:
            await self.ensure_consumer()
            self._broker = await NatsBroker.connect(self.url, name=f"tongban-feed-{self.name}")
            await self.commands.connect()
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

    async def ensure_consumer(self) -> None:
        """Create this back-end's durable pull consumer on the feed, from the feed's start.

        Idempotent; an existing consumer keeps its position. `BrokerError` when the feed stream
        is missing (run `tongban nats provision`) or the name is taken with another filter.
        """
        nc = NatsClient()
        durations: dict[str, Any] = {"connect_timeout": 2.0}
        try:
            await nc.connect(servers=[self.url], name=f"tongban-feed-admin-{self.name}",
                             allow_reconnect=False, **durations)
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            raise BrokerError(f"cannot connect to NATS at {self.url}: {exc!r}") from exc
        try:
            js = nc.jetstream()
            try:
                info = await js.consumer_info(self.stream, self.name)
            except nats.js.errors.NotFoundError as exc:
                if exc.err_code == STREAM_NOT_FOUND:
                    raise BrokerError(f"no feed stream {self.stream}: run `tongban nats "
                                      f"provision --regions {self.region}`") from exc
                config = api.ConsumerConfig(
                    name=self.name, durable_name=self.name, filter_subject=self.filter,
                    ack_policy=api.AckPolicy.EXPLICIT, deliver_policy=api.DeliverPolicy.ALL,
                    ack_wait=self.ack_wait, max_deliver=-1, max_ack_pending=self.batch)
                await js.add_consumer(self.stream, config)
                return
            if info.config.filter_subject != self.filter:
                raise FeedConsumerMismatch(
                    f"consumer {self.name} on {self.stream} filters "
                    f"{info.config.filter_subject!r}, not {self.filter!r}: choose another name")
        except nats.js.errors.APIError as exc:
            raise BrokerError(f"JetStream refused the feed consumer {self.name}: "
                              f"{exc.description}") from exc
        except (nats.errors.Error, TimeoutError, OSError) as exc:
            raise BrokerError(f"creating the feed consumer {self.name} failed: {exc!r}") from exc
        finally:
            await nc.close()

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
        """Handle the deliveries held from a failed attempt, else one fetch; how many handled.

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
        handled = 0
        while self._held:
            delivery = self._held[0]
            try:
                event = feed_codec.decode(delivery.data)
            except WireError as exc:
                # Not a feed message (nothing recorded is lost: the feed is derived from
                # the store); keep it out of the way of the ones behind it.
                log.error("feed %s: undecodable message %s seq %d: %s", self.name,
                          delivery.subject, delivery.stream_seq, exc)
                self.stats["undecodable"] += 1
                await broker.term(delivery)
                self._held.pop(0)
                continue
            if event.position <= self._last_position:
                self.stats["repeats"] += 1  # republished by the relay after a crash
            else:
                try:
                    await handler(event)
                except Exception:
                    self.stats["failed"] += 1
                    log.exception("feed %s: handler failed on %s %s; retrying it", self.name,
                                  event.type, event.event_id)
                    for held in self._held:
                        await broker.in_progress(held)
                    await asyncio.sleep(self.retry_delay)
                    return handled
                self._last_position = event.position
                self.stats["handled"] += 1
                handled += 1
            await broker.ack(delivery)
            self._held.pop(0)
        return handled
