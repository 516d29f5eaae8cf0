"""A message lost mid-stream on a real nats-server, with the inbox consumer provisioned as in
production (`max_ack_pending` = `INBOX_MAX_ACK_PENDING`, 1000), never deadlocks a link: every
case completes (issue 11, finding 4, acceptance).

Why this run and not the simulator's: the simulator's in-memory JetStream models the cap, but
this is the broker that stopped delivering in the review — once 1000 messages held behind a gap
were unacknowledged, it delivered nothing more, not even the re-sent missing one. The loss is
made at the origin's publish (the message never reaches the stream, as when a publish ack is
lost and the relay's cursor had moved on), once; everything after it is published as usual.

- real processes: two nodes (`realworld.running_nodes`, production provisioning) carry pension
  transfers and a household move while one link message is lost; every case ends as expected;
- more messages behind the gap than `max_ack_pending`: 1 200 toy cases are pinged across after
  the loss, so without acknowledging held messages the consumer would stall at 1000; the link
  is whole again and every case is done.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from domain.kernel import Actor
from domain.protocols import spec_of
from regions.adapters.brokers.nats import NatsBroker
from regions.adapters.brokers.nats_server import NatsServer
from regions.adapters.brokers.provision import provision
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.inbox import HOLD_WINDOW
from regions.core.inbox_state import Packed
from regions.core.messages import LinkMessage
from regions.core.ports import INBOX_MAX_ACK_PENDING, Outgoing, PubAck
from regions.runtime.bootstrap import build_region
from regions.runtime.driver import NodeDriver
from regions.wire import link, subjects
from tests.integration import realworld as rw
from tests.unit import toy_protocol as toy

pytestmark = pytest.mark.timeout(240)


class LosesOne:
    """The origin's broker connection, losing the first publish of one link message (the
    `nth` on the link to `destination`; with the later events packed with it, when it travels
    in a batch); re-sends of it go through."""

    def __init__(self, inner: Any, destination: str, nth: int) -> None:
        self.inner = inner
        self.destination = destination
        self.nth = nth
        self.lost: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def publish_many(self, outs: Sequence[Outgoing]) -> list[PubAck]:
        kept = []
        for out in outs:
            if self.lost is None and self._is_the_one(out):
                self.lost = out.msg_id or out.subject
                continue
            kept.append(out)
        return await self.inner.publish_many(kept)

    def _is_the_one(self, out: Outgoing) -> bool:
        if subjects.parse_event_subject(out.subject)[0] != self.destination:
            return False
        found = link.decode_all(out.data, dict(out.headers))  # one event, or a batch of them
        items = [m for _, m in found.members] if isinstance(found, Packed) else [found]
        return any(isinstance(i, LinkMessage) and i.link_seq == self.nth for i in items)


async def consumer_cap(url: str, code: str) -> int:
    broker = await NatsBroker.connect(url, name="tongban-test-cap")
    try:
        info = await broker.consumer_info(subjects.event_stream_name(code),
                                          subjects.inbox_consumer_name(code))
        return info.max_ack_pending
    finally:
        await broker.close()


# --------------------------------------------------------------------------- real processes


async def _real_cases(store: Any, url: str) -> None:
    destination, origin = "150600", "610800"
    async with rw.running_nodes(store, url, (destination, origin)) as nodes:
        assert await consumer_cap(url, destination) == INBOX_MAX_ACK_PENDING
        assert await consumer_cap(url, origin) == INBOX_MAX_ACK_PENDING
        for code, other in ((origin, destination), (destination, origin)):
            driver = nodes[code].driver
            driver.broker = LosesOne(driver.broker, other, 2)  # type: ignore[assignment]
        runs = list(await asyncio.gather(
            rw.pension_transfer(nodes, destination, origin, seed=21),
            rw.pension_transfer(nodes, destination, origin, seed=22, origin_refuses=True),
            rw.household_move(nodes, destination, origin, seed=23)))
        await rw.until_all_ended(nodes, runs)
        await nodes.wait_links_converged(timeout=30)
        lost = [nodes[c].driver.broker.lost for c in (origin, destination)]  # type: ignore[attr-defined]
        assert all(lost), lost  # one message was really lost on each link
        evidence = await nodes.collect({run.case_id: run for run in runs})
        assert [str(v) for v in nodes.judge(evidence)] == []
        for run in runs:
            ends = (evidence[run.destination].summaries[run.case_id].status,
                    evidence[run.origin].summaries[run.case_id].status)
            assert ends == run.expected, f"{run.process} {run.case_id}"


def test_a_message_lost_mid_stream_at_production_max_ack_pending_still_ends_every_case(
        nats_server: NatsServer) -> None:
    store = MemoryStore()
    asyncio.run(_real_cases(store, nats_server.url))


# --------------------------------------------------------------------------- past the cap

A, B = "152900", "140200"
CASES = INBOX_MAX_ACK_PENDING + 200
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


async def _flood(url: str) -> tuple[int, dict[str, int]]:
    await provision((A, B), url)  # production consumer settings
    assert await consumer_cap(url, B) == INBOX_MAX_ACK_PENDING
    store = MemoryStore()
    drivers: dict[str, NodeDriver] = {}
    for code, peer in ((A, B), (B, A)):
        config = RegionConfig(region=code, peers=(peer,), broker="nats", nats_url=url,
                              heartbeat_seconds=0.5, gap_bound_seconds=2)
        broker = await NatsBroker.connect(url, name=f"toy-flood-{code}",  # toy messages: not the contract
                                          inbox_prefix=subjects.inbox_prefix(code))
        region = build_region(config, clock=lambda: dt.datetime.now(dt.UTC), ids=uuid.uuid4,
                              broker=broker, store=store, protocols={"toy": spec_of("toy", toy)})
        drivers[code] = NodeDriver(region, broker, fetch_timeout=0.25, timer_period=0.5)
    losing = LosesOne(drivers[A].broker, B, 3)
    drivers[A].broker = losing  # type: ignore[assignment]
    home = drivers[A].region.node
    cases = []
    for n in range(CASES):
        case_id = toy.new_case(A)
        outcome = home.submit(case_id, toy.number_of(case_id), "toy", toy.Ping(
            actor=Actor("staff", "s1", A), case_id=case_id, n=n, to=B, home=A), T0)
        assert outcome.ok, outcome
        cases.append(case_id)
    tasks = [asyncio.create_task(d.run()) for d in drivers.values()]
    try:
        deadline = asyncio.get_running_loop().time() + 180
        while True:
            done = await drivers[A].db(lambda: sum(
                home.side(c) is not None and home.side(c).state.status == "done"  # type: ignore[union-attr]
                for c in cases))
            if done == CASES or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.25)
    finally:
        for d in drivers.values():
            d.stop()
        await asyncio.gather(*tasks)
        for d in drivers.values():
            await (d.broker.inner if isinstance(d.broker, LosesOne) else d.broker).close()
    assert losing.lost is not None
    return done, dict(drivers[B].region.inbox.stats)


def test_more_messages_behind_a_lost_one_than_max_ack_pending_never_stall_the_link(
        nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # One event per message, as before batches (`link.MAX_BATCH`): the deliveries behind the
    # gap must outnumber the consumer's cap, which packed events would not.
    monkeypatch.setattr(link, "MAX_BATCH", 1)
    done, stats = asyncio.run(_flood(nats_server.url))
    assert done == CASES  # failed before issue 11's fix: the consumer stalled at 1000 held
    assert stats["dropped"] > 0  # past the hold window: acked, dropped, re-sent
    assert stats["gaps"] > HOLD_WINDOW
    assert stats["resend_requests"] >= 1
