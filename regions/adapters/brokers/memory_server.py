"""The in-memory JetStream's server state: streams, consumers, dedup memory, outages, advisories.

Why apart from `memory.MemoryBroker`: every client connection (`MemoryBroker.connect`) shares
one `_Server`, and the fault injector (`memory_faults.MemoryBrokerFaults`) reaches into the
same state; keeping the model here lets both read it without either importing the other. The
model's rules (redelivery order, dedup window, advisories) are described in `memory`'s docstring.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from domain.kernel import Clock
from regions.core.ports import BrokerError, NoStream
from regions.wire import subjects

#: How many acknowledgements per consumer `lose_acks` can roll back.
ACK_LOG_SIZE = 100_000


@dataclass(frozen=True)
class Advisory:
    """What JetStream reports on `$JS.EVENT.ADVISORY.CONSUMER.*`: a message given up on."""

    kind: Literal["max_deliveries", "terminated"]
    stream: str
    consumer: str
    stream_seq: int
    deliveries: int
    at: dt.datetime


@dataclass
class _Message:
    subject: str
    data: bytes
    headers: dict[str, str]
    stored_at: dt.datetime


@dataclass
class _Pending:
    deliveries: int
    due: dt.datetime


@dataclass
class _Consumer:
    name: str
    ack_wait: dt.timedelta
    max_deliver: int
    max_ack_pending: int
    next_seq: int = 1
    pending: dict[int, _Pending] = field(default_factory=dict)
    acked: deque[int] = field(default_factory=lambda: deque(maxlen=ACK_LOG_SIZE))


@dataclass
class _Stream:
    name: str
    subjects: tuple[str, ...]
    duplicate_window: dt.timedelta
    replicas: int
    messages: dict[int, _Message] = field(default_factory=dict)
    last_seq: int = 0
    dedup: OrderedDict[str, tuple[int, dt.datetime]] = field(default_factory=OrderedDict)
    consumers: dict[str, _Consumer] = field(default_factory=dict)


class _Token(NamedTuple):
    """What a JetStream ack subject carries that matters: stream, consumer, stream seq. A
    named tuple, not a frozen dataclass: one is made per delivery (issue 17)."""

    stream: str
    consumer: str
    seq: int


class _Server:
    """State shared by every connection: streams, outages, advisories."""

    def __init__(self, clock: Clock) -> None:
        if clock().tzinfo is None:
            raise ValueError("the broker clock must return aware datetimes")
        self.clock = clock
        self.streams: dict[str, _Stream] = {}
        self.routes: dict[str, str] = {}
        self.outages: dict[str | None, dt.datetime] = {}  # stream name (None: all) -> until
        self.lost_pub_acks = 0
        self.advisories: list[Advisory] = []

    def create_stream(
        self, name: str, patterns: list[str], window: float, replicas: int,
    ) -> _Stream:
        stream = _Stream(name, tuple(patterns), _seconds(window), replicas)
        self.streams[name] = stream
        self.routes.clear()
        return stream

    def route(self, subject: str) -> _Stream:
        if subject not in self.routes:
            for stream in self.streams.values():
                if any(subjects.subject_matches(p, subject) for p in stream.subjects):
                    self.routes[subject] = stream.name
                    break
            else:
                raise NoStream(f"no stream holds subject {subject!r}")
        return self.streams[self.routes[subject]]

    def stream(self, name: str) -> _Stream:
        self.check_up(None)
        try:
            stream = self.streams[name]
        except KeyError:
            raise NoStream(f"stream {name!r} does not exist") from None
        self.check_up(name)
        return stream

    def down_until(self, name: str | None) -> dt.datetime | None:
        if not self.outages:  # none was ever made (the simulator): asked several times a message
            return None
        until = self.outages.get(name)
        return until if until is not None and self.clock() < until else None

    def check_up(self, name: str | None, error: type[BrokerError] = BrokerError) -> None:
        if not self.outages:
            return
        until = self.down_until(name)
        if until is not None:
            raise error(f"{name or 'broker'} unavailable until {until.isoformat()}")


def _seconds(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=value)


def _forget_expired(stream: _Stream, now: dt.datetime) -> None:
    """Drop the dedup entries older than the window (stored in order: the oldest first). `now -
    window < stored_at` is `now < stored_at + window` (datetime arithmetic is exact), with one
    subtraction per publish instead of an addition per entry looked at."""
    dedup = stream.dedup
    if not dedup:
        return
    cutoff = now - stream.duplicate_window
    while dedup:
        if cutoff < next(iter(dedup.values()))[1]:
            return
        dedup.popitem(last=False)

