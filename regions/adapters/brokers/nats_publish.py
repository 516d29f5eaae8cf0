"""JetStream publishes pipelined over core NATS: each sent with its own reply subject, the
server's acknowledgements matched back to them (`NatsBroker.publish_many`).

Why not nats-py's `JetStreamContext.publish_async`: per message it drew a NUID and two random
bytes (a system call) for its reply token, took an asyncio semaphore, registered a done
callback and built its `PubAck` through `dataclasses.fields` — ~30 % of a message's client CPU
once the stall wait was gone (docs/performance.md, WIRE2). The protocol is the one it speaks
(reference/nats.md): a core publish whose reply subject is `<inbox>.<n>`, under one wildcard
subscription; the server answers with the ack (`{"stream": …, "seq": …, "duplicate": true}`),
with `{"error": {…}}`, or, when no stream holds the subject, with a `503` status: a `PubAck`,
the `APIError` the error names, `NoStreamResponseError`. (nats-py 2.16 raised the `APIError`
inside its reply handler instead of failing the publish, which then waited out its timeout; an
error ack now fails its publish at once.) A reply that never comes is the caller's timeout.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from regions.core.ports import PubAck

_STATUS = "Status"
_NO_RESPONDERS = "503"


class Publishes:
    """The publishes in flight on one connection, by reply token."""

    def __init__(self, nc: NatsClient) -> None:
        self._nc = nc
        self._prefix = ""
        self._sent = 0
        self._waiting: dict[str, asyncio.Future[PubAck]] = {}

    async def open(self) -> None:
        self._prefix = self._nc.new_inbox()
        await self._nc.subscribe(f"{self._prefix}.*", cb=self._on_reply)

    @property
    def pending(self) -> int:
        """Publishes sent whose acknowledgement has not come (nor been given up)."""
        return len(self._waiting)

    async def send(self, subject: str, data: bytes,
                   headers: dict[str, str] | None) -> asyncio.Future[PubAck]:
        """Publish; the future is resolved with the server's acknowledgement."""
        self._sent += 1
        token = str(self._sent)
        future: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        try:
            await self._nc.publish(subject, data, reply=f"{self._prefix}.{token}",
                                   headers=headers)
        except BaseException:
            del self._waiting[token]
            future.cancel()
            raise
        return future

    def abandon(self, futures: list[asyncio.Future[PubAck]]) -> None:
        """Give up on these (a publish that failed): cancel what is still pending, mark the
        failures as seen (no 'never retrieved' noise), and stop waiting for their replies."""
        for future in futures:
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()
        self._waiting = {t: f for t, f in self._waiting.items() if not f.done()}

    async def _on_reply(self, msg: Msg) -> None:
        future = self._waiting.pop(msg.subject.rpartition(".")[2], None)
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get(_STATUS) == _NO_RESPONDERS:
            future.set_exception(nats.js.errors.NoStreamResponseError())
            return
        try:
            reply: Any = json.loads(msg.data)
        except ValueError as exc:
            future.set_exception(nats.errors.Error(f"unreadable publish ack: {exc}"))
            return
        if isinstance(reply, dict) and "error" in reply:
            future.set_exception(_api_error(reply["error"]))
        elif isinstance(reply, dict) and "stream" in reply and "seq" in reply:
            future.set_result(PubAck(stream=reply["stream"], seq=reply["seq"],
                                     duplicate=bool(reply.get("duplicate"))))
        else:
            future.set_exception(nats.errors.Error(f"unreadable publish ack: {msg.data[:200]!r}"))


def _api_error(error: Any) -> Exception:
    """The `APIError` (or subclass) an error ack names (`from_error` raises it)."""
    try:
        nats.js.errors.APIError.from_error(error)
    except nats.js.errors.APIError as exc:
        return exc
    except Exception as exc:  # a malformed error object
        return nats.errors.Error(f"publish refused: {error!r:.200}: {exc!r}")
    return nats.errors.Error(f"publish refused: {error!r:.200}")  # pragma: no cover
