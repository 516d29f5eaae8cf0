"""The NATS JetStream adapter: the shared broker contract, unchanged, on a real nats-server 2.15.1;
then what only a real server shows (prompt partial batches, reconnects, a clean close).

Faults are real actions, not simulations: timers really run out (short `ack_wait` and
`duplicate_window`), the stream is deleted and recreated, stored messages are deleted and the
consumer reset, and the server process is SIGKILLed and restarted on the same store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import nats
import nats.js.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from regions.adapters.brokers.nats import NatsBroker
from regions.adapters.brokers.nats_server import NatsServer, free_port
from regions.core.ports import Broker, BrokerAdmin, BrokerError, NoStream, Outgoing, PublishError
from regions.wire import subjects
from tests.contract.broker_contract import (
    DEST,
    INBOX,
    OTHER_DEST,
    STREAM,
    BrokerContract,
    event,
)

#: Timers the suite provisions here; every wait in it is a fraction or multiple of these.
ACK_WAIT = 1.0
DUPLICATE_WINDOW = 1.0
#: Extra time granted to a real timer beyond its nominal expiry.
MARGIN = 0.5


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {within} s")
        await asyncio.sleep(0.02)


async def admin_connection(server: NatsServer) -> NatsClient:
    """An operator's own connection (not the adapter under test), reconnecting like a client."""
    return await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)


async def delete_every_stream(server: NatsServer) -> None:
    nc = await admin_connection(server)
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            await js.delete_stream(info.config.name or "")
    finally:
        await nc.close()


class NatsFaults:
    """The contract's `faults`, done for real to the test's own server."""

    def __init__(self, broker: NatsBroker, server: NatsServer, admin: NatsClient) -> None:
        self.broker, self.server, self.admin = broker, server, admin
        self.js: JetStreamContext = admin.jetstream()
        self._restart: asyncio.Task[None] | None = None
        self._restart_at = 0.0

    async def advance(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self._restart is not None and time.monotonic() >= self._restart_at:
            await self.settle()  # the outage is over: the server is back once it has started

    async def expire_ack_wait(self) -> None:
        await asyncio.sleep(ACK_WAIT + MARGIN)

    async def forget_dedup(self) -> None:
        await asyncio.sleep(DUPLICATE_WINDOW + MARGIN)

    async def recreate_stream(self, dest: str) -> None:
        name = subjects.event_stream_name(dest)
        config = (await self.js.stream_info(name)).config
        await self.js.delete_stream(name)
        await self.js.add_stream(config)

    async def lose_acks(self, dest: str, n: int) -> None:
        stream, consumer = subjects.event_stream_name(dest), subjects.inbox_consumer_name(dest)
        floor = await self._settled_ack_floor(stream, consumer)
        await self.js.reset_consumer(stream, consumer, seq=max(1, floor - n + 1))

    async def lose_stored(self, dest: str, n: int) -> None:
        name = subjects.event_stream_name(dest)
        last = (await self.js.stream_info(name)).state.last_seq
        for seq in range(max(1, last - n + 1), last + 1):
            await self.js.delete_msg(name, seq)
        # A crash loses the msg ids with the data; a delete keeps them until the window ends.
        await asyncio.sleep(DUPLICATE_WINDOW + MARGIN)

    async def make_unavailable(self, dest: str, seconds: float) -> None:
        await asyncio.to_thread(self.server.kill)
        await eventually(lambda: not self.broker.is_connected, within=5.0)
        self._restart_at = time.monotonic() + seconds
        self._restart = asyncio.create_task(self._restart_after(seconds))

    async def settle(self) -> None:
        """Wait for a pending restart, then for both connections to be back."""
        if self._restart is not None:
            task, self._restart = self._restart, None
            await task
            await eventually(lambda: self.broker.is_connected and self.admin.is_connected)

    async def _restart_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await asyncio.to_thread(self.server.restart)

    async def _settled_ack_floor(self, stream: str, consumer: str) -> int:
        """The ack floor once the adapter's fire-and-forget acks have reached the server."""
        info = await self.js.consumer_info(stream, consumer)
        deadline = time.monotonic() + 2.0
        while info.num_ack_pending and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            info = await self.js.consumer_info(stream, consumer)
        return info.ack_floor.stream_seq if info.ack_floor else 0


class TestNatsBrokerContract(BrokerContract):
    ack_wait = ACK_WAIT
    duplicate_window = DUPLICATE_WINDOW
    fetch_timeout = 0.2

    @pytest.fixture
    async def broker(self, nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
        if not nats_server.running:  # an earlier test died between kill and restart
            nats_server.restart()
        await delete_every_stream(nats_server)
        broker = await NatsBroker.connect(nats_server.url)
        yield broker
        await broker.close()

    @pytest.fixture
    async def faults(
        self, broker: NatsBroker, nats_server: NatsServer,
    ) -> AsyncIterator[NatsFaults]:
        admin = await admin_connection(nats_server)
        faults = NatsFaults(broker, nats_server, admin)
        yield faults
        await faults.settle()
        await admin.close()


# ---------------------------------------------------------------------- NATS-only behaviour

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def broker(nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
    if not nats_server.running:
        nats_server.restart()
    await delete_every_stream(nats_server)
    broker = await NatsBroker.connect(nats_server.url)
    for dest in (DEST, OTHER_DEST):
        await broker.ensure_stream(dest, duplicate_window=60.0)
        await broker.ensure_consumer(dest, ack_wait=30.0)
    yield broker
    await broker.close()


async def timed(call: Awaitable[object]) -> float:
    started = time.monotonic()
    await call
    return time.monotonic() - started


async def test_nats_broker_implements_the_port_and_the_admin_port(broker: NatsBroker) -> None:
    assert isinstance(broker, Broker) and isinstance(broker, BrokerAdmin)
    assert broker.is_connected and broker.connection_state == "connected"


async def test_partial_batch_comes_back_at_once_not_at_the_fetch_timeout(
    broker: NatsBroker,
) -> None:
    await broker.publish_many([event(n) for n in range(1, 4)])
    started = time.monotonic()
    got = await broker.fetch(INBOX, STREAM, 256, timeout=5.0)
    assert [d.data for d in got] == [b"event 1", b"event 2", b"event 3"]
    assert time.monotonic() - started < 1.0


async def test_waiting_fetch_returns_as_soon_as_a_message_is_published(
    broker: NatsBroker,
) -> None:
    async def publish_later() -> None:
        await asyncio.sleep(0.3)
        await broker.publish(event(1))

    started = time.monotonic()
    publisher = asyncio.create_task(publish_later())
    got = await broker.fetch(INBOX, STREAM, 256, timeout=5.0)
    await publisher
    assert [d.data for d in got] == [b"event 1"]
    assert 0.25 < time.monotonic() - started < 1.5


async def test_delivery_carries_the_store_instant_as_an_aware_utc_timestamp(
    broker: NatsBroker,
) -> None:
    before = time.time()
    await broker.publish(event(1))
    [d] = await broker.fetch(INBOX, STREAM, 1, timeout=1.0)
    assert d.timestamp.utcoffset() is not None
    assert abs(d.timestamp.timestamp() - before) < 5.0


async def test_failed_publish_many_reports_the_acks_before_the_failing_message(
    broker: NatsBroker,
) -> None:
    unprovisioned = "110100"
    with pytest.raises(PublishError) as failure:
        await broker.publish_many([event(1), event(2, dest=unprovisioned), event(3)])
    assert [a.seq for a in failure.value.acks] == [1]
    assert failure.value.failed_index == 1
    assert isinstance(failure.value.__cause__, NoStream)


async def test_a_publish_the_stream_refuses_fails_at_once_with_the_servers_error(
    broker: NatsBroker, nats_server: NatsServer,
) -> None:
    """A full stream (`discard: new`) answers the publish with an error ack: that publish fails
    at once, with the server's error as its cause — not after the ack timeout, as when nats-py's
    reply handler raised the error instead of failing the publish."""
    admin = await admin_connection(nats_server)
    try:
        js = admin.jetstream()
        config = (await js.stream_info(STREAM)).config
        config.max_msgs = 1
        await js.update_stream(config)
    finally:
        await admin.close()
    started = time.monotonic()
    with pytest.raises(PublishError) as failure:
        await broker.publish_many([event(1), event(2)])
    assert time.monotonic() - started < 2.0
    assert failure.value.failed_index == 1 and [a.seq for a in failure.value.acks] == [1]
    assert isinstance(failure.value.__cause__, nats.js.errors.APIError)


async def test_close_right_after_an_empty_fetch_is_prompt(broker: NatsBroker) -> None:
    assert await broker.fetch(INBOX, STREAM, 10, timeout=0.2) == []
    assert await timed(broker.close()) < 2.0
    with pytest.raises(BrokerError, match="closed"):
        await broker.publish(event(1))


async def test_fetch_waiting_when_the_server_dies_fails_promptly_instead_of_returning_nothing(
    broker: NatsBroker, nats_server: NatsServer,
) -> None:
    waiting = asyncio.create_task(broker.fetch(INBOX, STREAM, 10, timeout=10.0))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await asyncio.to_thread(nats_server.kill)
    try:
        with pytest.raises(BrokerError):
            await waiting
        assert time.monotonic() - started < 2.0
        assert broker.connection_state == "reconnecting"
    finally:
        await asyncio.to_thread(nats_server.restart)
    await eventually(lambda: broker.is_connected)


async def test_messages_and_consumer_survive_a_server_crash_and_the_client_reconnects(
    broker: NatsBroker, nats_server: NatsServer,
) -> None:
    await broker.publish_many([event(1), event(2)])
    [one] = await broker.fetch(INBOX, STREAM, 1, timeout=1.0)
    await broker.ack(one)
    await asyncio.to_thread(nats_server.kill)
    await eventually(lambda: not broker.is_connected)
    await asyncio.to_thread(nats_server.restart)
    await eventually(lambda: broker.is_connected)
    assert (await broker.stream_info(STREAM)).messages == 2  # sync_interval: always
    await broker.publish(event(3))
    got = [d.data for d in await broker.fetch(INBOX, STREAM, 10, timeout=1.0)]
    # The ack of event 1 may be lost in the crash (acks are not fsynced): then it comes again.
    assert got in ([b"event 2", b"event 3"], [b"event 1", b"event 2", b"event 3"])


async def test_publish_many_is_acked_after_the_client_reconnects(
    broker: NatsBroker, nats_server: NatsServer,
) -> None:
    """`publish_many` matches acks on the broker's own reply subscription
    (`nats_publish.Publishes`, since nats-py's `publish_async` was dropped): after the server
    went away and came back, a batch is still acked message by message, each ack its own, and
    nothing is left waiting — the subscription is the client's, renewed on reconnect."""
    first = await broker.publish_many([event(1), event(2)])
    await asyncio.to_thread(nats_server.kill)
    await eventually(lambda: not broker.is_connected)
    await asyncio.to_thread(nats_server.restart)
    await eventually(lambda: broker.is_connected)
    again = await broker.publish_many([event(3), event(4), event(5)])
    assert [a.seq for a in first] == [1, 2]  # stored with sync_interval: always
    assert [(a.seq, a.duplicate) for a in again] == [(3, False), (4, False), (5, False)]
    assert broker._publishes.pending == 0


async def test_connecting_to_no_server_fails_within_the_connect_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(BrokerError, match="cannot connect"):
        await NatsBroker.connect(f"nats://127.0.0.1:{free_port()}", connect_timeout=1.0)
    assert time.monotonic() - started < 3.0


async def test_bad_calls_get_clear_errors(broker: NatsBroker) -> None:
    with pytest.raises(ValueError, match="publishable"):
        await broker.publish(Outgoing("tb.v1.evt.150600.*", b""))
    with pytest.raises(ValueError, match="batch"):
        await broker.fetch(INBOX, STREAM, 0, timeout=1.0)
    with pytest.raises(ValueError, match="timeout"):
        await broker.fetch(INBOX, STREAM, 1, timeout=-1)
    await broker.publish(event(1))
    [d] = await broker.fetch(INBOX, STREAM, 1, timeout=1.0)
    with pytest.raises(ValueError, match="delay"):
        await broker.nak(d, delay=-1)


async def test_a_batch_acked_with_one_confirmation_is_applied_when_consumer_info_answers(
    broker: NatsBroker,
) -> None:
    """`ack_many` asks the server to answer only the last ack of each consumer's run: the
    server applies one consumer's settles in the order they came, so once that answer is in the
    ones before it were applied too — what `consumer_info` (which waits for the answers) shows,
    round after round, for two consumers' deliveries in one call."""
    other_stream = subjects.event_stream_name(OTHER_DEST)
    other_inbox = subjects.inbox_consumer_name(OTHER_DEST)
    for round_ in range(5):
        first = 100 * round_  # new message ids each round (no dedup)
        await broker.publish_many([event(first + n) for n in range(1, 41)])
        await broker.publish_many([event(first + n, dest=OTHER_DEST) for n in range(1, 8)])
        got = await broker.fetch(INBOX, STREAM, 256, timeout=1.0)
        other = await broker.fetch(other_inbox, other_stream, 256, timeout=1.0)
        assert len(got) == 40 and len(other) == 7
        await broker.ack_many([*got, *other])
        info = await broker.consumer_info(STREAM, INBOX)
        other_info = await broker.consumer_info(other_stream, other_inbox)
        assert (info.num_ack_pending, info.ack_floor) == (0, 40 * (round_ + 1)), round_
        assert (other_info.num_ack_pending, other_info.ack_floor) == (0, 7 * (round_ + 1))
