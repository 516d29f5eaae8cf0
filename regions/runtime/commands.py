"""The command endpoint: region back-ends (any language) send commands over NATS request/reply.

Why NATS request/reply on `tb.v1.cmd.<region>.<backend>`: a region's social-insurance, police
or bank system already reaches the node's NATS; one JSON request per command
(`regions.wire.commands`) needs no SDK, and the subject names the sender: only back-end
`<backend>`'s NATS user may publish on it (`deploy/nats/nats.conf`), so the endpoint takes the
command's principal, `backend:<backend>`, from the subject and never from the body. What that
principal may command is `regions.core.authority`'s rule, applied by the command service.

A request whose reply subject is not under the sending back-end's own prefix
(`_INBOX_<region>_<backend>.`) is neither executed nor answered: the back-end could not read
the answer anyway, and the node must not publish it wherever the request pointed.

How it fits the node:
- It is a driver service (`NodeDriver.services`) on the shared request/reply loop
  (`regions.runtime.endpoints.serve_requests`: its own NATS connection, a queue group, lossy
  replies, a draining stop).
- What a command *means* — the target region, submit or command, idempotency, the error codes —
  is the command service's (`regions.core.commands`), run on the node's one database thread
  (`driver.db(...)`), so a command is decided and saved exactly like one from the API, the
  inbox or the timer, with its idempotency record in the same transaction. This adapter only
  decodes, calls the service and encodes.
- Bad input never crashes it and never touches the store: what does not decode is answered
  with the field at fault; a domain refusal is answered with its code and the stored outcome.

**Group commit** (issue 17). One transaction per command, one command at a time, held a node's
commands over NATS to one database round trip and one commit each, whatever the back-ends
sent. So requests are taken concurrently (`serve_requests(concurrency=MAX_WAITING)`), decoded
as they arrive, and queued; whenever the database thread is free of the last batch, everything
queued (at most `MAX_BATCH`) goes to it in one call, `CommandService.handle_many`, which answers
each exactly as `handle` would one after another (`regions.core.command_batch` says why that
holds) in as few transactions as that allows. A lone request goes at once, alone: batching adds
no wait. Past `MAX_WAITING` requests in the endpoint, a request is answered `overloaded` without
being run (bounded memory; the back-end retries with the same command id). A case query waits
for the commands received before it, so it sees them, as it did when all went one at a time.
A stop that cancels the batches still answers each request taken: `unavailable` if it never
ran (retry with the same id), else the outcome its batch committed (`_Batch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Final

from regions.core.authority import backend_principal
from regions.core.case_query import case_state
from regions.core.commands import (
    INTERNAL_ERROR,
    OVERLOADED,
    UNAVAILABLE,
    CommandError,
    CommandRequest,
    CommandResult,
    CommandService,
    InvalidRequest,
)
from regions.runtime.driver import NodeDriver
from regions.runtime.endpoints import Request, serve_requests
from regions.wire import case_query, subjects
from regions.wire.commands import decode_request, encode_reply

log = logging.getLogger("tongban.backend")

#: Requests one endpoint holds at once (queued, in a batch, being answered); past it: overloaded.
MAX_WAITING: Final = 1024
#: Commands in one call to the database thread (one batch holds it, and the hops behind it, for
#: about this many decisions).
MAX_BATCH: Final = 128


def queue_group(region: str) -> str:
    """The queue group of a region's endpoints: each request is served by one of them."""
    return f"tb_cmd_{subjects.region_code(region)}"


class CommandEndpoint:
    """Request bytes in, reply bytes out, for one driven node: decode, run the command service
    on the node's database thread, encode. Knows nothing of NATS.

    `batch=False` runs each command in a database call of its own (`handle` one at a time:
    what the endpoint did before group commit, kept for the benchmark's comparison)."""

    def __init__(self, driver: NodeDriver, *, batch: bool = True,
                 max_batch: int = MAX_BATCH) -> None:
        self.driver = driver
        self.service = CommandService.for_config(driver.region.node, driver.region.config)
        self.batch = batch
        self.max_batch = max_batch
        self._queued: list[tuple[CommandRequest, asyncio.Future[CommandResult]]] = []
        self._sender: asyncio.Task[None] | None = None
        #: The last command queued: a case query waits for it (and so for all before it).
        self._last: asyncio.Future[CommandResult] | None = None

    async def handle(self, data: bytes, principal: str) -> bytes:
        """The reply to `data`, a request from `principal` (the transport vouches for it): a
        case query's answer (`regions.wire.case_query`), or a command's."""
        try:
            case_id = case_query.query_of(data)
        except InvalidRequest as exc:
            return case_query.encode_refusal(CommandError(exc.code, str(exc), exc.field))
        if case_id is not None:
            return await self.query(case_id)
        try:
            request = decode_request(data, principal)
        except InvalidRequest as exc:
            result = CommandResult.refusing(exc)
        except Exception as exc:  # a decoder bug must not cost the requester its answer
            log.exception("undecodable command request")
            result = CommandResult(error=CommandError("invalid_request", f"unreadable: {exc!r}"))
        else:
            if self.batch:
                result = await self._queue(request)
            else:
                result = await self.driver.db(self._handle, request)
        self.driver.count_command(result.kind)
        return encode_reply(result)

    def overloaded(self) -> bytes:
        """The reply to a request the endpoint has no room for (nothing was run)."""
        result = CommandResult(error=OVERLOADED)
        self.driver.count_command(result.kind)
        return encode_reply(result)

    async def query(self, case_id: str) -> bytes:
        """The case's state as this region committed it, read on the database thread after the
        commands received before the query."""
        if self._last is not None and not self._last.done():
            await asyncio.wait([self._last])
        state = await self.driver.db(case_state, self.driver.region.node, case_id)
        if state is None:
            return case_query.encode_refusal(CommandError(
                "unknown_case", f"region {self.driver.region.code} holds no case {case_id}",
                "case_id"))
        return case_query.encode_state(state)

    def _queue(self, request: CommandRequest) -> asyncio.Future[CommandResult]:
        """Queue `request` for the next batch (in arrival order); its answer comes later."""
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._queued.append((request, future))
        self._last = future
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send())
        return future

    async def _send(self) -> None:
        """Hand the queue to the database thread, a batch at a time, until it is empty.

        Cancelled (a stop), it still answers every request it took: the queued ones
        `unavailable` (nothing of them ran), and the batch the database thread holds what that
        batch decides (`_Batch`) — a committed command is never answered as a failure."""
        batch: _Batch | None = None
        try:
            while self._queued:
                batch = _Batch(self._queued[:self.max_batch], self._handle_many)
                del self._queued[:self.max_batch]
                try:
                    results = await self.driver.db(batch.run)
                except Exception:  # the database thread is gone (a stop): the asker retries
                    log.exception("a batch of %d commands could not be run", len(batch.waiting))
                    results = batch.failed()
                batch.answer(results)
                batch = None
        finally:
            if batch is not None:  # cancelled while the batch was on the database thread
                batch.abandon(asyncio.get_running_loop())
            for _, future in self._queued:
                if not future.done():
                    future.set_result(CommandResult(error=UNAVAILABLE))
            self._queued.clear()

    def _handle(self, request: CommandRequest) -> CommandResult:
        """On the database thread, at the node's clock."""
        return self.service.handle(request, self.driver.now())

    def _handle_many(self, requests: list[CommandRequest]) -> list[CommandResult]:
        """On the database thread, at the node's clock: one batch."""
        return self.service.handle_many(requests, self.driver.now())


class _Batch:
    """One batch's requests, and whether the database thread has started them.

    Why: a database call cancelled on the loop still runs if its thread had already taken it,
    and its result is then dropped. So the batch's own call claims it under a lock: a stop that
    comes first keeps it from running (answered `unavailable`); one that comes later lets it
    finish, and the call hands its answers to the loop itself."""

    def __init__(self, waiting: list[tuple[CommandRequest, asyncio.Future[CommandResult]]],
                 handle_many: Callable[[list[CommandRequest]], list[CommandResult]]) -> None:
        self.waiting = waiting
        self._handle_many = handle_many
        self._lock = threading.Lock()
        self._started = False
        #: Set by a stop: the loop to hand the answers to (None: the awaiting sender takes them).
        self._orphaned: asyncio.AbstractEventLoop | None = None
        self._results: list[CommandResult] | None = None

    def run(self) -> list[CommandResult] | None:
        """On the database thread: decide the batch, unless a stop abandoned it first."""
        with self._lock:
            if self._orphaned is not None:
                return None
            self._started = True
        try:
            results = self._handle_many([request for request, _ in self.waiting])
        except Exception:
            log.exception("a batch of %d commands could not be run", len(self.waiting))
            results = [CommandResult(error=INTERNAL_ERROR)] * len(self.waiting)
        with self._lock:
            self._results = results
            loop = self._orphaned
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(self.answer, results)
        return results

    def failed(self) -> list[CommandResult] | None:
        """On the loop, when the database call raised: None (answered `unavailable`) if the
        batch never started — and now never will —, else `internal_error` for each."""
        with self._lock:
            if not self._started:
                self._orphaned = asyncio.get_running_loop()
                return None
        return [CommandResult(error=INTERNAL_ERROR)] * len(self.waiting)

    def answer(self, results: list[CommandResult] | None) -> None:
        """On the loop: settle each request with its answer."""
        if results is None:  # abandoned before it ran
            results = [CommandResult(error=UNAVAILABLE)] * len(self.waiting)
        for (_, future), result in zip(self.waiting, results, strict=True):
            if not future.done():
                future.set_result(result)

    def abandon(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the loop, at a stop: answer now what can be; the rest when its call returns."""
        with self._lock:
            self._orphaned = loop
            started, results = self._started, self._results
        if not started:
            self.answer(None)
        elif results is not None:
            self.answer(results)


async def serve_commands(driver: NodeDriver, *, url: str | None = None,
                         ready: asyncio.Event | None = None, batch: bool = True) -> None:
    """The driver service: answer `tb.v1.cmd.<region>.*` until the driver stops.

    `url` defaults to the node's `nats_url`; `ready` is set once the subscription is live;
    `batch=False` serves one request at a time, each in a transaction of its own (what the
    endpoint did before group commit: the benchmark's comparison).
    """
    code = driver.region.code
    endpoint = CommandEndpoint(driver, batch=batch)

    def sender(request: Request) -> str | None:
        """The back-end that sent `request`, if it may be answered where it asks; else None."""
        try:
            address = subjects.parse_subject(request.subject)
        except ValueError:
            address = None
        if address is None or address.kind != "cmd" or address.backend is None \
                or address.region != code:
            log.warning("command endpoint of %s: ignored a request on %r", code, request.subject)
            driver.count_command("invalid")
            return None
        backend = address.backend
        if request.reply and subjects.inbox_owner(request.reply) != (code, backend):
            log.warning("command endpoint of %s: back-end %s asked for the answer on %r, not "
                        "under its own %s.; not executed", code, backend, request.reply,
                        subjects.inbox_prefix(code, backend))
            driver.count_command("invalid")
            return None
        return backend

    async def handle(request: Request) -> bytes | None:
        backend = sender(request)
        if backend is None:
            return None
        answer = await endpoint.handle(request.data, backend_principal(backend))
        if not request.reply:
            log.info("a command of back-end %s without a reply subject was executed; it "
                     "cannot learn the outcome", backend)
        return answer

    def overloaded(request: Request) -> bytes | None:
        if sender(request) is None:
            return None
        log.warning("command endpoint of %s: %d requests waiting; answered overloaded", code,
                    MAX_WAITING)
        return endpoint.overloaded()

    await serve_requests(driver, name="command endpoint", client="cmd",
                         subject=subjects.command_filter(code), queue=queue_group(code),
                         handler_for=lambda nc: handle, url=url, ready=ready,
                         concurrency=MAX_WAITING if batch else 1, overloaded=overloaded)
