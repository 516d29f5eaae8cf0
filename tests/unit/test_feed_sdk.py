"""The SDK's feed client over messages of one commit and process: each event handed to the
handler once, in order, the message acked after the last; a redelivered or republished message
handled no second time; a message of many events kept alive while they are handled.

Over the in-memory JetStream (`MemoryBroker`, whose clock is the wall clock here), with the
back-end's stream and durable made directly on its server — it provisions the links' streams
only; the real provisioning and nats-server are `tests/integration/test_backend_feed.py`'s.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from projections.records import SideEvent
from regions.adapters.brokers.memory import MemoryBroker, _Consumer
from regions.sdk.feed import BackendClient
from regions.wire import feed, subjects
from tests.unit.test_feed_grouping import REGION, Log

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


def commits() -> list[list[SideEvent]]:
    log = Log()
    return [log.commit([1, 2, 3], each=2), log.commit([2, 4])]


def drain(client: BackendClient, seen: list[int]) -> None:
    async def handler(event: SideEvent) -> None:
        seen.append(event.position)

    async def run() -> None:
        while await client.poll(handler) or client._held:
            pass

    asyncio.run(run())


def test_every_event_of_a_commit_message_is_handled_once_in_order_and_the_message_acked(
) -> None:
    broker, client = connected()
    items = [i for commit in commits() for i in commit]
    broker.publish_many_now(feed.encode_all(items))
    seen: list[int] = []
    drain(client, seen)
    assert seen == [i.position for i in items]
    assert client.stats["handled"] == len(items) == 8
    assert broker.consumer_info_now(subjects.feed_stream_name(REGION), NAME).num_ack_pending == 0


def test_a_redelivered_or_regrouped_republished_message_is_handled_no_second_time() -> None:
    broker, client = connected()
    items = [i for commit in commits() for i in commit]
    sent = feed.encode_all(items)
    broker.publish_many_now(sent)
    assert all(ack.duplicate for ack in broker.publish_many_now(sent))  # JetStream's dedup
    seen: list[int] = []
    drain(client, seen)
    broker.faults.forget_dedup()  # after the dedup window, a resend that grouped otherwise:
    broker.publish_now(feed.encode(items[4:]))
    drain(client, seen)
    assert seen == [i.position for i in items]
    assert client.stats["repeats"] == len(items[4:])


def test_a_message_whose_events_take_longer_than_ack_wait_is_not_redelivered_meanwhile(
) -> None:
    broker, client = connected(ack_wait=0.3)
    items = Log().commit(list(range(1, 17)))
    broker.publish_many_now(feed.encode_all(items))
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
