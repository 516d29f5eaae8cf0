"""The memory broker against a model: at-least-once, stream order and dedup under any schedule.

Hypothesis interleaves publishes (with repeated msg ids), fetches, every way of settling, time
passing and the faults that keep messages (ack timeout, lost acks, forgotten dedup). Whatever
the schedule: first deliveries come in seq order, nothing settled is delivered again unless its
ack was lost, dedup answers as the window says, and once the timers run out and the consumer
drains, every stored message that was not terminated has been acked.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from regions.adapters.brokers.memory import MemoryBroker
from regions.core.ports import Delivery
from regions.wire import link, subjects
from tests.fixtures.nightly import size

DEST, ORIGIN = "150600", "610800"
STREAM, INBOX = subjects.event_stream_name(DEST), subjects.inbox_consumer_name(DEST)
WINDOW, ACK_WAIT = 60.0, 10.0
SETTLES = ["ack", "nak", "nak_later", "wpi", "term"]


class MemoryBrokerModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = dt.datetime(2026, 5, 6, tzinfo=dt.UTC)
        self.broker = MemoryBroker(lambda: self.now)
        self.broker.ensure_stream_now(DEST, duplicate_window=WINDOW)
        self.broker.ensure_consumer_now(DEST, ack_wait=ACK_WAIT)
        self.first_stored: dict[str, tuple[int, dt.datetime]] = {}  # msg id -> seq, store time
        self.stored: set[int] = set()
        self.settled: set[int] = set()  # acked or terminated, and not rolled back since
        self.acked: set[int] = set()
        self.termed: set[int] = set()
        self.held: list[Delivery] = []  # delivered, not yet settled by the test
        self.last_first_delivery = 0

    @rule(event_id=st.integers(0, 6))
    def publish(self, event_id: int) -> None:
        out = link.event_message(dest=DEST, origin=ORIGIN, event_id=f"e{event_id}", data=b"x")
        ack = self.broker.publish_now(out)
        assert out.msg_id is not None
        known = self.first_stored.get(out.msg_id)
        in_window = known is not None and self.now < known[1] + dt.timedelta(seconds=WINDOW)
        assert ack.duplicate is in_window
        if known is not None and in_window:
            assert ack.seq == known[0]
        else:
            assert ack.seq not in self.stored
            self.first_stored[out.msg_id] = (ack.seq, self.now)
            self.stored.add(ack.seq)

    @rule(batch=st.integers(1, 4))
    def fetch(self, batch: int) -> None:
        got = self.broker.fetch_now(INBOX, STREAM, batch)
        assert len(got) <= batch
        for d in got:
            assert d.stream_seq not in self.settled, f"seq {d.stream_seq} came back after settling"
            if d.num_delivered == 1:
                assert d.stream_seq > self.last_first_delivery
                self.last_first_delivery = d.stream_seq
        self.held += got

    @precondition(lambda self: self.held)
    @rule(index=st.integers(0, 100), how=st.sampled_from(SETTLES))
    def settle(self, index: int, how: str) -> None:
        d = self.held.pop(index % len(self.held))
        if how == "ack":
            self.broker.ack_now(d)
            self._settled(d.stream_seq, self.acked)
        elif how == "term":
            self.broker.term_now(d)
            self._settled(d.stream_seq, self.termed)
        elif how == "wpi":
            self.broker.in_progress_now(d)
        else:
            self.broker.nak_now(d, delay=0.0 if how == "nak" else ACK_WAIT / 2)

    def _settled(self, seq: int, kind: set[int]) -> None:
        if seq not in self.settled:  # a second settle of a settled message is a no-op
            self.settled.add(seq)
            kind.add(seq)

    @rule(seconds=st.sampled_from([1.0, ACK_WAIT / 2, ACK_WAIT, WINDOW]))
    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)

    @rule()
    def ack_timeout(self) -> None:
        self.broker.faults.expire_ack_wait()

    @rule(n=st.integers(1, 3))
    def lose_acks(self, n: int) -> None:
        for seq in self.broker.faults.lose_acks(DEST, n):
            assert seq in self.acked
            self.settled.discard(seq)
            self.acked.discard(seq)

    @rule()
    def forget_dedup(self) -> None:
        self.broker.faults.forget_dedup()
        self.first_stored.clear()

    @invariant()
    def counts_agree(self) -> None:
        info = self.broker.consumer_info_now(STREAM, INBOX)
        assert info.num_pending + info.num_ack_pending + len(self.settled) == len(self.stored)

    def teardown(self) -> None:
        for _ in range(len(self.stored) + 2):
            self.broker.faults.expire_ack_wait()
            got = self.broker.fetch_now(INBOX, STREAM, 100)
            for d in got:
                self.broker.ack_now(d)
                self._settled(d.stream_seq, self.acked)
            if not got:
                break
        assert self.acked | self.termed == self.stored
        assert not self.acked & self.termed


TestMemoryBrokerModel = MemoryBrokerModel.TestCase
TestMemoryBrokerModel.settings = settings(deadline=None, stateful_step_count=size(40, 200))
