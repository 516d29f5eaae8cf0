"""The relay's sink sends every message of its batch before it waits for any ack (`tail_flow`).

`regions.runtime.tail_flow` hands a batch to the relay's sink while the batches before it still
await their acks, and keeps each destination's link order only because a sink call sends all
its messages before it first waits (the recipients side by side, each one's messages pipelined:
`NodeDriver.publish_links`, `NatsBroker.publish_many`). A sink that waited for an ack before
sending its next message — publishes in lock-step, or one recipient's acks before the next
recipient's messages — would let the batch handed on after it reach a destination first.

Checked on the real path: the driver's relay tail flowing (`tail_flow.flow`), the real NATS
adapter, a real nats-server that is frozen (SIGSTOP) so no ack can come. Three batches are
committed and handed on meanwhile, each with several messages to each of two destinations (one
event per message: `link_batch` 1); every message of all three must reach the connection while
the server is frozen, in link order per destination. Then the server thaws and all land.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from domain.kernel import Actor
from domain.protocols import spec_of
from domain.values import CaseNumber, RegionCode
from regions.adapters.brokers.nats import NatsBroker
from regions.adapters.brokers.nats_server import NatsServer
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import Region, build_region
from regions.runtime.driver import NodeDriver
from regions.runtime.tail_flow import RELAY_WINDOW, flow
from regions.wire import link, subjects
from tests.unit import toy_protocol as toy

HOME, ONE, TWO = "150600", "610800", "140200"
CLERK = Actor("staff", "s1", HOME, "clerk")

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def pings(region: Region, *to: str) -> None:
    """One case and its event to each of `to`, in order (one batch for the relay)."""
    for dest in to:
        now = wall()
        number = CaseNumber.new(RegionCode(HOME), now.date(), uuid.uuid4())
        case_id = str(number.case_id)
        outcome = region.node.submit(case_id, str(number), "toy", toy.Ping(
            actor=CLERK, case_id=case_id, n=1, to=dest, home=HOME), now)
        assert outcome.ok, outcome


class Frozen:
    """The server stopped (SIGSTOP) while in the block: it takes nothing and answers nothing."""

    def __init__(self, server: NatsServer) -> None:
        self.server = server

    def __enter__(self) -> Frozen:
        assert self.server.pid is not None
        os.kill(self.server.pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server.pid is not None
        os.kill(self.server.pid, signal.SIGCONT)


def link_seqs(sent: list[tuple[str, bytes]], dest: str) -> list[int]:
    seqs: list[int] = []
    for subject, data in sent:
        if subjects.parse_event_subject(subject)[0] == dest:
            item = link.decode(data)
            seqs.append(getattr(item, "link_seq", 0))
    return seqs


@pytest.fixture
def server(nats_server: NatsServer) -> Iterator[NatsServer]:
    if not nats_server.running:
        nats_server.restart()
    yield nats_server


async def test_every_batch_handed_on_is_sent_whole_before_any_ack_comes(server: NatsServer) -> None:
    broker = await NatsBroker.connect(server.url, timeout=20.0)
    for dest in (ONE, TWO):
        await broker.ensure_stream(dest, duplicate_window=60.0)
    region = build_region(RegionConfig(region=HOME, peers=(ONE, TWO), link_batch=1), clock=wall,
                          ids=uuid.uuid4, broker=None, store=MemoryStore(),
                          protocols={"toy": spec_of("toy", toy)})
    driver = NodeDriver(region, broker)
    relay = driver.tails[0]
    assert relay.name == "relay" and relay.window == RELAY_WINDOW >= 3
    sent: list[tuple[str, bytes]] = []
    nc: Any = broker._nc  # the connection the adapter publishes on: what it hands over, in order
    publish = nc.publish

    async def recorded(subject: str, payload: bytes = b"", **kw: Any) -> None:
        if subject.startswith("tb.v1.evt."):
            sent.append((subject, payload))
        await publish(subject, payload, **kw)

    nc.publish = recorded
    handed: list[int] = []
    sink = relay.sink

    async def counted(items: list[Any]) -> None:
        handed.append(len(items))
        await sink(items)

    relay.sink = counted
    flowing: asyncio.Task[None] | None = None
    try:
        with Frozen(server):
            for batch in range(3):  # each: two events to each destination, interleaved
                await driver.db(pings, region, ONE, TWO, ONE, TWO)
                if flowing is None:
                    flowing = asyncio.create_task(flow(driver, relay, relay.window))
                relay.wake.set()
                deadline = time.monotonic() + 5.0
                while len(handed) <= batch and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                assert len(handed) == batch + 1, "the flow did not hand the batch on"
            await asyncio.sleep(0.2)  # what the sinks would still send, they send now
            # no ack has come: every message of the three batches is on the connection, in order
            assert link_seqs(sent, ONE) == list(range(1, 7))
            assert link_seqs(sent, TWO) == list(range(1, 7))
        deadline = time.monotonic() + 20.0
        while driver.counters["published"] < 12 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # thawed: the acks come, the flow lands the batches
    finally:
        driver.stop()
        if flowing is not None:
            await asyncio.wait_for(flowing, 30)
        driver.close()
        await broker.close()
    assert driver.counters["published"] == 12
