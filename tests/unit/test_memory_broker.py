"""The in-memory JetStream: the shared contract, then what only a deterministic broker can show."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from regions.adapters.brokers.memory import MemoryBroker, MemoryBrokerFaults
from regions.core.ports import (
    Broker,
    BrokerAdmin,
    BrokerError,
    Delivery,
    NoConsumer,
    NoStream,
    Outgoing,
    PubAck,
    PublishError,
)
from regions.wire import subjects
from tests.contract.broker_contract import (
    DEST,
    INBOX,
    ORIGIN,
    OTHER_DEST,
    STREAM,
    BrokerContract,
    event,
)

START = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)
WINDOW = 120.0
ACK_WAIT = 30.0


class ManualClock:
    """Virtual time: moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class MemoryFaultFixture:
    """The contract's `faults` for the memory broker: waits move the clock, faults are instant."""

    def __init__(self, clock: ManualClock, faults: MemoryBrokerFaults) -> None:
        self.clock, self.faults = clock, faults

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    async def expire_ack_wait(self) -> None:
        self.faults.expire_ack_wait()

    async def forget_dedup(self) -> None:
        self.faults.forget_dedup()

    async def recreate_stream(self, dest: str) -> None:
        self.faults.recreate_stream(dest)

    async def lose_acks(self, dest: str, n: int) -> None:
        self.faults.lose_acks(dest, n)

    async def lose_stored(self, dest: str, n: int) -> None:
        self.faults.lose_stored(dest, n)

    async def make_unavailable(self, dest: str, seconds: float) -> None:
        self.faults.make_unavailable(dest, seconds)


class TestMemoryBrokerContract(BrokerContract):
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock()

    @pytest.fixture
    def broker(self, clock: ManualClock) -> MemoryBroker:
        return MemoryBroker(clock)

    @pytest.fixture
    def faults(self, broker: MemoryBroker, clock: ManualClock) -> MemoryFaultFixture:
        return MemoryFaultFixture(clock, broker.faults)


# ---------------------------------------------------------------------- memory-only behaviour


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def broker(clock: ManualClock) -> MemoryBroker:
    b = MemoryBroker(clock)
    for dest in (DEST, OTHER_DEST):
        b.ensure_stream_now(dest, duplicate_window=WINDOW)
        b.ensure_consumer_now(dest, ack_wait=ACK_WAIT)
    return b


def fetch(broker: MemoryBroker, batch: int = 100, dest: str = DEST) -> list[Delivery]:
    stream, consumer = subjects.event_stream_name(dest), subjects.inbox_consumer_name(dest)
    return broker.fetch_now(consumer, stream, batch)


def seqs(deliveries: list[Delivery]) -> list[tuple[int, int]]:
    return [(d.stream_seq, d.num_delivered) for d in deliveries]


def test_memory_broker_implements_the_port_and_the_admin_port(broker: MemoryBroker) -> None:
    assert isinstance(broker, Broker) and isinstance(broker, BrokerAdmin)


def test_sync_and_async_calls_work_on_one_state(broker: MemoryBroker) -> None:
    broker.publish_now(event(1))
    [d] = asyncio.run(broker.fetch(INBOX, STREAM, 10, timeout=5.0))
    asyncio.run(broker.ack(d))
    assert broker.consumer_info_now(STREAM, INBOX).ack_floor == d.stream_seq == 1


def test_dedup_entry_expires_exactly_one_window_after_the_original_store(
    broker: MemoryBroker, clock: ManualClock,
) -> None:
    original = broker.publish_now(event(1))
    clock.advance(WINDOW / 2)
    assert broker.publish_now(event(1)) == PubAck(STREAM, original.seq, duplicate=True)
    clock.advance(WINDOW / 2 - 0.001)  # a duplicate does not extend the window
    assert broker.publish_now(event(1)).duplicate is True
    clock.advance(0.001)
    assert (broker.publish_now(event(1)).seq, len(fetch(broker))) == (2, 2)


def test_due_redeliveries_go_before_messages_never_delivered(broker: MemoryBroker) -> None:
    broker.publish_many_now([event(1), event(2)])
    [one] = fetch(broker, batch=1)
    broker.nak_now(one)
    assert seqs(fetch(broker, batch=1)) == [(1, 2)]
    assert seqs(fetch(broker)) == [(2, 1)]


def test_delivery_timestamp_is_the_store_instant(broker: MemoryBroker, clock: ManualClock) -> None:
    broker.publish_now(event(1))
    clock.advance(45)
    assert fetch(broker)[0].timestamp == START


def test_lost_publish_ack_leaves_the_message_stored_and_the_retry_is_a_duplicate(
    broker: MemoryBroker,
) -> None:
    broker.faults.lose_publish_acks(1)
    with pytest.raises(PublishError):
        broker.publish_now(event(1))
    retry = broker.publish_now(event(1))
    assert (retry.seq, retry.duplicate) == (1, True)
    assert len(fetch(broker)) == 1


def test_failed_publish_many_reports_the_acks_before_the_failing_message(
    broker: MemoryBroker,
) -> None:
    unprovisioned = "110100"
    with pytest.raises(PublishError) as failure:
        broker.publish_many_now([event(1), event(2, dest=unprovisioned), event(3)])
    assert [a.seq for a in failure.value.acks] == [1]
    assert failure.value.failed_index == 1
    assert isinstance(failure.value.__cause__, NoStream)
    assert [d.data for d in fetch(broker)] == [b"event 1"]


def test_lost_stored_messages_free_their_seqs_and_msg_ids_but_survivors_stay_deduplicated(
    broker: MemoryBroker,
) -> None:
    broker.publish_many_now([event(1), event(2), event(3)])
    assert broker.faults.lose_stored(DEST, 1) == [3]
    assert broker.publish_now(event(3)).seq == 3  # a recovered file store reuses the seq
    assert broker.publish_now(event(2)).duplicate is True


def test_lost_stored_messages_pull_the_consumer_back_to_the_stream(broker: MemoryBroker) -> None:
    broker.publish_many_now([event(1), event(2), event(3)])
    for d in fetch(broker):
        broker.ack_now(d)
    broker.faults.lose_stored(DEST, 2)
    info = broker.consumer_info_now(STREAM, INBOX)
    assert (info.ack_floor, info.num_pending, info.num_ack_pending) == (1, 0, 0)
    broker.publish_now(event(9))
    assert [(d.stream_seq, d.data) for d in fetch(broker)] == [(2, b"event 9")]


def test_lose_acks_rolls_back_the_most_recent_acks_even_out_of_seq_order(
    broker: MemoryBroker,
) -> None:
    broker.publish_many_now([event(n) for n in range(1, 5)])
    one, two, three, four = fetch(broker)
    for d in (four, one, three, two):
        broker.ack_now(d)
    assert broker.faults.lose_acks(DEST, 2) == [2, 3]
    assert broker.consumer_info_now(STREAM, INBOX).ack_floor == 1
    assert seqs(fetch(broker)) == [(2, 2), (3, 2)]


def test_outage_of_one_destination_leaves_the_others_working_and_loses_its_acks(
    broker: MemoryBroker, clock: ManualClock,
) -> None:
    broker.publish_now(event(1))
    [d] = fetch(broker)
    broker.faults.make_unavailable(DEST, 10)
    broker.ack_now(d)  # lost, as a fire-and-forget ack to an unreachable server is
    other = broker.publish_now(event(2, dest=OTHER_DEST))
    assert other.stream == subjects.event_stream_name(OTHER_DEST)
    with pytest.raises(BrokerError):
        broker.stream_info_now(STREAM)
    clock.advance(ACK_WAIT)
    assert seqs(fetch(broker)) == [(1, 2)]


def test_whole_broker_outage_refuses_provisioning_too(
    broker: MemoryBroker, clock: ManualClock,
) -> None:
    broker.faults.make_unavailable(None, 5)
    with pytest.raises(PublishError):
        broker.publish_now(event(1, dest=OTHER_DEST))
    with pytest.raises(BrokerError):
        broker.ensure_stream_now("110100", duplicate_window=WINDOW)
    clock.advance(5)
    assert broker.ensure_stream_now("110100", duplicate_window=WINDOW).name == "TB_EVT_110100"


def test_closed_connection_refuses_work_while_other_connections_continue(
    broker: MemoryBroker,
) -> None:
    other = broker.connect()
    asyncio.run(broker.close())
    with pytest.raises(BrokerError, match="closed"):
        broker.publish_now(event(1))
    other.publish_now(event(1))
    assert len(fetch(other)) == 1


def test_stale_ack_after_a_recreate_settles_the_new_message_with_that_seq(
    broker: MemoryBroker,
) -> None:
    # nats-server credits an ack by stream, consumer name and stream seq (processAckMsg): a
    # delayed ack from before the recreate settles whatever now sits at that seq.
    broker.publish_now(event(1))
    [stale] = fetch(broker)
    broker.faults.recreate_stream(DEST)
    broker.ensure_consumer_now(DEST, ack_wait=ACK_WAIT)
    broker.publish_now(event(7))
    [fresh] = fetch(broker)
    broker.ack_now(stale)
    assert (fresh.stream_seq, broker.consumer_info_now(STREAM, INBOX).num_ack_pending) == (1, 0)


def test_max_ack_pending_holds_back_new_deliveries_until_acks(broker: MemoryBroker) -> None:
    broker.ensure_consumer_now(DEST, ack_wait=ACK_WAIT, max_ack_pending=2)
    broker.publish_many_now([event(n) for n in range(1, 5)])
    first = fetch(broker)
    assert seqs(first) == [(1, 1), (2, 1)]
    broker.ack_now(first[0])
    assert seqs(fetch(broker)) == [(3, 1)]


def test_exhausted_and_terminated_messages_leave_advisories(
    broker: MemoryBroker, clock: ManualClock,
) -> None:
    broker.ensure_consumer_now(DEST, ack_wait=ACK_WAIT, max_deliver=1)
    broker.publish_many_now([event(1), event(2)])
    _, two = fetch(broker)
    broker.term_now(two)
    clock.advance(ACK_WAIT)
    assert fetch(broker) == []
    assert [(a.kind, a.stream_seq, a.deliveries) for a in broker.advisories] == [
        ("terminated", 2, 1), ("max_deliveries", 1, 1)]
    assert broker.consumer_info_now(STREAM, INBOX).ack_floor == 2


def test_expire_ack_wait_never_postpones_an_earlier_due_redelivery(
    broker: MemoryBroker, clock: ManualClock,
) -> None:
    broker.publish_many_now([event(1), event(2)])
    _, two = fetch(broker)
    broker.nak_now(two)
    clock.advance(1)
    assert broker.faults.expire_ack_wait(DEST) == 2
    assert seqs(fetch(broker)) == [(2, 2), (1, 2)]


def test_same_operations_give_identical_deliveries() -> None:
    def run() -> list[Delivery]:
        clock = ManualClock()
        b = MemoryBroker(clock)
        b.ensure_stream_now(DEST, duplicate_window=WINDOW)
        b.ensure_consumer_now(DEST, ack_wait=ACK_WAIT)
        b.publish_many_now([event(n) for n in range(1, 4)])
        first = fetch(b)
        b.nak_now(first[0], delay=3)
        clock.advance(40)
        b.faults.lose_acks(DEST, 1)
        return first + fetch(b)

    assert run() == run()


def test_provisioning_refuses_what_jetstream_would_refuse_or_replace(broker: MemoryBroker) -> None:
    for bad in (
        lambda: broker.ensure_stream_now(DEST, duplicate_window=0),
        lambda: broker.ensure_stream_now(DEST, duplicate_window=WINDOW, replicas=6),
        lambda: broker.ensure_consumer_now(DEST, ack_wait=0),
        lambda: broker.ensure_consumer_now(DEST, ack_wait=ACK_WAIT, max_deliver=0),
        lambda: broker.ensure_consumer_now(DEST, ack_wait=ACK_WAIT, max_ack_pending=0),
    ):
        with pytest.raises(ValueError):
            bad()
    assert broker.stream_info_now(STREAM).duplicate_window == WINDOW


def test_bad_calls_get_clear_errors(broker: MemoryBroker) -> None:
    with pytest.raises(ValueError, match="publishable"):
        broker.publish_now(Outgoing("tb.v1.evt.150600.*", b""))
    with pytest.raises(ValueError, match="batch"):
        fetch(broker, batch=0)
    with pytest.raises(ValueError, match="timeout"):
        asyncio.run(broker.fetch(INBOX, STREAM, 1, timeout=-1))
    broker.publish_now(event(1))
    with pytest.raises(ValueError, match="delay"):
        broker.nak_now(fetch(broker)[0], delay=-1)
    foreign = Delivery(subjects.event_subject(DEST, ORIGIN), b"", {}, STREAM, INBOX, 1, 1, START)
    with pytest.raises(BrokerError, match="memory broker"):
        broker.ack_now(foreign)
    with pytest.raises(NoConsumer):
        broker.consumer_info_now(STREAM, "nobody")


def test_broker_clock_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        MemoryBroker(lambda: dt.datetime(2026, 1, 1))
