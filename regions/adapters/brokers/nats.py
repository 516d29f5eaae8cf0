"""The NATS JetStream adapter of the broker port (nats-py 2.16, nats-server 2.15).

It passes the same contract suite as the memory broker (`tests/contract/broker_contract.py`).
What it has to do that nats-py does otherwise (see `shared/reference/nats.md`):

- **Fetch never raises on an idle stream and never waits for a full batch.** nats-py's
  `PullSubscription.fetch` raises `TimeoutError` when nothing came, and with `batch > 1` can wait
  out the whole timeout for a batch that will not fill (throughput.md §3.6). The adapter speaks the
  pull protocol (ADR-13) itself over a public core subscription (`nats_pull`): one request
  `{"batch": n, "no_wait": true, "expires": timeout}` per fetch. nats-server 2.15 then waits up to
  `expires` for the first message and ends the request with a `404` status as soon as nothing more
  is available, so a partial batch comes back at once and an empty fetch returns `[]` at timeout.
  Each request has its own reply subject (`<inbox>.<n>`), so a late status of an earlier request
  is never taken for the end of the current one; data messages carry their own ack subjects and
  are valid deliveries whichever request they answered. A pull for a missing consumer gets a `503`
  (no responders) or `409 Consumer Deleted`; the adapter then asks JetStream which is missing.
- **A disconnected client is not an idle stream.** While nats-py reconnects (forever, every
  `reconnect_wait`), `publish` raises `PublishError` and `fetch` raises `BrokerError` at once
  instead of buffering for later; a fetch waiting when the connection drops wakes up and raises.
  `is_connected` / `connection_state` report the state for readiness checks.
- **Settles are pipelined but confirmed.** A plain JetStream ack is fire-and-forget and the server
  applies it asynchronously, so `consumer_info` right after `ack` could still count the message as
  pending. Each settle (`+ACK`, `-NAK`, `+WPI`, `+TERM`) is sent with a reply subject instead; the
  server answers once it has applied it. `ack()` does not wait for that answer (acks stay as cheap
  as fire-and-forget), but `consumer_info` and `close` wait for the outstanding ones, so an admin
  view reflects this client's own settles. Settling twice is a no-op; a settle while reconnecting
  is buffered and may be lost, which redelivery and the inbox absorb. `ack_many` (a fetched
  batch the inbox committed) asks for an answer only for the last ack of each consumer's run: the
  server applies one consumer's settles in order, so that answer covers the ones before it — one
  message back per batch instead of one per delivery (~30 µs of the loop each; LOOP). `nak_many`
  the same for naks (what an inbox loop fetched and gives back after a failed batch).
- **`close()` unsubscribes pull inboxes before `drain()`** (a drain after an empty fetch otherwise
  waits for `drain_timeout`, 30 s by default).
- **`publish_many` is pipelined**: every message sent with its own reply subject
  (`nats_publish.Publishes`, what nats-py's `publish_async` does, for less per message), then
  the acks awaited in order, each within `timeout` of the previous one (an ack already in is
  taken without `asyncio.wait_for`); a failure cancels the rest and reports the acks before it.

Provisioning (`ensure_*`, in `nats_admin`) creates what is missing and updates only editable
settings, never touching messages or a consumer's position. Streams are file-backed, limits retention with the
age and byte limits of `retention` (sized from the protocols' longest wait; a message older
than that is re-sent from the origin's store, never lost) and `discard: new` (a full stream
refuses publishes instead of dropping unconsumed messages), purge denied; `persist_mode: async`
is refused. Message deletion stays allowed: operators need it for poison messages, and the
dead-letter stream for "discard".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import Literal

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from regions.adapters.brokers.nats_admin import JetStreamAdmin
from regions.adapters.brokers.nats_connect import ConnectionLog, connect_client
from regions.adapters.brokers.nats_publish import Publishes
from regions.adapters.brokers.nats_pull import Handle, PullInbox, PullRefused, Settles
from regions.core.ports import (
    BrokerError,
    Delivery,
    NoStream,
    Outgoing,
    PubAck,
    PublishError,
)
from regions.wire import subjects

log = logging.getLogger("tongban.broker.nats")

#: JetStream API and publish-ack timeout (s); also the longest pause between pipelined acks.
DEFAULT_TIMEOUT = 5.0
#: Pause between reconnect attempts (s); nats-py's default of 2 s makes restarts slow to notice.
DEFAULT_RECONNECT_WAIT = 0.25
#: How long the first connection may take before `connect` gives up (s).
DEFAULT_CONNECT_TIMEOUT = 5.0

ConnectionState = Literal["connected", "reconnecting", "draining", "closed"]


class NatsBroker(JetStreamAdmin):
    """One client connection to JetStream; implements `Broker` and `BrokerAdmin`.

    Create with `await NatsBroker.connect(url)`. Not thread-safe: one event loop.
    """

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._nc = NatsClient()
        self._prefix = api.DEFAULT_PREFIX
        self._js: JetStreamContext = self._nc.jetstream(prefix=self._prefix, timeout=timeout)
        self._timeout = timeout
        self._inboxes: dict[tuple[str, str], PullInbox] = {}
        self._settles = Settles(self._nc)
        self._publishes = Publishes(self._nc)
        self._closed = False
        self._dropped = 0
        self._log = ConnectionLog(log, "tongban")

    @classmethod
    async def connect(
        cls, url: str | Sequence[str], *, name: str = "tongban", inbox_prefix: str = "_INBOX",
        timeout: float = DEFAULT_TIMEOUT, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        reconnect_wait: float = DEFAULT_RECONNECT_WAIT, ping_interval: float = 10.0,
    ) -> NatsBroker:
        """Connect, then reconnect forever after any loss. `BrokerError` if the first connection
        does not succeed within `connect_timeout`.

        `inbox_prefix` is the NATS user's own reply prefix (`subjects.inbox_prefix`): publish
        acks, pull deliveries and settle confirmations all arrive under it.
        """
        broker = cls(timeout=timeout)
        servers = [url] if isinstance(url, str) else list(url)
        broker._log = ConnectionLog(log, name, on_disconnected=broker._on_disconnected)
        try:
            await asyncio.wait_for(connect_client(
                broker._nc, servers, name=name, inbox_prefix=inbox_prefix, log=broker._log,
                reconnect_wait=reconnect_wait, connect_timeout=min(2.0, connect_timeout),
                max_outstanding_pings=2, ping_interval=ping_interval, drain_timeout=timeout,
            ), connect_timeout)
            await broker._settles.open()
            await broker._publishes.open()
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            with contextlib.suppress(Exception):
                await broker._nc.close()
            raise BrokerError(f"cannot connect to NATS at {', '.join(servers)}: {exc!r}") from exc
        return broker

    # ----------------------------------------------------------------- connection state

    @property
    def is_connected(self) -> bool:
        return not self._closed and self._nc.is_connected

    @property
    def connection_state(self) -> ConnectionState:
        if self._closed or self._nc.is_closed:
            return "closed"
        if self._nc.is_draining:
            return "draining"
        return "connected" if self._nc.is_connected else "reconnecting"

    # ----------------------------------------------------------------- publishing

    async def publish(self, out: Outgoing) -> PubAck:
        subjects.check_publish_subject(out.subject)
        self._require_connected(PublishError)
        try:
            ack = await self._js.publish(out.subject, out.data, timeout=self._timeout,
                                         headers=dict(out.headers) or None)
        except nats.js.errors.NoStreamResponseError as exc:
            raise NoStream(f"no stream holds subject {out.subject!r}") from exc
        except (nats.errors.Error, TimeoutError, OSError) as exc:
            raise PublishError(f"publish to {out.subject} failed: {exc!r}") from exc
        return _pub_ack(ack)

    async def publish_many(self, outs: Sequence[Outgoing]) -> list[PubAck]:
        for out in outs:
            subjects.check_publish_subject(out.subject)
        if not outs:
            return []
        self._require_connected(PublishError)
        publishes, timeout = self._publishes, self._timeout
        futures: list[asyncio.Future[PubAck]] = []
        acks: list[PubAck] = []
        try:
            for out in outs:
                futures.append(await publishes.send(out.subject, out.data,
                                                    dict(out.headers) or None))
            for future in futures:
                # An ack already in is taken as it is: awaiting it through `wait_for` would
                # set up a timer and give up a turn of the loop for nothing.
                acks.append(future.result() if future.done() else
                            await asyncio.wait_for(future, timeout))
        except (nats.errors.Error, TimeoutError, OSError) as exc:
            publishes.abandon(futures)
            index = len(acks)
            cause: BaseException = exc
            if isinstance(exc, nats.js.errors.NoStreamResponseError):
                cause = NoStream(f"no stream holds subject {outs[index].subject!r}")
            elif isinstance(exc, TimeoutError):
                cause = PublishError(f"no ack within {self._timeout} s")
            raise PublishError(f"publish {index + 1} of {len(outs)} failed: {cause}",
                               acks=acks, failed_index=index) from cause
        return acks

    # ----------------------------------------------------------------- consuming

    async def fetch(self, consumer: str, stream: str, batch: int, timeout: float) -> list[Delivery]:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch!r}")
        if timeout < 0:
            raise ValueError(f"fetch timeout must be >= 0 seconds, got {timeout!r}")
        self._require_connected(BrokerError)
        inbox = await self._inbox(stream, consumer)
        try:
            msgs = await inbox.pull(batch, timeout, lambda: self.is_connected)
        except PullRefused as refused:
            await self.consumer_info(stream, consumer)  # NoStream / NoConsumer if one is missing
            raise BrokerError(f"pull from {stream}/{consumer} refused: {refused}") from None
        except (nats.errors.Error, OSError) as exc:
            raise BrokerError(f"fetch from {stream}/{consumer} failed: {exc!r}") from exc
        deliveries = []
        for msg in msgs:
            try:
                deliveries.append(_delivery(msg))
            except Exception as exc:  # hostile metadata: whatever parsing it raises
                self._dropped += 1  # an ack subject that is not JetStream's: not a delivery
                log.warning("fetch from %s/%s: dropped a message on %s: %r",
                            stream, consumer, msg.subject, exc)
        return deliveries

    @property
    def dropped_deliveries(self) -> int:
        """Messages on this client's pull inboxes that were not JetStream deliveries (or did not
        fit the bounded pull queue), dropped and counted instead of handed to the inbox."""
        return self._dropped + sum(inbox.dropped for inbox in self._inboxes.values())

    def pull_queued(self) -> int:
        """Messages waiting in this client's pull inboxes (each at most `PULL_QUEUE_LIMIT`)."""
        return sum(inbox.queued for inbox in self._inboxes.values())

    def pull_inbox_prefix(self, stream: str, consumer: str) -> str:
        """The reply prefix of an open pull inbox (for operators and the hostile tests)."""
        return self._inboxes[(stream, consumer)].prefix

    async def ack(self, d: Delivery) -> None:
        await self._settle(d, Msg.Ack.Ack, final=True)

    async def ack_many(self, deliveries: Sequence[Delivery]) -> None:
        """`ack` each, in order; only the last of a run of one consumer's deliveries asks the
        server to confirm (module docstring: the confirmation covers the ones before it)."""
        await self._settle_many(deliveries, Msg.Ack.Ack)

    async def nak_many(self, deliveries: Sequence[Delivery]) -> None:
        """`nak` each (no delay), in order, confirmed as `ack_many` is: what a node fetched and
        will not decide (its inbox loop ended on a failed batch) comes again at once, in this
        order — the server queues nak'ed messages for redelivery in the order it takes them."""
        await self._settle_many(deliveries, Msg.Ack.Nak)

    async def _settle_many(self, deliveries: Sequence[Delivery], payload: bytes) -> None:
        last = len(deliveries) - 1
        for i, d in enumerate(deliveries):
            confirm = i == last or (deliveries[i + 1].stream, deliveries[i + 1].consumer) != (
                d.stream, d.consumer)
            await self._settle(d, payload, final=True, confirm=confirm)

    async def nak(self, d: Delivery, delay: float = 0.0) -> None:
        if delay < 0:
            raise ValueError(f"nak delay must be >= 0 seconds, got {delay!r}")
        payload = Msg.Ack.Nak
        if delay > 0:
            payload += b" " + json.dumps({"delay": int(delay * 1_000_000_000)}).encode()
        await self._settle(d, payload, final=True)

    async def in_progress(self, d: Delivery) -> None:
        await self._settle(d, Msg.Ack.Progress, final=False)

    async def term(self, d: Delivery) -> None:
        await self._settle(d, Msg.Ack.Term, final=True)

    async def close(self) -> None:
        """Unsubscribe the pull inboxes, then drain (or just close while reconnecting)."""
        if self._closed:
            return
        self._closed = True
        if self._nc.is_connected:
            await self._settles.confirmed(self._timeout)
        for inbox in self._inboxes.values():
            await inbox.close()
        self._inboxes.clear()
        try:
            if self._nc.is_connected:
                await self._nc.drain()
        except (nats.errors.Error, OSError) as exc:
            log.warning("drain failed, closing: %r", exc)
        finally:
            if not self._nc.is_closed:
                await self._nc.close()

    # ----------------------------------------------------------------- internals

    async def _inbox(self, stream: str, consumer: str) -> PullInbox:
        key = (stream, consumer)
        if key not in self._inboxes:
            inbox = PullInbox(self._nc, f"{self._prefix}.CONSUMER.MSG.NEXT.{stream}.{consumer}")
            await inbox.open()
            self._inboxes[key] = inbox
        return self._inboxes[key]

    async def _settle(self, d: Delivery, payload: bytes, *, final: bool,
                      confirm: bool = True) -> None:
        handle = d.handle
        if not isinstance(handle, Handle):
            raise BrokerError("this delivery did not come from a NATS broker")
        if handle.settled:
            return  # the port makes a second settle a no-op
        if self._closed or self._nc.is_closed:
            raise BrokerError("connection closed")
        try:
            await self._settles.send(handle.ack_subject, payload, confirm=confirm)
        except nats.errors.OutboundBufferLimitError as exc:
            # Reconnecting with a full buffer: the settle is lost; the message comes again.
            log.warning("settle of %s seq %d lost while reconnecting: %r",
                        d.stream, d.stream_seq, exc)
        except (nats.errors.Error, OSError) as exc:
            raise BrokerError(f"settle of {d.stream} seq {d.stream_seq} failed: {exc!r}") from exc
        handle.settled = handle.settled or final

    async def _on_disconnected(self) -> None:
        self._settles.forget()  # whether the server applied them is unknowable now
        for inbox in self._inboxes.values():
            inbox.wake()


def _pub_ack(ack: api.PubAck) -> PubAck:
    return PubAck(stream=ack.stream, seq=ack.seq, duplicate=bool(ack.duplicate))


def _delivery(msg: Msg) -> Delivery:
    md = msg.metadata
    headers = {str(k): str(v) for k, v in (msg.headers or {}).items()}
    return Delivery(
        subject=msg.subject, data=msg.data, headers=headers, stream=md.stream,
        consumer=md.consumer, stream_seq=md.sequence.stream, num_delivered=md.num_delivered,
        timestamp=md.timestamp, handle=Handle(msg.reply),
    )
