"""The ports of the node: what it needs from a broker and from an event store, and nothing more.

**Broker.** Two implementations pass one contract suite (`tests/contract/broker_contract.py`):
the NATS JetStream adapter and `regions.adapters.brokers.memory.MemoryBroker`. The port is async
because nats-py is.

Semantics every implementation keeps (JetStream's, see `shared/reference/nats.md`):
- **At-least-once.** A delivery may come again: after `ack_wait` without an ack, after `nak`,
  after a broker crash loses recent acks. Redeliveries arrive *after* later messages. Exactly-once
  *effect* is the inbox's job, keyed on the origin's identity — never on `stream_seq`, which a
  recreated stream or a crashed server may reuse.
- **Order.** A stream is totally ordered by `stream_seq`; `publish_many` keeps submission order.
- **Dedup** on `Nats-Msg-Id` per stream, only within the stream's `duplicate_window`: a repeat
  inside it returns the original seq with `duplicate=True`; after it, the repeat is a new message.
- **Retention.** Streams keep every message until an age limit sized from the protocols' longest
  wait (limits retention; NATS provisioning sets it, `regions.adapters.brokers.retention`), and
  a full stream refuses publishes rather than dropping: within that age a slow or absent
  consumer never loses unconsumed traffic, and past it the origin re-sends from its store.
  Acking does not delete.
- **Settling twice is harmless.** `ack`/`nak`/`in_progress`/`term` of a delivery that is already
  acked or terminated, or that belongs to a deleted stream, does nothing. Acks are credited by
  stream sequence, whichever delivery of the message they came from (as nats-server does,
  nats-server#4786). While the broker is unreachable an ack may be lost silently (nats-py acks are
  fire-and-forget): the message is then redelivered, which the inbox absorbs.

Durations (`duplicate_window`, `ack_wait`, `nak` delay, `fetch` timeout) are float seconds, as in
nats-py.

**Store.** A store opens one region's event store; opening it again is a restart and must see
everything that was committed. Durable stores (`regions.adapters.stores`) also hand out a commit
waker, so the relay can wait for commits made by other processes (API workers) instead of
polling the notification log tightly.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

from regions.core.store import EventStore

#: The header that carries a message's dedup key (JetStream's own name for it).
MSG_ID_HEADER: Final = "Nats-Msg-Id"
#: An inbox consumer's cap on unacknowledged deliveries as provisioned (`tongban nats
#: provision`): past it JetStream delivers nothing more, so the inbox never holds a delivery
#: unacknowledged while it waits for another (`regions.core.inbox`, issue 11 finding 4).
INBOX_MAX_ACK_PENDING: Final = 1000

# --------------------------------------------------------------------------- errors


class BrokerError(Exception):
    """The broker could not do what was asked (unreachable, closed, refused)."""


class NoStream(BrokerError):
    """No stream holds this subject, or the named stream does not exist: provisioning is missing."""


class NoConsumer(BrokerError):
    """The stream exists but the named durable consumer does not (e.g. after a stream recreate)."""


class PublishError(BrokerError):
    """A publish whose outcome is unknown: the message may or may not have been stored.

    From `publish_many`, `acks` holds the acks of the outgoing messages before `failed_index`,
    which are stored. The failing one and every later one have an unknown outcome (pipelined
    publishes may have landed): republish them with the same `Nats-Msg-Id` — within the
    duplicate window that is harmless, after it the inbox absorbs the copy. The original error
    (a `NoStream`, a timeout) is the `__cause__`.
    """

    def __init__(self, message: str, *, acks: Sequence[PubAck] = (), failed_index: int = 0) -> None:
        super().__init__(message)
        self.acks: tuple[PubAck, ...] = tuple(acks)
        self.failed_index = failed_index


# --------------------------------------------------------------------------- messages


class _Headers:
    headers: dict[str, str]

    @property
    def msg_id(self) -> str | None:
        """The message's dedup key (its `Nats-Msg-Id` header), if it has one."""
        return self.headers.get(MSG_ID_HEADER)


@dataclass(frozen=True)
class Outgoing(_Headers):
    """One message to publish; its `Nats-Msg-Id` header is its dedup key."""

    subject: str
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PubAck:
    """The broker's receipt: the stream and seq that hold the message (the original one if dup)."""

    stream: str
    seq: int
    duplicate: bool = False


@dataclass(frozen=True)
class Delivery(_Headers):
    """One delivery of a stored message to a durable consumer; settle it with the broker.

    `num_delivered` counts deliveries of this message to this consumer (1 the first time).
    `timestamp` is when the stream stored the message. `handle` is the implementation's own
    reference (a nats-py `Msg`, a memory-broker token): pass the delivery back, never the handle.
    """

    subject: str
    data: bytes
    headers: dict[str, str]
    stream: str
    consumer: str
    stream_seq: int
    num_delivered: int
    timestamp: dt.datetime
    handle: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class StreamInfo:
    name: str
    subjects: tuple[str, ...]
    duplicate_window: float
    replicas: int
    messages: int
    first_seq: int
    last_seq: int


@dataclass(frozen=True)
class ConsumerInfo:
    """As JetStream counts: `num_pending` never delivered, `num_ack_pending` delivered, unacked."""

    name: str
    stream: str
    ack_wait: float
    max_deliver: int
    num_pending: int
    num_ack_pending: int
    ack_floor: int
    #: The subjects it delivers ("" when unfiltered) and its cap on unacked deliveries (-1: none).
    filter_subject: str = ""
    max_ack_pending: int = -1


# --------------------------------------------------------------------------- the port


@runtime_checkable
class Broker(Protocol):
    """Publishing and consuming, as a node's relay and inbox use them."""

    async def publish(self, out: Outgoing) -> PubAck:
        """Store one message; `NoStream` if no stream takes the subject, else `PublishError`."""
        ...

    async def publish_many(self, outs: Sequence[Outgoing]) -> list[PubAck]:
        """Pipelined publish; acks in the order of `outs`. On failure `PublishError` (see there)."""
        ...

    async def fetch(self, consumer: str, stream: str, batch: int, timeout: float) -> list[Delivery]:
        """Up to `batch` deliveries, `[]` if none within `timeout`; due redeliveries come first."""
        ...

    async def ack(self, d: Delivery) -> None: ...

    async def nak(self, d: Delivery, delay: float = 0.0) -> None:
        """Redeliver after `delay` seconds (behind messages delivered meanwhile)."""
        ...

    async def in_progress(self, d: Delivery) -> None:
        """Still working: restart this delivery's `ack_wait`."""
        ...

    async def term(self, d: Delivery) -> None:
        """Never redeliver this message to this consumer."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class BrokerAdmin(Protocol):
    """Provisioning (`tongban nats provision`, tests). Nodes never create streams at start-up.

    `ensure_*` create what is missing and update what is editable; they never drop messages
    or reset a consumer's position.
    """

    async def ensure_stream(
        self, dest: str, *, duplicate_window: float, replicas: int = 1,
    ) -> StreamInfo:
        """The destination's event stream `TB_EVT_<dest>` on `tb.v1.evt.<dest>.*`."""
        ...

    async def ensure_dead_letter_stream(
        self, dest: str, *, duplicate_window: float, replicas: int = 1,
    ) -> StreamInfo:
        """The destination's quarantine stream `TB_DLQ_<dest>` on `tb.v1.dlq.<dest>`."""
        ...

    async def ensure_consumer(
        self, dest: str, *, ack_wait: float, max_deliver: int = -1,
        max_ack_pending: int = INBOX_MAX_ACK_PENDING,
    ) -> ConsumerInfo:
        """The durable pull consumer `inbox_<dest>`: explicit acks, from the first message."""
        ...

    async def stream_info(self, stream: str) -> StreamInfo: ...

    async def consumer_info(self, stream: str, consumer: str) -> ConsumerInfo: ...


def check_provisioning(
    *, duplicate_window: float | None = None, replicas: int | None = None,
    ack_wait: float | None = None, max_deliver: int | None = None,
    max_ack_pending: int | None = None,
) -> None:
    """Refuse settings JetStream would refuse or silently replace (0 means "server default")."""
    if duplicate_window is not None and not duplicate_window > 0:
        raise ValueError(f"duplicate_window must be > 0 seconds, got {duplicate_window!r}")
    if replicas is not None and not 1 <= replicas <= 5:
        raise ValueError(f"replicas must be 1..5, got {replicas!r}")
    if ack_wait is not None and not ack_wait > 0:
        raise ValueError(f"ack_wait must be > 0 seconds, got {ack_wait!r}")
    if max_deliver is not None and not (max_deliver == -1 or max_deliver >= 1):
        raise ValueError(f"max_deliver must be -1 (unlimited) or >= 1, got {max_deliver!r}")
    if max_ack_pending is not None and not (max_ack_pending == -1 or max_ack_pending >= 1):
        raise ValueError(f"max_ack_pending must be -1 (unlimited) or >= 1, got {max_ack_pending!r}")


# --------------------------------------------------------------------------- stores


class Store(Protocol):
    """Opens a region's event store; opening again after a crash sees everything committed."""

    def open(self, region: str) -> EventStore: ...


class CommitWaker(Protocol):
    """What the relay's driver needs: an event to wait on, and a start/stop lifecycle."""

    committed: threading.Event

    def start(self, timeout_s: float = ...) -> None: ...

    def stop(self) -> None: ...

    def wait(self, timeout_s: float) -> bool: ...


@runtime_checkable
class DurableStore(Store, Protocol):
    """A store other processes can write to: it wakes the relay and releases its connections."""

    def waker(self, region: str, on_commit: Callable[[], None] | None = None) -> CommitWaker: ...

    def close(self) -> None: ...
