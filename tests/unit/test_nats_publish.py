"""`NatsBroker.publish_many`'s acks matched back to their publishes (`nats_publish.Publishes`,
which replaced nats-py's `publish_async`), without a server: each reply resolves the publish
whose token its subject ends in, in whatever order replies come; an error ack, a no-responders
status and an unreadable reply fail that publish alone; a publish given up is not waited for
any longer, and its late reply is dropped; a publish the client could not send leaves nothing
waiting."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Coroutine
from typing import Any

import nats.errors
import nats.js.errors
import pytest

from regions.adapters.brokers.nats_publish import Publishes
from regions.core.ports import PubAck


class Msg:
    def __init__(self, subject: str, data: bytes, headers: dict[str, str] | None = None):
        self.subject, self.data, self.headers = subject, data, headers


class Client:
    """What `Publishes` asks of nats-py's client: an inbox, a subscription, publishes."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, str]] = []
        self.callback: Any = None
        self.refuse = False

    def new_inbox(self) -> str:
        return "_INBOX.test"

    async def subscribe(self, subject: str, cb: Any) -> None:
        assert subject == "_INBOX.test.*"
        self.callback = cb

    async def publish(self, subject: str, data: bytes, reply: str,
                      headers: dict[str, str] | None) -> None:
        if self.refuse:
            raise nats.errors.ConnectionClosedError
        self.sent.append((subject, data, reply))

    async def reply(self, to: int, body: Any = None, headers: dict[str, str] | None = None,
                    raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        await self.callback(Msg(self.sent[to][2], data, headers))


def ran(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """The async test run on a loop of its own (the unit suite has no async plugin)."""
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))
    return run


def ack(seq: int, duplicate: bool = False) -> dict[str, Any]:
    return {"stream": "S", "seq": seq, **({"duplicate": True} if duplicate else {})}


async def opened() -> tuple[Client, Publishes]:
    client = Client()
    publishes = Publishes(client)  # type: ignore[arg-type]
    await publishes.open()
    return client, publishes


@ran
async def test_each_reply_resolves_its_own_publish_in_any_order() -> None:
    client, publishes = await opened()
    futures = [await publishes.send(f"s.{n}", b"x", None) for n in range(3)]
    assert len({reply for _, _, reply in client.sent}) == 3
    await client.reply(2, ack(12))
    await client.reply(0, ack(10, duplicate=True))
    assert publishes.pending == 1 and not futures[1].done()
    await client.reply(1, ack(11))
    assert [f.result() for f in futures] == [PubAck("S", 10, True), PubAck("S", 11, False),
                                             PubAck("S", 12, False)]
    assert publishes.pending == 0


@pytest.mark.parametrize(("reply", "error"), [
    ({"body": {"error": {"code": 503, "err_code": 10077, "description": "full"}}},
     nats.js.errors.ServiceUnavailableError),
    ({"body": {"error": {"code": 400, "description": "bad"}, "stream": "S", "seq": 1}},
     nats.js.errors.BadRequestError),
    ({"raw": b"", "headers": {"Status": "503"}}, nats.js.errors.NoStreamResponseError),
    ({"raw": b"not json"}, nats.errors.Error),
    ({"body": {"stream": "S"}}, nats.errors.Error),
    ({"body": {"error": "not an object"}}, nats.errors.Error),
])
@ran
async def test_a_refusal_fails_that_publish_alone(reply: dict[str, Any],
                                                  error: type[Exception]) -> None:
    client, publishes = await opened()
    refused, other = [await publishes.send("s", b"x", None) for _ in range(2)]
    await client.reply(0, **reply)
    with pytest.raises(error):
        refused.result()
    assert not other.done() and publishes.pending == 1
    await client.reply(1, ack(2))
    assert other.result().seq == 2


@ran
async def test_a_publish_given_up_is_not_waited_for_and_its_late_reply_is_dropped() -> None:
    client, publishes = await opened()
    mine = [await publishes.send("s", b"x", None) for _ in range(2)]
    theirs = await publishes.send("s", b"y", None)  # another batch's, still in flight
    await client.reply(0, {"error": {"code": 500, "description": "boom"}})
    publishes.abandon(mine)
    assert mine[1].cancelled() and publishes.pending == 1
    await client.reply(1, ack(5))  # late: nobody waits for it
    await client.reply(2, ack(6))
    assert theirs.result().seq == 6 and publishes.pending == 0


@ran
async def test_a_publish_not_sent_leaves_nothing_waiting() -> None:
    client, publishes = await opened()
    client.refuse = True
    with pytest.raises(nats.errors.ConnectionClosedError):
        await publishes.send("s", b"x", None)
    assert publishes.pending == 0
    client.refuse = False
    future = await publishes.send("s", b"x", None)
    await client.reply(0, ack(1))
    assert future.result().seq == 1


def test_tokens_are_never_reused() -> None:
    async def go() -> set[str]:
        client, publishes = await opened()
        for _ in range(50):
            future = await publishes.send("s", b"x", None)
            publishes.abandon([future])
        return {reply for _, _, reply in client.sent}

    assert len(asyncio.run(go())) == 50
