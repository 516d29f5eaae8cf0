"""The SDK's feed client over messages of one commit and process: each event handed to the
handler once, in order, the message acked after the last; a redelivered or republished message
handled no second time; a message of many events kept alive while they are handled.

Over the in-memory JetStream (`MemoryBroker`, whose clock is the wall clock here), with the
back-end's stream and durable made directly on its server — it provisions the links' streams
only; the real provisioning and nats-server are `tests/integration/test_backend_feed.py`'s.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime as dt

from projections.records import SideEvent
from regions.adapters.brokers.memory import MemoryBroker, _Consumer
from regions.core.ports import Outgoing
from regions.sdk.feed import BackendClient
from regions.wire import feed, subjects
from tests.unit.test_feed_grouping import FIXTURES, REGION, Log

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


def restored(log: Log, *, later: int = 10) -> Log:
    """`log` as a store restored from a backup holds it (or a fresh store, given a fresh
    `Log`): positions and versions go on from where the backup stood, and what it records next
    is decided `later` (its instants differ from those of the lost commits)."""
    again = copy.deepcopy(log)
    again.commits += later
    return again


def test_events_of_a_fresh_store_whose_positions_restart_are_handled_not_acked_as_repeats(
) -> None:
    broker, client = connected()
    before = Log().commit([1, 2, 3], each=2)
    broker.publish_many_now(feed.encode_all(before))
    seen: list[int] = []
    drain(client, seen)
    fresh = Log().commit([7, 8, 9], each=2)  # the same positions, other cases
    assert [i.position for i in fresh] == [i.position for i in before]
    broker.publish_many_now(feed.encode_all(fresh))
    drain(client, seen)
    assert client.stats["handled"] == 12 and client.stats["repeats"] == 0


def test_across_a_restore_from_a_backup_new_events_are_handled_and_true_repeats_are_not(
) -> None:
    """The backup holds the first commit; the second was published and handled, then lost
    with the store. The restored store records other events at the same positions and side
    versions (the same event ids): they are new. Its relay sends the first commit again
    (its cursor went back too): that is a true repeat."""
    broker, client = connected()
    log = Log()
    kept = log.commit([1, 2], each=2)
    backup = restored(log)
    lost = log.commit([1, 2])
    broker.publish_many_now(feed.encode_all(kept + lost))
    handled: list[SideEvent] = []

    async def handler(event: SideEvent) -> None:
        handled.append(event)

    async def run() -> None:
        while await client.poll(handler) or client._held:
            pass

    asyncio.run(run())
    again = backup.commit([1, 2])
    assert [(i.position, i.event_id) for i in again] == [(i.position, i.event_id) for i in lost]
    assert again != lost  # the same positions and ids, other events
    broker.faults.forget_dedup()  # the resend of `kept` comes after JetStream's dedup window
    broker.publish_many_now(feed.encode_all(kept) + feed.encode_all(again))
    asyncio.run(run())
    assert handled == kept + lost + again
    assert client.stats["repeats"] == len(kept)


def test_a_rebuilt_store_republishing_its_events_at_new_positions_is_not_handled_twice(
) -> None:
    """A store rebuilt by copying every event into a fresh one numbers them anew; its relay,
    starting over, sends each event again: the same event (id and content), so a repeat."""
    broker, client = connected()
    items = [i for commit in commits() for i in commit]
    broker.publish_many_now(feed.encode_all(items))
    seen: list[int] = []
    drain(client, seen)
    rebuilt = [dataclasses.replace(i, position=n) for n, i in enumerate(items, start=1)]
    broker.publish_many_now(feed.encode_all(rebuilt))
    drain(client, seen)
    assert seen == [i.position for i in items]
    assert client.stats["repeats"] == len(items)


def test_a_message_of_an_older_contract_is_handled_once_and_its_repeat_acked() -> None:
    """Nothing new on the wire: what recognises a repeat is read from any feed message,
    the contract-2 fixture (one side's events of one commit) included."""
    broker, client = connected()
    old = (FIXTURES / "feed-per-side.v2.batch.json").read_bytes()
    subject = subjects.feed_subject(REGION, "pension_transfer", feed.BATCH_TOKEN)
    broker.publish_many_now([Outgoing(subject, old, {}), Outgoing(subject, old, {})])
    seen: list[int] = []
    drain(client, seen)
    assert seen == [41, 42]
    assert client.stats["repeats"] == 2


def test_a_feed_event_whose_text_holds_a_lone_surrogate_is_handled_not_a_crash() -> None:
    """Hostile or odd input on the feed: `feed.decode` reads a `\\ud800` escape into a str
    that no strict UTF-8 encoder takes. Recognising a repeat must not depend on that."""
    broker, client = connected()
    items = commits()[0]
    odd = dataclasses.replace(items[0], payload={**items[0].payload, "step": "s\ud800"})
    broker.publish_many_now(feed.encode_all([odd, *items[1:]]))
    seen: list[int] = []
    drain(client, seen)
    broker.publish_many_now(feed.encode_all([odd]))  # and its repeat is still one
    broker.faults.forget_dedup()
    drain(client, seen)
    assert seen == [i.position for i in items]
