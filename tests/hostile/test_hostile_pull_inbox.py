"""Plain messages on a node's pull inbox cannot stall it (issue 11, finding 2), on a real
nats-server 2.15.1.

A node pulls its inbox consumer with requests whose replies arrive on a core subscription
`<inbox prefix>.*` (`regions.adapters.brokers.nats_pull`). Anyone who may publish there (the
admin, or any user of a misconfigured server) can put a *plain* core-NATS message on it: no
JetStream metadata, no ack subject. Such a message must be dropped and counted — never handed
to the inbox, never raising out of `fetch` — while the JetStream deliveries around it come
through, each exactly as published; and a flood of them must not grow the pull queue without
bound.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import nats
import pytest

from regions.adapters.brokers.nats import NatsBroker
from regions.adapters.brokers.nats_pull import PULL_QUEUE_LIMIT
from regions.adapters.brokers.nats_server import NatsServer
from regions.adapters.worker_lock import ProcessLocalLock
from regions.core.config import RegionConfig
from regions.core.ports import Delivery
from regions.runtime.metrics import registry_for, render
from regions.runtime.status import NodeStatus
from tests.contract.broker_contract import DEST, INBOX, ORIGIN, STREAM, event

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def broker(nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
    if not nats_server.running:
        nats_server.restart()
    admin = await nats.connect(nats_server.url)
    js = admin.jetstream()
    for info in await js.streams_info():
        await js.delete_stream(info.config.name or "")
    await admin.close()
    broker = await NatsBroker.connect(nats_server.url)
    await broker.ensure_stream(DEST, duplicate_window=60.0)
    await broker.ensure_consumer(DEST, ack_wait=30.0)
    yield broker
    await broker.close()


async def collect(broker: NatsBroker, want: int, within: float = 10.0) -> list[Delivery]:
    """Fetch (and ack) until `want` deliveries came; every fetch must return, never raise."""
    got: list[Delivery] = []
    deadline = time.monotonic() + within
    while len(got) < want and time.monotonic() < deadline:
        batch = await broker.fetch(INBOX, STREAM, 64, timeout=0.2)
        for delivery in batch:
            await broker.ack(delivery)
        got.extend(batch)
    return got


async def poison(url: str, subject: str, count: int) -> None:
    """An attacker's plain messages on the node's pull inbox (one with a reply subject too; a
    reply under `$JS.ACK.` the server itself refuses to a client)."""
    nc = await nats.connect(url)
    try:
        await nc.publish(subject, b"not a JetStream delivery", reply="_INBOX.attacker.1")
        for n in range(count - 1):
            await nc.publish(subject, f"plain {n}".encode(),
                             headers={"Nats-Msg-Id": f"forged-{n}"} if n % 2 else None)
        await nc.flush()
    finally:
        await nc.close()


async def test_plain_messages_are_dropped_and_counted_and_the_deliveries_come_through(
        broker: NatsBroker, nats_server: NatsServer) -> None:
    assert await broker.fetch(INBOX, STREAM, 8, timeout=0.1) == []  # the pull inbox is open
    prefix = broker.pull_inbox_prefix(STREAM, INBOX)
    await poison(nats_server.url, f"{prefix}.1", 3)
    await asyncio.sleep(0.2)  # the plain messages are in before the real ones
    await broker.publish_many([event(n) for n in range(1, 6)])
    got = await collect(broker, 5)
    assert [d.data for d in got] == [f"event {n}".encode() for n in range(1, 6)]
    assert broker.dropped_deliveries == 3
    assert (await broker.consumer_info(STREAM, INBOX)).num_ack_pending == 0
    status = NodeStatus(RegionConfig(region=DEST, peers=(ORIGIN,)), broker, ProcessLocalLock())
    assert status.totals()["dropped"] == 3  # what /metrics shows
    assert b"tongban_inbox_dropped_total 3.0" in render(registry_for(status))


async def test_a_flood_of_plain_messages_keeps_the_pull_queue_bounded(
        broker: NatsBroker, nats_server: NatsServer) -> None:
    assert await broker.fetch(INBOX, STREAM, 8, timeout=0.1) == []
    prefix = broker.pull_inbox_prefix(STREAM, INBOX)
    flood = PULL_QUEUE_LIMIT + 2_000
    await poison(nats_server.url, f"{prefix}.7", flood)
    deadline = time.monotonic() + 10
    while broker.dropped_deliveries < flood and time.monotonic() < deadline:
        assert broker.pull_queued() <= PULL_QUEUE_LIMIT
        await asyncio.sleep(0.05)
    assert broker.dropped_deliveries == flood
    assert broker.pull_queued() <= PULL_QUEUE_LIMIT
    await broker.publish_many([event(n) for n in range(1, 4)])
    got = await collect(broker, 3)
    assert [d.data for d in got] == [b"event 1", b"event 2", b"event 3"]
