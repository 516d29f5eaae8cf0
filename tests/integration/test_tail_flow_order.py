"""Batches in flight together keep each destination's order (`regions.runtime.tail_flow`).

The relay's flow hands a batch to its sink while the batches before it still await their acks,
and relies on each sink call sending all its messages before it first waits: then a destination
gets its messages in link order, as one batch at a time gave them. Here a batch for two
destinations, one slow to ack, is followed by a batch for the other alone, handed on exactly as
`tail_flow.flow` hands them (each sink started as a future the moment its batch is read). The
second destination must get its first batch's message before its second's: handed out of order,
its inbox holds the later messages behind a gap, and past the hold window drops them and asks
for them again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence

from domain.kernel import Actor
from domain.protocols import spec_of
from domain.values import CaseNumber, RegionCode
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.inbox_state import Packed
from regions.core.messages import LinkMessage
from regions.core.ports import Outgoing, PubAck
from regions.runtime.bootstrap import Region, build_region
from regions.runtime.driver import NodeDriver
from regions.wire import link, subjects
from tests.unit import toy_protocol as toy

HOME, SLOW, FAST = "150600", "610800", "140200"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
CLERK = Actor("staff", "s1", HOME, "clerk")


class SlowAcks:
    """A broker whose acks from `SLOW`'s stream take a while; it records each message in the
    order it was handed to the connection (what the server stores, in that order)."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def publish_many(self, outs: Sequence[Outgoing]) -> list[PubAck]:
        self.sent.extend(outs)
        slow = any(subjects.parse_event_subject(o.subject)[0] == SLOW for o in outs)
        await asyncio.sleep(0.05 if slow else 0)
        return [PubAck(stream="s", seq=n, duplicate=False) for n, _ in enumerate(outs, 1)]


def ping(region: Region, to: str) -> None:
    number = CaseNumber.new(RegionCode(HOME), T0.date(), uuid.uuid4())
    case_id = str(number.case_id)
    outcome = region.node.submit(case_id, str(number), "toy", toy.Ping(
        actor=CLERK, case_id=case_id, n=1, to=to, home=HOME), T0)
    assert outcome.ok, outcome


def seqs(outs: list[Outgoing], dest: str) -> list[int]:
    found: list[int] = []
    for out in outs:
        if subjects.parse_event_subject(out.subject)[0] != dest:
            continue
        item = link.decode_all(out.data, dict(out.headers))
        items = [m for _, m in item.members] if isinstance(item, Packed) else [item]
        found += [m.link_seq for m in items if isinstance(m, LinkMessage)]
    return found


def test_a_destination_gets_its_messages_in_link_order_across_batches_in_flight() -> None:
    region = build_region(RegionConfig(region=HOME, peers=(SLOW, FAST)), clock=lambda: T0,
                          ids=uuid.uuid4, broker=None, store=MemoryStore(),
                          protocols={"toy": spec_of("toy", toy)})
    broker = SlowAcks()
    driver = NodeDriver(region, broker)  # type: ignore[arg-type]
    relay = region.relay
    ping(region, SLOW)
    ping(region, FAST)
    first = relay.step(T0)  # [SLOW #1, FAST #1]
    ping(region, FAST)
    assert first is not None
    second = relay.step(T0, first.position)  # [FAST #2], read while the first is in flight

    async def main() -> None:
        assert second is not None
        sinks = [asyncio.ensure_future(driver.publish_relayed(first.items))]
        await asyncio.sleep(0)  # the flow reads the next batch meanwhile (a database hop)
        sinks.append(asyncio.ensure_future(driver.publish_relayed(second.items)))
        await asyncio.gather(*sinks)

    try:
        asyncio.run(main())
    finally:
        driver.close()
    assert seqs(broker.sent, SLOW) == [1]
    assert seqs(broker.sent, FAST) == [1, 2]
