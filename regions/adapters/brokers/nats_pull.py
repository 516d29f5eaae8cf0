"""JetStream's pull (ADR-13) and acknowledgement protocols, spoken over public core NATS calls.

Why not nats-py's `PullSubscription`: its `fetch` raises instead of returning nothing, and a
no-wait pull is reachable only through its private attributes. The protocol is small and stable:
a pull is a request on `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` whose reply subject
receives the messages and then one status (`404` no messages, `408` expired, `409`/`503` refused);
a settle is `+ACK`/`-NAK`/`+WPI`/`+TERM` published to the message's ack subject, and when it
carries a reply subject the server answers once it has applied it.

The pull inbox is a core subscription, so anyone allowed to publish on it can put *plain*
messages there (issue 11, finding 2). Only JetStream deliveries (an ack subject under `$JS.ACK.`)
and statuses (a `Status` header) are queued; anything else is dropped and counted (`dropped`) as
it arrives, and the queue is bounded (`PULL_QUEUE_LIMIT`): beyond it an arrival is dropped and
counted too — a JetStream delivery dropped that way is redelivered after its `ack_wait`, never
lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from regions.core.ports import BrokerError

log = logging.getLogger("tongban.broker.nats")

_STATUS = "Status"
_DESCRIPTION = "Description"
_PULL_DONE = ("404", "408")  # no (more) messages / request expired
_HEARTBEAT = "100"
#: How long a pull waits past its timeout for the server's closing status (s).
PULL_SLACK = 0.5
#: Most messages a pull inbox keeps waiting to be taken (a pull asks for at most its batch).
PULL_QUEUE_LIMIT = 4096
_ACK_PREFIX = "$JS.ACK."


@dataclass(eq=False)
class Handle:
    """What a `Delivery` carries back to the adapter: where to settle, and whether it was."""

    ack_subject: str
    settled: bool = False


class Settles:
    """Settles sent with a reply subject, and the server's answers that they were applied."""

    def __init__(self, nc: NatsClient) -> None:
        self._nc = nc
        self._prefix = ""
        self._sent = 0
        self._waiting: dict[str, asyncio.Future[None]] = {}

    async def open(self) -> None:
        self._prefix = self._nc.new_inbox()
        await self._nc.subscribe(f"{self._prefix}.*", cb=self._on_reply)

    async def send(self, ack_subject: str, payload: bytes, *, confirm: bool = True) -> None:
        """Publish a settle; with `confirm`, one whose application the server will answer.
        Unconfirmed, it is covered by a later confirmed settle to the same consumer: the server
        applies a consumer's settles in the order they came (one queue per consumer) and
        answers each after applying it (`NatsBroker.ack_many`)."""
        if not confirm:
            await self._nc.publish(ack_subject, payload)
            return
        self._sent += 1
        token = str(self._sent)
        self._waiting[token] = asyncio.get_running_loop().create_future()
        try:
            await self._nc.publish(ack_subject, payload, reply=f"{self._prefix}.{token}")
        except BaseException:
            self._waiting.pop(token).cancel()
            raise

    async def confirmed(self, timeout: float) -> None:
        """Wait until the server has answered every settle sent so far (at most `timeout`)."""
        waiting = list(self._waiting.values())
        if waiting:
            _, late = await asyncio.wait(waiting, timeout=timeout)
            if late:
                log.warning("%d settles unconfirmed after %s s", len(late), timeout)
                self.forget()

    def forget(self) -> None:
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()

    async def _on_reply(self, msg: Msg) -> None:
        future = self._waiting.pop(msg.subject.rpartition(".")[2], None)
        if future is not None and not future.done():
            future.set_result(None)


class PullRefused(Exception):
    """The server answered a pull with an error status (503 no responders, 409, 400...)."""


class PullInbox:
    """One consumer's pull inbox: a core subscription on `<inbox>.*`, a request per pull."""

    def __init__(self, nc: NatsClient, next_subject: str) -> None:
        self._nc = nc
        self._next_subject = next_subject
        self._prefix = nc.new_inbox()
        self._queue: deque[Msg] = deque()
        self._arrived = asyncio.Event()
        self._lock = asyncio.Lock()
        self._requests = 0
        self._sub: Subscription | None = None
        #: Messages dropped on arrival: not a JetStream delivery or status, or the queue full.
        self.dropped = 0

    @property
    def prefix(self) -> str:
        """The subscription's subject prefix (replies arrive on `<prefix>.<n>`)."""
        return self._prefix

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def open(self) -> None:
        self._sub = await self._nc.subscribe(f"{self._prefix}.*", cb=self._on_msg)

    async def close(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(nats.errors.Error, OSError):
                await self._sub.unsubscribe()
            self._sub = None
        self.wake()

    def wake(self) -> None:
        self._arrived.set()

    async def _on_msg(self, msg: Msg) -> None:
        if _status(msg) is None and not (msg.reply or "").startswith(_ACK_PREFIX):
            self._drop(msg, "not a JetStream delivery")
            return
        if len(self._queue) >= PULL_QUEUE_LIMIT:
            self._drop(msg, "pull queue full")
            return
        self._queue.append(msg)
        self._arrived.set()

    def _drop(self, msg: Msg, why: str) -> None:
        self.dropped += 1
        if self.dropped == 1 or self.dropped % 1000 == 0:  # a flood must not flood the log too
            log.warning("pull inbox %s: dropped a message on %s (%s); %d dropped so far",
                        self._prefix, msg.subject, why, self.dropped)

    async def pull(self, batch: int, timeout: float, connected: Callable[[], bool]) -> list[Msg]:
        """Up to `batch` messages: those available now, else the first ones to arrive within
        `timeout`; `[]` when none came. `PullRefused` on an error status; `BrokerError` when the
        connection drops while nothing has arrived yet.

        `no_wait` with `expires` (nats-server 2.15): the server waits up to `expires` only while
        it has nothing to send, and closes the request with `404` once it runs dry — so a partial
        batch is never held back for the rest.
        """
        async with self._lock:
            got = self._leftovers(batch)
            if got:
                return got
            self._requests += 1
            reply = f"{self._prefix}.{self._requests}"
            request: dict[str, object] = {"batch": batch, "no_wait": True}
            if timeout > 0:
                request["expires"] = int(timeout * 1_000_000_000)
            await self._nc.publish(self._next_subject, json.dumps(request).encode(), reply=reply)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout + PULL_SLACK
            while len(got) < batch:
                while self._queue and len(got) < batch:
                    msg = self._queue.popleft()
                    status = _status(msg)
                    if status is None:
                        got.append(msg)
                    elif msg.subject != reply or status == _HEARTBEAT:
                        continue  # a late status of an earlier request
                    elif status in _PULL_DONE:
                        return got
                    else:
                        raise PullRefused(f"{status} {_description(msg)}".strip())
                if len(got) == batch:
                    break
                if not connected():
                    if got or self._sub is None:
                        return got
                    raise BrokerError("disconnected from NATS during fetch")
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return got
                self._arrived.clear()
                if not self._queue:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._arrived.wait(), remaining)
            return got

    def _leftovers(self, batch: int) -> list[Msg]:
        """Deliveries that arrived after their request was given up: they are pending for us."""
        found: list[Msg] = []
        while self._queue and len(found) < batch:
            msg = self._queue.popleft()
            if _status(msg) is None:
                found.append(msg)
        return found


def _status(msg: Msg) -> str | None:
    return msg.headers.get(_STATUS) if msg.headers else None


def _description(msg: Msg) -> str:
    for key, value in (msg.headers or {}).items():
        if str(getattr(key, "value", key)) == _DESCRIPTION:
            return value.strip()
    return ""
