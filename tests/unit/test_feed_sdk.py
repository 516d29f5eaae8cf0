"""The SDK's feed client keeps the messages it holds alive while it handles them: a message of
many events, each handled quickly, may together take longer than the durable's `ack_wait`.

Over the in-memory JetStream (`MemoryBroker`, whose clock is the wall clock here), with the
back-end's stream and durable made directly on its server — it provisions the links' streams
only; the real provisioning and nats-server are `tests/integration/test_backend_feed.py`'s.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from domain.deadlines import DeadlineCleared
from domain.kernel import Actor, to_payload
from domain.values import CaseNumber, RegionCode
from projections.records import SideEvent
from regions.adapters.brokers.memory import MemoryBroker, _Consumer
from regions.sdk.feed import BackendClient
from regions.wire import feed, subjects

REGION = "150600"
NAME = "ledger"


def connected(ack_wait: float = 5.0) -> tuple[MemoryBroker, BackendClient]:
    broker = MemoryBroker(lambda: dt.datetime.now(dt.UTC))
    server = broker._server
    stream = server.create_stream(subjects.feed_stream_name(REGION),
                                  subjects.feed_stream_subjects(REGION), 120.0, 1)
    stream.consumers[NAME] = _Consumer(NAME, dt.timedelta(seconds=ack_wait), -1, 64)
    client = BackendClient("nats://unused", REGION, NAME, fetch_timeout=0.0)
    client._broker = broker.connect()  # type: ignore[assignment]
    client._configure(broker.consumer_info_now(subjects.feed_stream_name(REGION), NAME))
    return broker, client


def one_side(events: int) -> list[SideEvent]:
    number = CaseNumber.new(RegionCode(REGION), dt.date(2026, 3, 2), uuid.UUID(int=1))
    at = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    return [SideEvent(
        position=version, region=REGION, case_id=str(number.case_id), case_number=str(number),
        process="pension_transfer", side_id=str(uuid.UUID(int=2)), version=version,
        type="DeadlineCleared", schema_version=1, payload=to_payload(DeadlineCleared(
            at=at, actor=Actor.system("deadlines", REGION), step=f"s{version}")))
        for version in range(1, events + 1)]


def test_a_message_whose_events_take_longer_than_ack_wait_is_not_redelivered_meanwhile(
) -> None:
    broker, client = connected(ack_wait=0.3)
    broker.publish_many_now(feed.encode_all(one_side(16)))
    other = broker.connect()
    stolen: list[int] = []

    async def slow(event: SideEvent) -> None:
        await asyncio.sleep(0.05)  # each quick; sixteen of them well past ack_wait
        stolen.extend(d.stream_seq for d in other.fetch_now(
            NAME, subjects.feed_stream_name(REGION), 10))

    async def run() -> None:
        await client.poll(slow)

    asyncio.run(run())
    assert client.stats["handled"] == 16
    assert stolen == []
