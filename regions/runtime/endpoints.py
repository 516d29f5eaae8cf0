"""One NATS request/reply loop for every endpoint a node serves (commands, documents, later more).

Why one: each endpoint needs the same things — a NATS connection of its own to the node's URL
(the broker port stays JetStream-only, and a reconnect here never disturbs the relay or the
inbox) under the node's own reply prefix, a subscription in a queue group (so API processes of
one region share the load), an answer on the request's reply subject that may be lost without
harm (the requester retries), and a clean stop that answers what was already received. Only
what a request *means* differs, and that is the `Handler` each endpoint passes in
(`regions.runtime.commands`, `regions.runtime.documents`).

**Answers go only to an asker's inbox.** The node's NATS user may answer any request it
received (`allow_responses`), wherever its reply subject points — so a requester could aim the
node's answer at a stream subject, another user's inbox or a JetStream ack subject. The loop
answers only reply subjects under some user's inbox prefix (`subjects.inbox_owner`), and each
handler checks that the prefix is the asker's own (a back-end's for commands, the requesting
region's for documents), returning None otherwise.

nats-py runs one subscription's callbacks one after another, so by default the requests one
endpoint serves are handled one at a time, in arrival order. An endpoint that can do better with
several at once (the command endpoint's group commit) passes `concurrency`: each request is then
handled in a task of its own — started in arrival order, so whatever the handler does before its
first wait still happens in that order — with at most `concurrency` in flight; beyond that the
request is answered at once with the endpoint's `overloaded` reply (bounded memory, and the
requester learns to retry instead of timing out). A stop still answers every request taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from regions.adapters.brokers.nats_connect import ConnectionLog, open_connection
from regions.runtime.driver import NodeDriver
from regions.wire import subjects

log = logging.getLogger("tongban.endpoints")

#: Pause between attempts to reach NATS at start-up (s); afterwards nats-py reconnects itself.
CONNECT_RETRY: Final = 1.0
CONNECT_TIMEOUT: Final = 5.0



@dataclass(frozen=True)
class Request:
    """One request as it arrived: its subject (which may name the sender), bytes, reply."""

    subject: str
    data: bytes
    reply: str


#: A request in, reply bytes out (None: nothing to send).
Handler = Callable[[Request], Awaitable[bytes | None]]


async def serve_requests(driver: NodeDriver, *, name: str, client: str, subject: str, queue: str,
                         handler_for: Callable[[NatsClient], Handler], url: str | None = None,
                         ready: asyncio.Event | None = None, concurrency: int = 1,
                         overloaded: Callable[[Request], bytes | None] | None = None) -> None:
    """Answer requests on `subject` (queue group `queue`) until the driver stops.

    `handler_for` builds the handler once connected (it may need the connection, e.g. its
    `max_payload`); `url` defaults to the node's `nats_url`; `ready` is set once the
    subscription is live. `name` says what serves (in the logs), `client` names the NATS
    connection (`tongban-<client>-<region>`). `concurrency` and `overloaded`: see the module
    docstring (one at a time by default; with no `overloaded` reply a full endpoint waits).
    """
    code = driver.region.code
    nc = await connect(url or driver.region.config.nats_url, driver, f"tongban-{client}-{code}",
                       name)
    if nc is None:
        return
    handle = handler_for(nc)
    in_flight: set[asyncio.Task[None]] = set()

    async def answer(msg: Msg, reply: bytes | None = None) -> None:
        if reply is None:
            reply = await handle(Request(msg.subject, msg.data, msg.reply))
        if reply is None or not msg.reply:
            return
        if subjects.inbox_owner(msg.reply) is None:
            log.warning("%s of %s: no answer to %s on %r: not an inbox", name, code,
                        msg.subject, msg.reply)
            return
        try:
            await msg.respond(reply)
        except (nats.errors.Error, OSError) as exc:  # the requester asks again
            log.warning("reply to %s lost: %r", msg.reply, exc)

    async def guarded(msg: Msg) -> None:
        """A request's own task: what it raises is logged (as nats-py does for a callback)."""
        try:
            await answer(msg)
        except Exception:
            log.exception("%s of %s: a request on %s failed", name, code, msg.subject)

    async def on_request(msg: Msg) -> None:
        if concurrency <= 1:
            await answer(msg)
            return
        while len(in_flight) >= concurrency:
            if overloaded is not None:
                refusal = overloaded(Request(msg.subject, msg.data, msg.reply))
                if refusal is not None:
                    await answer(msg, refusal)
                return
            await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.create_task(guarded(msg))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)

    try:
        subscription = await nc.subscribe(subject, queue=queue, cb=on_request)
        await nc.flush()
        log.info("%s of %s serving %s", name, code, subject)
        if ready is not None:
            ready.set()
        await driver.stopped.wait()
        with contextlib.suppress(nats.errors.Error, OSError, TimeoutError):
            await subscription.drain()  # takes no more; hands on what was received
    finally:
        if in_flight:  # answered before the connection closes
            await asyncio.gather(*in_flight, return_exceptions=True)
        with contextlib.suppress(nats.errors.Error, OSError, TimeoutError):
            await nc.drain()  # answers what was already received, then closes
        if not nc.is_closed:
            await nc.close()


async def connect(url: str, driver: NodeDriver, client_name: str,
                  what: str = "endpoint") -> NatsClient | None:
    """Connect under the node's reply prefix, retrying until the driver stops (None then)."""
    prefix = subjects.inbox_prefix(driver.region.code)
    while not driver.stopped.is_set():
        try:
            return await asyncio.wait_for(open_connection(
                url, name=client_name, inbox_prefix=prefix,
                log=ConnectionLog(log, client_name)), CONNECT_TIMEOUT)
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            log.warning("%s cannot reach NATS at %s: %r; retrying", what, url, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(driver.stopped.wait(), CONNECT_RETRY)
    return None
