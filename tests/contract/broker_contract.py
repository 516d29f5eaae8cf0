"""The broker contract: what every implementation of `regions.core.ports` must do.

Subclass `BrokerContract` in a test module (`class TestMemoryBroker(BrokerContract)`) and give
it two fixtures: `broker` (a fresh, empty `Broker` + `BrokerAdmin`) and `faults` (a
`BrokerFaults` for that broker). Semantic tests use only the production port; failure-mode tests
cause failures through `faults` only, and every wait goes through `await faults.advance(s)` — the
memory fixture moves its clock, a NATS fixture sleeps — so the suite runs unchanged on both.
Timing settings are class attributes a subclass may shorten (see README.md).

Tests run on anyio's pytest plugin (part of `anyio`, installed with fastapi), asyncio backend.
"""

from __future__ import annotations

import time
from typing import ClassVar, Protocol

import pytest

from regions.core.ports import (
    MSG_ID_HEADER,
    Broker,
    BrokerAdmin,
    BrokerError,
    Delivery,
    NoConsumer,
    NoStream,
    Outgoing,
    PublishError,
)
from regions.wire import link, subjects

DEST = "150600"  # 鄂尔多斯
OTHER_DEST = "150900"  # 乌兰察布
ORIGIN = "610800"  # 榆林
OTHER_ORIGIN = "140200"  # 大同
STREAM = subjects.event_stream_name(DEST)
INBOX = subjects.inbox_consumer_name(DEST)


class AdminBroker(Broker, BrokerAdmin, Protocol):
    """What the suite drives: the data plane and provisioning of one implementation."""


class BrokerFaults(Protocol):
    """How a test makes a broker fail; each implementation brings its own (see README.md)."""

    async def advance(self, seconds: float) -> None:
        """Let at least `seconds` pass for the broker's timers."""

    async def expire_ack_wait(self) -> None:
        """Every delivered, unacked message becomes due for redelivery now."""

    async def forget_dedup(self) -> None:
        """The duplicate window has passed for everything published so far."""

    async def recreate_stream(self, dest: str) -> None:
        """Delete the destination's event stream and create it again, empty, without consumer."""

    async def lose_acks(self, dest: str, n: int) -> None:
        """The inbox consumer forgets its last `n` acks: those messages are delivered again."""

    async def lose_stored(self, dest: str, n: int) -> None:
        """The last `n` stored messages of the stream vanish, and with them their msg ids."""

    async def make_unavailable(self, dest: str, seconds: float) -> None:
        """For `seconds`, publishing to and fetching from the destination fail."""


def event(n: int, *, dest: str = DEST, origin: str = ORIGIN) -> Outgoing:
    return link.event_message(dest=dest, origin=origin, event_id=f"evt-{n}", data=f"event {n}".encode())


def summary(deliveries: list[Delivery]) -> list[tuple[bytes, int]]:
    return [(d.data, d.num_delivered) for d in deliveries]


class BrokerContract:
    """The shared suite; a subclass provides the `broker` and `faults` fixtures."""

    pytestmark: ClassVar = pytest.mark.anyio
    ack_wait: ClassVar[float] = 30.0
    duplicate_window: ClassVar[float] = 120.0
    fetch_timeout: ClassVar[float] = 0.2
    #: Upper bound on how long an empty fetch may take beyond its timeout.
    fetch_slack: ClassVar[float] = 2.0

    @pytest.fixture(scope="module")
    @classmethod
    def anyio_backend(cls) -> str:
        return "asyncio"

    async def provision(self, broker: AdminBroker, *dests: str, max_deliver: int = -1) -> None:
        for dest in dests or (DEST,):
            await broker.ensure_stream(dest, duplicate_window=self.duplicate_window)
            await broker.ensure_consumer(dest, ack_wait=self.ack_wait, max_deliver=max_deliver)

    async def fetch(
        self, broker: AdminBroker, dest: str = DEST, batch: int = 100,
    ) -> list[Delivery]:
        """Everything deliverable now (fetches until one comes back empty)."""
        found: list[Delivery] = []
        for _ in range(50):
            got = await broker.fetch(subjects.inbox_consumer_name(dest),
                                     subjects.event_stream_name(dest), batch, self.fetch_timeout)
            if not got:
                return found
            found += got
        raise AssertionError("the consumer kept delivering: a redelivery loop?")

    async def fetch_one(self, broker: AdminBroker) -> list[Delivery]:
        return await broker.fetch(INBOX, STREAM, 1, self.fetch_timeout)

    async def ack_all(self, broker: AdminBroker, deliveries: list[Delivery]) -> None:
        for d in deliveries:
            await broker.ack(d)

    # ------------------------------------------------------------------ semantics

    async def test_published_message_is_delivered_once_with_subject_data_and_headers(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker)
        out = link.event_message(dest=DEST, origin=ORIGIN, event_id="e-1", data=b"\x00{}",
                             headers={"traceparent": "00-abc-def-01"})
        ack = await broker.publish(out)
        [d] = await self.fetch(broker)
        assert (ack.stream, ack.duplicate) == (STREAM, False)
        assert (d.subject, d.data, d.stream_seq) == (out.subject, b"\x00{}", ack.seq)
        assert d.num_delivered == 1
        assert (d.stream, d.consumer) == (STREAM, INBOX)
        assert d.headers["traceparent"] == "00-abc-def-01"
        assert d.msg_id == subjects.msg_id("e-1", DEST)
        await broker.ack(d)
        await faults.advance(self.ack_wait * 1.5)
        assert await self.fetch(broker) == []

    async def test_stream_delivers_in_publish_order_and_acks_follow_submission_order(
        self, broker: AdminBroker,
    ) -> None:
        await self.provision(broker)
        outs = [event(n, origin=ORIGIN if n % 2 else OTHER_ORIGIN) for n in range(1, 21)]
        acks = await broker.publish_many(outs)
        seqs = [a.seq for a in acks]
        assert seqs == sorted(seqs) and len(set(seqs)) == 20
        got = await self.fetch(broker, batch=7)
        assert [d.data for d in got] == [o.data for o in outs]
        assert [d.stream_seq for d in got] == seqs

    async def test_republish_within_duplicate_window_returns_original_seq_and_stores_nothing(
        self, broker: AdminBroker,
    ) -> None:
        await self.provision(broker)
        first = await broker.publish(event(1))
        again = await broker.publish(Outgoing(event(1).subject, b"changed", event(1).headers))
        assert (again.seq, again.duplicate) == (first.seq, True)
        assert [d.data for d in await self.fetch(broker)] == [b"event 1"]
        assert (await broker.stream_info(STREAM)).messages == 1

    async def test_dedup_is_per_stream(self, broker: AdminBroker) -> None:
        await self.provision(broker, DEST, OTHER_DEST)
        same_id = {MSG_ID_HEADER: "shared-id"}
        here = subjects.event_subject(DEST, ORIGIN)
        there = subjects.event_subject(OTHER_DEST, ORIGIN)
        a = await broker.publish(Outgoing(here, b"a", same_id))
        b = await broker.publish(Outgoing(there, b"b", same_id))
        assert not a.duplicate and not b.duplicate

    async def test_republish_after_duplicate_window_is_stored_again_with_a_new_seq(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker)
        first = await broker.publish(event(1))
        await faults.advance(self.duplicate_window * 1.5)
        again = await broker.publish(event(1))
        assert again.duplicate is False and again.seq > first.seq
        assert [d.data for d in await self.fetch(broker)] == [b"event 1", b"event 1"]

    async def test_unacked_delivery_is_redelivered_only_after_ack_wait(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker)
        await broker.publish(event(1))
        [first] = await self.fetch(broker)
        await faults.advance(self.ack_wait * 0.4)
        assert await self.fetch(broker) == []
        await faults.advance(self.ack_wait)
        [again] = await self.fetch(broker)
        assert (again.stream_seq, again.num_delivered) == (first.stream_seq, 2)

    async def test_nakd_delivery_comes_back_after_messages_delivered_meanwhile(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker)
        await broker.publish_many([event(1), event(2), event(3)])
        one, two, three = await self.fetch(broker)
        await broker.nak(one)
        await self.ack_all(broker, [two, three])
        assert summary(await self.fetch(broker)) == [(b"event 1", 2)]

    async def test_nak_with_delay_redelivers_after_the_delay_behind_later_messages(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker)
        await broker.publish_many([event(1), event(2)])
        [one] = await broker.fetch(INBOX, STREAM, 1, self.fetch_timeout)
        delay = self.ack_wait * 0.5
        await broker.nak(one, delay=delay)
        later = await self.fetch(broker)
        assert summary(later) == [(b"event 2", 1)]
        await broker.ack(later[0])
        await faults.advance(delay * 1.5)
        assert summary(await self.fetch(broker)) == [(b"event 1", 2)]

    async def test_settling_an_acked_delivery_again_is_harmless(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker)
        await broker.publish(event(1))
        [d] = await self.fetch(broker)
        await broker.ack(d)
        await broker.ack(d)
        await broker.nak(d)
        await broker.in_progress(d)
        await broker.term(d)
        await faults.advance(self.ack_wait * 1.5)
        assert await self.fetch(broker) == []

    async def test_in_progress_restarts_the_ack_timer(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker)
        await broker.publish(event(1))
        [d] = await self.fetch(broker)
        await faults.advance(self.ack_wait * 0.6)
        await broker.in_progress(d)
        await faults.advance(self.ack_wait * 0.6)
        assert await self.fetch(broker) == []
        await faults.advance(self.ack_wait * 0.9)
        assert summary(await self.fetch(broker)) == [(b"event 1", 2)]

    async def test_terminated_delivery_is_never_redelivered_and_later_ones_still_flow(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker)
        await broker.publish(event(1))
        [d] = await self.fetch(broker)
        await broker.term(d)
        await faults.advance(self.ack_wait * 1.5)
        await broker.publish(event(2))
        assert summary(await self.fetch(broker)) == [(b"event 2", 1)]

    async def test_delivery_stops_after_max_deliver(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker, max_deliver=2)
        await broker.publish_many([event(1), event(2)])
        assert summary(await self.fetch_one(broker)) == [(b"event 1", 1)]
        await faults.advance(self.ack_wait * 1.5)
        assert summary(await self.fetch_one(broker)) == [(b"event 1", 2)]
        await faults.advance(self.ack_wait * 1.5)
        assert summary(await self.fetch(broker)) == [(b"event 2", 1)]

    async def test_fetch_on_an_empty_stream_returns_nothing_within_the_timeout(
        self, broker: AdminBroker,
    ) -> None:
        await self.provision(broker)
        started = time.monotonic()
        assert await broker.fetch(INBOX, STREAM, 10, self.fetch_timeout) == []
        assert time.monotonic() - started < self.fetch_timeout + self.fetch_slack

    async def test_publish_to_a_subject_without_stream_raises_no_stream(
        self, broker: AdminBroker,
    ) -> None:
        await self.provision(broker)
        with pytest.raises(NoStream):
            await broker.publish(event(1, dest=OTHER_DEST))

    async def test_fetch_needs_a_provisioned_stream_and_consumer(self, broker: AdminBroker) -> None:
        with pytest.raises(NoStream):
            await broker.fetch(INBOX, STREAM, 1, self.fetch_timeout)
        await broker.ensure_stream(DEST, duplicate_window=self.duplicate_window)
        with pytest.raises(NoConsumer):
            await broker.fetch(INBOX, STREAM, 1, self.fetch_timeout)

    async def test_subjects_route_to_their_destination_stream(self, broker: AdminBroker) -> None:
        await self.provision(broker, DEST, OTHER_DEST)
        here = await broker.publish(event(1))
        there = await broker.publish(event(2, dest=OTHER_DEST))
        assert (here.stream, there.stream) == (STREAM, subjects.event_stream_name(OTHER_DEST))

    async def test_two_destinations_do_not_see_each_others_messages(
        self, broker: AdminBroker,
    ) -> None:
        await self.provision(broker, DEST, OTHER_DEST)
        await broker.publish_many([event(1), event(2, dest=OTHER_DEST), event(3)])
        assert [d.data for d in await self.fetch(broker)] == [b"event 1", b"event 3"]
        assert [d.data for d in await self.fetch(broker, OTHER_DEST)] == [b"event 2"]

    async def test_dead_letters_go_to_their_own_stream_never_to_the_inbox(
        self, broker: AdminBroker,
    ) -> None:
        await self.provision(broker)
        await broker.ensure_dead_letter_stream(DEST, duplicate_window=self.duplicate_window)
        ack = await broker.publish(Outgoing(subjects.dead_letter_subject(DEST), b"undecodable"))
        assert ack.stream == subjects.dead_letter_stream_name(DEST)
        assert await self.fetch(broker) == []

    async def test_consumer_info_counts_undelivered_unacked_and_the_ack_floor(
        self, broker: AdminBroker,
    ) -> None:
        await self.provision(broker)
        await broker.publish_many([event(1), event(2), event(3)])
        first, _ = await broker.fetch(INBOX, STREAM, 2, self.fetch_timeout)
        await broker.ack(first)
        info = await broker.consumer_info(STREAM, INBOX)
        assert (info.num_pending, info.num_ack_pending, info.ack_floor) == (1, 1, first.stream_seq)

    async def test_provisioning_again_keeps_messages_and_the_consumer_position(
        self, broker: AdminBroker,
    ) -> None:
        await self.provision(broker)
        await broker.publish_many([event(1), event(2)])
        [one] = await broker.fetch(INBOX, STREAM, 1, self.fetch_timeout)
        await broker.ack(one)
        await self.provision(broker)
        assert (await broker.stream_info(STREAM)).messages == 2
        assert [d.data for d in await self.fetch(broker)] == [b"event 2"]

    # ------------------------------------------------------------------ failure modes

    async def test_expired_ack_wait_redelivers_every_unacked_delivery(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker)
        await broker.publish_many([event(1), event(2), event(3)])
        _, two, _ = await self.fetch(broker)
        await broker.ack(two)
        await faults.expire_ack_wait()
        assert summary(await self.fetch(broker)) == [(b"event 1", 2), (b"event 3", 2)]

    async def test_forgotten_dedup_lets_a_republish_through_as_a_second_copy(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker)
        first = await broker.publish(event(1))
        await faults.forget_dedup()
        again = await broker.publish(event(1))
        assert again.duplicate is False and again.seq != first.seq
        delivered = await self.fetch(broker)
        assert [d.msg_id for d in delivered] == [event(1).msg_id] * 2

    async def test_recreated_stream_has_lost_messages_and_consumer_until_reprovisioned(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker)
        await broker.publish_many([event(1), event(2)])
        await faults.recreate_stream(DEST)
        with pytest.raises(NoConsumer):
            await broker.fetch(INBOX, STREAM, 1, self.fetch_timeout)
        await self.provision(broker)
        assert await self.fetch(broker) == []
        republished = await broker.publish_many([event(1), event(2)])
        assert [a.duplicate for a in republished] == [False, False]
        assert [d.data for d in await self.fetch(broker)] == [b"event 1", b"event 2"]

    async def test_lost_acks_deliver_the_last_acknowledged_messages_again(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker)
        await broker.publish_many([event(n) for n in range(1, 6)])
        await self.ack_all(broker, await self.fetch(broker))
        await faults.lose_acks(DEST, 2)
        again = await self.fetch(broker)
        assert [d.data for d in again] == [b"event 4", b"event 5"]
        await self.ack_all(broker, again)
        await faults.advance(self.ack_wait * 1.5)
        assert await self.fetch(broker) == []

    async def test_lost_stored_messages_are_gone_and_can_be_republished(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker)
        await broker.publish_many([event(n) for n in range(1, 6)])
        await faults.lose_stored(DEST, 2)
        assert [d.data for d in await self.fetch(broker)] == [b"event 1", b"event 2", b"event 3"]
        republished = await broker.publish_many([event(4), event(5)])
        assert [a.duplicate for a in republished] == [False, False]
        assert [d.data for d in await self.fetch(broker)] == [b"event 4", b"event 5"]

    async def test_unavailable_stream_refuses_publish_and_fetch_until_it_returns(
        self, broker: AdminBroker, faults: BrokerFaults,
    ) -> None:
        await self.provision(broker)
        await broker.publish(event(1))
        outage = self.ack_wait * 0.5
        await faults.make_unavailable(DEST, outage)
        with pytest.raises(PublishError):
            await broker.publish(event(2))
        with pytest.raises(BrokerError):
            await broker.fetch(INBOX, STREAM, 1, self.fetch_timeout)
        await faults.advance(outage * 1.5)
        await broker.publish(event(2))
        assert [d.data for d in await self.fetch(broker)] == [b"event 1", b"event 2"]
