"""The in-memory JetStream's failure modes: expired acks, forgotten dedup, a recreated stream,
lost acks or stored messages, outages, lost publish acks.

Why a module of its own: the faults are the simulator's and the tests' levers, kept apart from
the production port (`memory.MemoryBroker`) so no node can trigger them; they act on the server
state every connection shares (`memory_server._Server`).
"""

from __future__ import annotations

from collections import deque

from regions.adapters.brokers.memory_server import (
    ACK_LOG_SIZE,
    _Consumer,
    _Pending,
    _seconds,
    _Server,
    _Stream,
)
from regions.core.ports import NoConsumer, NoStream
from regions.wire import subjects


class MemoryBrokerFaults:
    """The failure modes, kept apart from the production port so no node can trigger them."""

    def __init__(self, server: _Server) -> None:
        self._server = server

    def expire_ack_wait(self, dest: str | None = None) -> int:
        """The ack timer of every unacked delivery runs out now; returns how many."""
        now = self._server.clock()
        pendings = [p for co in self._consumers(dest) for p in co.pending.values()]
        for pending in pendings:
            pending.due = min(pending.due, now)
        return len(pendings)

    def forget_dedup(self, dest: str | None = None) -> None:
        """The duplicate window has passed for every message published so far."""
        for stream in self._streams(dest):
            stream.dedup.clear()

    def recreate_stream(self, dest: str) -> None:
        """Delete and recreate the event stream: messages, dedup memory and consumer are gone."""
        old = self._stream(dest)
        self._server.create_stream(
            old.name, list(old.subjects), old.duplicate_window.total_seconds(), old.replicas)

    def lose_acks(self, dest: str, n: int) -> list[int]:
        """The inbox's last `n` acks are forgotten (a server crash): those messages come again."""
        stream = self._stream(dest)
        co = self._consumer(stream, dest)
        lost: list[int] = []
        now = self._server.clock()
        while co.acked and len(lost) < n:
            seq = co.acked.pop()
            if seq in stream.messages and seq not in co.pending:
                co.pending[seq] = _Pending(1, now)
                lost.append(seq)
        return sorted(lost)

    def lose_stored(self, dest: str, n: int) -> list[int]:
        """The last `n` stored messages vanish (OS crash within the fsync interval).

        As a recovered file store does, the stream continues from the last surviving seq (new
        messages reuse the lost seqs), the lost msg ids leave the dedup memory, and consumers
        ahead of the stream are pulled back to it.
        """
        stream = self._stream(dest)
        lost = [stream.messages.popitem()[0] for _ in range(min(n, len(stream.messages)))]
        if not lost:
            return []
        stream.last_seq = min(lost) - 1
        for msg_id in [m for m, (seq, _) in stream.dedup.items() if seq > stream.last_seq]:
            del stream.dedup[msg_id]
        for co in stream.consumers.values():
            co.next_seq = min(co.next_seq, stream.last_seq + 1)
            co.pending = {s: p for s, p in co.pending.items() if s <= stream.last_seq}
            co.acked = deque((s for s in co.acked if s <= stream.last_seq), maxlen=ACK_LOG_SIZE)
        return sorted(lost)

    def make_unavailable(self, dest: str | None, seconds: float) -> None:
        """Publish, fetch, admin fail and settles are lost for `seconds`; `None`: every stream."""
        name = None if dest is None else subjects.event_stream_name(dest)
        self._server.outages[name] = self._server.clock() + _seconds(seconds)

    def lose_publish_acks(self, n: int) -> None:
        """The next `n` publishes are stored, but the publisher gets `PublishError` (timeout)."""
        self._server.lost_pub_acks += n

    def _stream(self, dest: str) -> _Stream:
        name = subjects.event_stream_name(dest)
        if name not in self._server.streams:
            raise NoStream(f"stream {name!r} does not exist")
        return self._server.streams[name]

    def _consumer(self, stream: _Stream, dest: str) -> _Consumer:
        name = subjects.inbox_consumer_name(dest)
        if name not in stream.consumers:
            raise NoConsumer(f"stream {stream.name!r} has no consumer {name!r}")
        return stream.consumers[name]

    def _streams(self, dest: str | None) -> list[_Stream]:
        return list(self._server.streams.values()) if dest is None else [self._stream(dest)]

    def _consumers(self, dest: str | None) -> list[_Consumer]:
        return [co for stream in self._streams(dest) for co in stream.consumers.values()]

