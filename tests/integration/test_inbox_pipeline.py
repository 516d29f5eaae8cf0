"""The pipelined inbox loop keeps the inbox's rule: no ack before the commit that applied it.

`regions.runtime.inbox_pipeline` fetches the next batch while the database thread commits the
current one. Here the inbox core is a stand-in that records what it "committed" (on the database
thread, taking a while, so pulls overlap it) and the broker's ack refuses any delivery not
committed yet: the real driver loop, the real in-memory broker, the rule checked on every ack.
After a failed commit what was fetched is nak'ed and comes again at once, in order: on the
in-memory broker and, last, on a real nats-server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from domain.protocols import spec_of
from regions.adapters.brokers.memory import MemoryBroker
from regions.adapters.brokers.nats import NatsBroker
from regions.adapters.brokers.nats_server import NatsServer
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.inbox_state import InboxResult, Incoming
from regions.core.ports import BrokerError, Delivery, Outgoing
from regions.runtime.bootstrap import build_region
from regions.runtime.driver import NodeDriver
from regions.wire import subjects
from tests.unit import toy_protocol as toy

A, B = "150600", "610800"
MESSAGES = 40


def wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Harness:
    """A node A whose inbox commits slowly and whose broker checks every ack against it."""

    def __init__(self, fail_once_at: int | None = None, stop_at_first: bool = False,
                 nats: NatsBroker | None = None, slow_acks: float = 0.0,
                 ack_fails_at: int | None = None) -> None:
        self.server = MemoryBroker(wall)
        self.server.ensure_stream_now(A, duplicate_window=120)
        self.server.ensure_consumer_now(A, ack_wait=30)
        for n in range(MESSAGES):
            self.server.publish_now(Outgoing(subjects.event_subject(A, B), b"%d" % n,
                                             {"Nats-Msg-Id": f"m{n}"}))
        region = build_region(RegionConfig(region=A, peers=(A, B)), clock=wall, ids=uuid.uuid4,
                              broker=None, store=MemoryStore(),
                              protocols={"toy": spec_of("toy", toy)})
        self.driver = NodeDriver(region, nats or self.server.connect(), fetch_batch=4,
                                 fetch_timeout=0.01)
        self.fail_once_at, self.stop_at_first = fail_once_at, stop_at_first
        self.lock = threading.Lock()
        self.committed: set[int] = set()
        self.decided: list[list[int]] = []
        self.acked: list[int] = []
        self.fetched: list[int] = []
        self.fetched_ahead = 0
        #: When each batch began deciding (by its first stream sequence), and when each
        #: delivery's ack was confirmed.
        self.began: dict[int, float] = {}
        self.acks_done: dict[int, float] = {}
        region.inbox.handle = self.handle  # type: ignore[method-assign]
        broker: Any = self.driver.broker
        fetch, ack = broker.fetch, broker.ack

        async def checked_fetch(*args: Any) -> list[Delivery]:
            got = await fetch(*args)
            # in lock-step, everything fetched before was acked by the time of the next pull
            self.fetched_ahead += bool(got) and len(self.acked) < len(self.fetched)
            self.fetched.extend(d.stream_seq for d in got)
            return got

        async def checked_ack(d: Delivery) -> None:
            with self.lock:
                assert d.stream_seq in self.committed, f"seq {d.stream_seq} acked uncommitted"
            if d.stream_seq == ack_fails_at and ack_fails_at not in self.acked:
                self.acked.append(d.stream_seq)  # (once)
                raise BrokerError("the connection went away")
            self.acked.append(d.stream_seq)
            await ack(d)
            await asyncio.sleep(slow_acks)  # the broker's confirmation
            self.acks_done[d.stream_seq] = time.monotonic()

        async def checked_ack_many(ds: Sequence[Delivery]) -> None:
            for d in ds:
                await checked_ack(d)

        broker.fetch, broker.ack = checked_fetch, checked_ack
        if hasattr(broker, "ack_many"):  # the driver acks a batch with it where it can
            broker.ack_many = checked_ack_many

    def handle(self, batch: list[Incoming], now: dt.datetime) -> InboxResult:
        """On the database thread: a commit that takes a while (and may fail once)."""
        seqs = [i.token.stream_seq for i in batch]
        with self.lock:
            self.decided.append(seqs)
            self.began[seqs[0]] = time.monotonic()
        time.sleep(0.01)  # the commit: the next pull goes on meanwhile
        if self.stop_at_first and len(self.decided) == 1:  # once the pull went, mid-commit
            loop = self.driver._loop
            assert loop is not None
            loop.call_soon_threadsafe(self.driver.stop)
        time.sleep(0.01)
        with self.lock:
            if self.fail_once_at is not None and len(self.decided) == self.fail_once_at:
                raise OSError("the store went away")  # nothing of the batch committed
            self.committed.update(s for s in seqs if s not in self.committed)
        return InboxResult(ack=[i.token for i in batch], applied=len(batch))

    def pending(self) -> tuple[int, int]:
        info = self.server.consumer_info_now(subjects.event_stream_name(A),
                                             subjects.inbox_consumer_name(A))
        return info.num_pending, info.num_ack_pending

    async def run_until(self, done: Any, deadline: float = 20.0) -> None:
        run = asyncio.create_task(self.driver.run())
        start = time.monotonic()
        while not done() and not run.done() and time.monotonic() - start < deadline:
            await asyncio.sleep(0.01)
        self.driver.stop()
        await run


def test_every_ack_follows_its_commit_while_the_next_batch_is_fetched_during_it() -> None:
    h = Harness()
    asyncio.run(h.run_until(lambda: len(h.acked) >= MESSAGES))
    assert sorted(h.acked) == list(range(1, MESSAGES + 1))
    assert [s for batch in h.decided for s in batch] == list(range(1, MESSAGES + 1))  # in order
    assert h.fetched_ahead > 0  # pipelined: pulls overlapped the commits
    assert h.pending() == (0, 0)


def test_the_next_batch_is_decided_while_the_last_ones_acks_come_back() -> None:
    """The database thread goes from one inbox batch to the next: the next is queued on it
    while the last commits and taken when it starts, not handed on after the last one's acks
    were confirmed (the time in which a command group started before, and the next batch
    waited for it: docs/performance.md, PACED). Each ack still follows its own commit."""
    h = Harness(slow_acks=0.01)
    asyncio.run(h.run_until(lambda: len(h.acks_done) >= MESSAGES))
    assert sorted(h.acked) == list(range(1, MESSAGES + 1))
    overlapped = [later for earlier, later in itertools.pairwise(h.decided)
                  if h.began[later[0]] < max(h.acks_done[s] for s in earlier)]
    assert overlapped  # at main: none (the next batch went only after the last one's acks)


def test_a_failing_commit_acks_nothing_fetched_after_it_and_it_all_comes_again() -> None:
    h = Harness(fail_once_at=2)
    unacked_at_failure: list[int] = []

    def failed_and_redelivered() -> bool:
        if h.driver.counters["errors"] and not unacked_at_failure:
            # the loop ended on the failure (its guard waits to restart it): whatever it had
            # fetched and not committed is un-acked (nak'ed: the next test); and should a nak be
            # lost, ack_wait brings it back — let that run out now
            unacked_at_failure.extend(s for s in h.fetched if s not in h.committed)
            if unacked_at_failure:
                h.server.faults.expire_ack_wait(A)
        return len(h.committed) == MESSAGES and len(set(h.acked)) == MESSAGES

    asyncio.run(h.run_until(failed_and_redelivered))
    first_failed = h.decided[1]
    assert set(first_failed) <= set(unacked_at_failure)
    assert len(h.committed) == MESSAGES and sorted(set(h.acked)) == list(range(1, MESSAGES + 1))
    assert h.pending() == (0, 0)


def decided_after_the_failure(h: Harness) -> list[int]:
    """The stream sequences decided after the failed batch, in the order they were decided;
    they start with the failed batch's."""
    assert h.fail_once_at is not None
    failed = h.decided[h.fail_once_at - 1]
    again = [s for batch in h.decided[h.fail_once_at:] for s in batch]
    assert again[:len(failed)] == failed
    return again


def test_after_a_failed_commit_what_was_fetched_is_naked_and_comes_again_at_once_in_order() -> None:
    """A transient store error: the failed batch and everything fetched after it are nak'ed
    (nothing of them committed), so they come again when the loop restarts (its guard's pause),
    in the order they were fetched — not after `ack_wait`, with the later ones first."""
    h = Harness(fail_once_at=2)
    started = time.monotonic()
    asyncio.run(h.run_until(
        lambda: len(h.committed) == MESSAGES and len(set(h.acked)) == MESSAGES, deadline=8.0))
    assert time.monotonic() - started < 8.0  # ack_wait is 30 s
    assert len(h.committed) == MESSAGES and sorted(set(h.acked)) == list(range(1, MESSAGES + 1))
    again = decided_after_the_failure(h)
    assert again == list(range(again[0], MESSAGES + 1))  # the failed batch first, then in order
    assert h.pending() == (0, 0)


def test_a_failed_ack_gives_its_batch_back_and_everything_is_committed_and_acked() -> None:
    """The acks go on the loop while the next batch decides: an ack that fails ends the loop
    (nothing more is taken); its batch — committed — is given back and comes again (the inbox
    drops what it applied), and the batch taken meanwhile is acked after its own commit."""
    h = Harness(ack_fails_at=6, slow_acks=0.005)
    asyncio.run(h.run_until(
        lambda: len(h.committed) == MESSAGES and set(h.acked) == set(range(1, MESSAGES + 1))
        and h.pending() == (0, 0), deadline=8.0))
    assert h.driver.counters["errors"] == 1
    assert h.pending() == (0, 0)
    assert [s for batch in h.decided for s in batch].count(6) == 2  # given back, decided again


def test_stopping_mid_pipeline_decides_and_acks_everything_it_fetched() -> None:
    h = Harness(stop_at_first=True)
    asyncio.run(h.run_until(lambda: False, deadline=5.0))
    assert len(h.fetched) > len(h.decided[0])  # a batch was fetched ahead when it stopped
    assert sorted(h.committed) == sorted(h.acked) == sorted(h.fetched)
    num_pending, ack_pending = h.pending()
    assert ack_pending == 0 and num_pending == MESSAGES - len(h.fetched)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_on_nats_a_failed_commit_naks_what_was_fetched_and_it_comes_again_at_once(
    nats_server: NatsServer,
) -> None:
    """The same on a real nats-server (the consumer's `ack_wait` 30 s): the nak'ed deliveries
    are redelivered in the order they were fetched, and all are committed and acked at once."""
    if not nats_server.running:
        nats_server.restart()
    broker = await NatsBroker.connect(nats_server.url)
    try:
        stream, consumer = subjects.event_stream_name(A), subjects.inbox_consumer_name(A)
        await broker.ensure_stream(A, duplicate_window=60.0)
        await broker.ensure_consumer(A, ack_wait=30.0)
        before = (await broker.stream_info(stream)).last_seq
        await broker.publish_many([Outgoing(subjects.event_subject(A, B), b"%d" % n,
                                            {"Nats-Msg-Id": f"nak{n}"}) for n in range(MESSAGES)])
        h = Harness(fail_once_at=2, nats=broker)
        started = time.monotonic()
        await h.run_until(lambda: len(h.committed) == MESSAGES
                          and len(set(h.acked)) == MESSAGES, deadline=8.0)
        assert time.monotonic() - started < 8.0
        assert sorted(set(h.acked)) == list(range(before + 1, before + MESSAGES + 1))
        again = decided_after_the_failure(h)
        assert again == list(range(again[0], before + MESSAGES + 1))
        info = await broker.consumer_info(stream, consumer)
        assert (info.num_pending, info.num_ack_pending) == (0, 0)
    finally:
        await broker.close()
