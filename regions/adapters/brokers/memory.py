"""An in-memory JetStream: the port's semantics *and* its failure modes, deterministically.

Why it exists: the simulator and the unit tiers need a broker that misbehaves exactly as
JetStream does (redelivery out of order, duplicates after the dedup window, a recreated stream,
a crash that forgets acks or stored messages) on demand and reproducibly. It passes the same
contract suite as the NATS adapter, so a protocol that survives it is not surviving a friendlier
broker than production.

Time: an injected `clock() -> aware datetime` (the kernel's `Clock`), read only when an
operation happens; nothing sleeps or runs in the background. Timers (ack_wait, nak delay, dedup
window, outages) are evaluated lazily against the clock, so in the simulator time moves only when
the scheduler moves it, and `fetch` returns at once with what is available.

Model (nats-server 2.15, see `shared/reference/nats.md`):
- Due redeliveries (ack_wait expired, nak'd, acks lost) go before new messages, ordered by due
  instant then seq, as nats-server's redelivery queue does — but always after everything delivered
  meanwhile, which is what breaks order for the consumer.
- `max_deliver` reached: the message is dropped from the pending set and an advisory recorded
  (JetStream's MAX_DELIVERIES advisory); `max_ack_pending` (default 1000) stops new deliveries.
- Dedup entries live `duplicate_window` from the original store, never extended by duplicates.

One `MemoryBroker` is one client connection; `connect()` gives another client of the same
server (the simulator gives each node its own, so closing one is not closing the broker).
Single-threaded: one event loop or the simulator's scheduler. The state the clients share is
`memory_server`'s; the failure modes (`broker.faults`) are `memory_faults`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from domain.kernel import Clock
from regions.adapters.brokers.memory_faults import MemoryBrokerFaults
from regions.adapters.brokers.memory_server import (
    Advisory,
    _Consumer,
    _forget_expired,
    _Message,
    _Pending,
    _seconds,
    _Server,
    _Stream,
    _Token,
)
from regions.core.ports import (
    BrokerError,
    ConsumerInfo,
    Delivery,
    NoConsumer,
    Outgoing,
    PubAck,
    PublishError,
    StreamInfo,
    check_provisioning,
)
from regions.core.rows import frozen
from regions.wire import subjects

__all__ = ["Advisory", "MemoryBroker", "MemoryBrokerFaults"]


class MemoryBroker:
    """One client of an in-memory JetStream; the `*_now` methods are the simulator's sync API."""

    def __init__(self, clock: Clock, *, _server: _Server | None = None) -> None:
        self._server = _server or _Server(clock)
        self._closed = False
        self.faults = MemoryBrokerFaults(self._server)

    def connect(self) -> MemoryBroker:
        """Another client of the same broker (own open/closed state, same streams)."""
        return MemoryBroker(self._server.clock, _server=self._server)

    @property
    def advisories(self) -> list[Advisory]:
        return list(self._server.advisories)

    # ----------------------------------------------------------------- publishing

    def publish_now(self, out: Outgoing) -> PubAck:
        server = self._open()
        subjects.check_publish_subject(out.subject)
        server.check_up(None, PublishError)
        stream = server.route(out.subject)
        server.check_up(stream.name, PublishError)
        now = server.clock()
        _forget_expired(stream, now)
        msg_id = out.msg_id
        if msg_id is not None and msg_id in stream.dedup:
            return PubAck(stream.name, stream.dedup[msg_id][0], duplicate=True)
        stream.last_seq += 1
        stream.messages[stream.last_seq] = _Message(
            out.subject, bytes(out.data), dict(out.headers), now)
        if msg_id is not None:
            stream.dedup[msg_id] = (stream.last_seq, now)
        if server.lost_pub_acks > 0:
            server.lost_pub_acks -= 1
            raise PublishError(
                f"stored {out.subject} as seq {stream.last_seq}, but the ack was lost")
        # Built as `_delivery` builds a delivery: one per message published (issue 17).
        return frozen(PubAck, {"stream": stream.name, "seq": stream.last_seq,
                               "duplicate": False})

    def publish_many_now(self, outs: Sequence[Outgoing]) -> list[PubAck]:
        acks: list[PubAck] = []
        for index, out in enumerate(outs):
            try:
                acks.append(self.publish_now(out))
            except BrokerError as exc:
                raise PublishError(f"publish {index + 1} of {len(outs)} failed: {exc}",
                                   acks=acks, failed_index=index) from exc
        return acks

    # ----------------------------------------------------------------- consuming

    def fetch_now(self, consumer: str, stream: str, batch: int) -> list[Delivery]:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch!r}")
        server = self._open()
        st = server.stream(stream)
        co = st.consumers.get(consumer)
        if co is None:
            raise NoConsumer(f"stream {stream!r} has no consumer {consumer!r}")
        now = server.clock()
        out: list[Delivery] = []
        due = sorted((p.due, seq) for seq, p in co.pending.items() if p.due <= now) \
            if co.pending else ()
        for _, seq in due:
            if len(out) == batch:
                return out
            pending = co.pending[seq]
            if co.max_deliver != -1 and pending.deliveries >= co.max_deliver:
                del co.pending[seq]
                server.advisories.append(
                    Advisory("max_deliveries", st.name, co.name, seq, pending.deliveries, now))
                continue
            pending.deliveries += 1
            pending.due = now + co.ack_wait
            out.append(self._delivery(st, co, seq, pending.deliveries))
        while len(out) < batch and co.next_seq <= st.last_seq and (
                co.max_ack_pending == -1 or len(co.pending) < co.max_ack_pending):
            seq, co.next_seq = co.next_seq, co.next_seq + 1
            if seq in st.messages:
                co.pending[seq] = _Pending(1, now + co.ack_wait)
                out.append(self._delivery(st, co, seq, 1))
        return out

    def ack_now(self, d: Delivery) -> None:
        found = self._pending(d)
        if found:
            co, seq, _ = found
            del co.pending[seq]
            co.acked.append(seq)

    def nak_now(self, d: Delivery, delay: float = 0.0) -> None:
        if delay < 0:
            raise ValueError(f"nak delay must be >= 0 seconds, got {delay!r}")
        found = self._pending(d)
        if found:
            found[2].due = self._server.clock() + _seconds(delay)

    def in_progress_now(self, d: Delivery) -> None:
        found = self._pending(d)
        if found:
            co, _, pending = found
            pending.due = self._server.clock() + co.ack_wait

    def term_now(self, d: Delivery) -> None:
        found = self._pending(d)
        if found:
            co, seq, pending = found
            del co.pending[seq]
            self._server.advisories.append(Advisory(
                "terminated", d.stream, co.name, seq, pending.deliveries, self._server.clock()))

    def close_now(self) -> None:
        self._closed = True

    # ----------------------------------------------------------------- provisioning

    def ensure_stream_now(
        self, dest: str, *, duplicate_window: float, replicas: int = 1,
    ) -> StreamInfo:
        return self._ensure(subjects.event_stream_name(dest), subjects.event_stream_subjects(dest),
                            duplicate_window, replicas)

    def ensure_dead_letter_stream_now(
        self, dest: str, *, duplicate_window: float, replicas: int = 1,
    ) -> StreamInfo:
        return self._ensure(subjects.dead_letter_stream_name(dest),
                            [subjects.dead_letter_subject(dest)], duplicate_window, replicas)

    def ensure_consumer_now(
        self, dest: str, *, ack_wait: float, max_deliver: int = -1, max_ack_pending: int = 1000,
    ) -> ConsumerInfo:
        check_provisioning(
            ack_wait=ack_wait, max_deliver=max_deliver, max_ack_pending=max_ack_pending)
        stream = self._open().stream(subjects.event_stream_name(dest))
        name = subjects.inbox_consumer_name(dest)
        settings = (_seconds(ack_wait), max_deliver, max_ack_pending)
        co = stream.consumers.setdefault(name, _Consumer(name, *settings))
        co.ack_wait, co.max_deliver, co.max_ack_pending = settings
        return self.consumer_info_now(stream.name, name)

    def stream_info_now(self, stream: str) -> StreamInfo:
        st = self._open().stream(stream)
        return StreamInfo(
            name=st.name, subjects=st.subjects,
            duplicate_window=st.duplicate_window.total_seconds(), replicas=st.replicas,
            messages=len(st.messages), first_seq=next(iter(st.messages), 0), last_seq=st.last_seq,
        )

    def consumer_info_now(self, stream: str, consumer: str) -> ConsumerInfo:
        st = self._open().stream(stream)
        co = st.consumers.get(consumer)
        if co is None:
            raise NoConsumer(f"stream {stream!r} has no consumer {consumer!r}")
        undelivered = max(0, st.last_seq - co.next_seq + 1)  # stored seqs are contiguous
        return ConsumerInfo(
            name=co.name, stream=st.name, ack_wait=co.ack_wait.total_seconds(),
            max_deliver=co.max_deliver, num_pending=undelivered, num_ack_pending=len(co.pending),
            ack_floor=min(co.pending, default=co.next_seq) - 1,
        )

    def backlog_now(self, stream: str, consumer: str) -> tuple[int, int]:
        """`(num_pending, num_ack_pending)` of `consumer_info_now`, without the rest of it: the
        simulator asks after every inbox fetch (~10,000 times per 300 cases)."""
        st = self._open().stream(stream)
        co = st.consumers.get(consumer)
        if co is None:
            raise NoConsumer(f"stream {stream!r} has no consumer {consumer!r}")
        return max(0, st.last_seq - co.next_seq + 1), len(co.pending)

    # ----------------------------------------------------------------- the async port

    async def publish(self, out: Outgoing) -> PubAck:
        return self.publish_now(out)

    async def publish_many(self, outs: Sequence[Outgoing]) -> list[PubAck]:
        return self.publish_many_now(outs)

    async def fetch(self, consumer: str, stream: str, batch: int, timeout: float) -> list[Delivery]:
        if timeout < 0:
            raise ValueError(f"fetch timeout must be >= 0 seconds, got {timeout!r}")
        return self.fetch_now(consumer, stream, batch)

    async def ack(self, d: Delivery) -> None:
        self.ack_now(d)

    async def nak(self, d: Delivery, delay: float = 0.0) -> None:
        self.nak_now(d, delay)

    async def in_progress(self, d: Delivery) -> None:
        self.in_progress_now(d)

    async def term(self, d: Delivery) -> None:
        self.term_now(d)

    async def close(self) -> None:
        self.close_now()

    async def ensure_stream(
        self, dest: str, *, duplicate_window: float, replicas: int = 1,
    ) -> StreamInfo:
        return self.ensure_stream_now(dest, duplicate_window=duplicate_window, replicas=replicas)

    async def ensure_dead_letter_stream(
        self, dest: str, *, duplicate_window: float, replicas: int = 1,
    ) -> StreamInfo:
        return self.ensure_dead_letter_stream_now(
            dest, duplicate_window=duplicate_window, replicas=replicas)

    async def ensure_consumer(
        self, dest: str, *, ack_wait: float, max_deliver: int = -1, max_ack_pending: int = 1000,
    ) -> ConsumerInfo:
        return self.ensure_consumer_now(
            dest, ack_wait=ack_wait, max_deliver=max_deliver, max_ack_pending=max_ack_pending)

    async def stream_info(self, stream: str) -> StreamInfo:
        return self.stream_info_now(stream)

    async def consumer_info(self, stream: str, consumer: str) -> ConsumerInfo:
        return self.consumer_info_now(stream, consumer)

    # ----------------------------------------------------------------- internals

    def _open(self) -> _Server:
        if self._closed:
            raise BrokerError("connection closed")
        return self._server

    def _ensure(self, name: str, patterns: list[str], window: float, replicas: int) -> StreamInfo:
        check_provisioning(duplicate_window=window, replicas=replicas)
        server = self._open()
        server.check_up(None)
        stream = server.streams.get(name) or server.create_stream(name, patterns, window, replicas)
        stream.duplicate_window, stream.replicas = _seconds(window), replicas
        return self.stream_info_now(name)

    def _delivery(self, st: _Stream, co: _Consumer, seq: int, deliveries: int) -> Delivery:
        """The delivery, built as `regions.core.rows` builds rows: the frozen dataclass's
        `__dict__` set in its field order (checked below, at import), not nine
        `object.__setattr__` calls — one per message fetched (issue 17)."""
        msg = st.messages[seq]
        return frozen(Delivery, {
            "subject": msg.subject, "data": msg.data, "headers": dict(msg.headers),
            "stream": st.name, "consumer": co.name, "stream_seq": seq,
            "num_delivered": deliveries, "timestamp": msg.stored_at,
            "handle": _Token(st.name, co.name, seq)})

    def _pending(self, d: Delivery) -> tuple[_Consumer, int, _Pending] | None:
        """The still-pending message a delivery refers to; None when settling must do nothing.

        As nats-server does (`processAckMsg`), a settle is credited by stream, consumer name and
        stream seq only — whichever delivery it came from, even one from before the stream was
        recreated (it then settles the new message with that seq). A settle while the broker is
        unreachable is lost (nats-py acks are fire-and-forget).
        """
        server = self._open()
        token = d.handle
        if not isinstance(token, _Token):
            raise BrokerError("this delivery did not come from a memory broker")
        stream = server.streams.get(token.stream)
        if stream is None:
            return None
        if server.down_until(None) or server.down_until(stream.name):
            return None
        co = stream.consumers.get(token.consumer)
        pending = co.pending.get(token.seq) if co else None
        return (co, token.seq, pending) if co and pending else None


if tuple(f.name for f in dataclasses.fields(PubAck)) != ("stream", "seq", "duplicate"):
    raise TypeError("PubAck's fields changed: update MemoryBroker.publish_now")
if tuple(f.name for f in dataclasses.fields(Delivery)) != (
        "subject", "data", "headers", "stream", "consumer", "stream_seq", "num_delivered",
        "timestamp", "handle"):
    raise TypeError("Delivery's fields changed: update MemoryBroker._delivery")
