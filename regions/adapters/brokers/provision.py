"""`provision()`: every region's streams, inbox consumer and back-end durables on NATS
(`tongban nats provision`).

Why a separate admin step: nodes never create streams at start-up (a node with a typo in its
region code must not conjure an empty stream and wait on it forever), and the settings that
protect the regions' messages — file storage, limits sized from the protocols' longest wait
with `discard: new` (`retention`), `sync_interval: always` on the server, the dedup window, the
consumers' `ack_wait` — are decided once, by an operator, here. Under the shipped `nats.conf`
nobody else may create a consumer: a permission can pin a consumer's stream, name and filter,
but not the rest of its configuration (push delivery anywhere, ack policy, start position).

**Back-end durables** (`--backend NAME[=PROCESS]`): each back-end reads its region's feed
through its own durable pull consumer, explicit acks, from the feed's start, unlimited
deliveries, and

- `ack_wait` **5 s** (`BACKEND_ACK_WAIT`): when a back-end dies holding deliveries (alone, or
  together with nats-server), they count against `max_ack_pending` until `ack_wait` passes;
  holding a full batch, the next back-end gets nothing until then. Measured with the SDK, a
  back-end killed with nats-server while holding 64 unacked events: the feed resumed 58.3-58.6 s
  after the restart with `ack_wait` 60 s (an integrator saw 57 s), 5.5-6.0 s with 5 s. The SDK
  keeps a slow handler's deliveries alive (`+WPI` every third of `ack_wait`), so the short wait
  costs nothing in normal operation. (A back-end that survives a nats-server SIGKILL resumes
  within ~0.2 s whatever `ack_wait` is.)
- `max_ack_pending` **64** (`BACKEND_MAX_ACK_PENDING`, the SDK's batch, which it never
  exceeds): at most one batch is out at a time, which bounds both the stall and how far a
  redelivery after a crash can fall behind later events.

Idempotent: running it again creates what is missing and updates only editable settings
(`duplicate_window`, replicas, limits, `ack_wait`, `max_deliver`, `max_ack_pending`); it never
removes messages or moves a consumer. Every input is validated before anything is created.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from regions.adapters.brokers import retention
from regions.adapters.brokers.nats import DEFAULT_CONNECT_TIMEOUT, NatsBroker
from regions.core.ports import (
    INBOX_MAX_ACK_PENDING,
    ConsumerInfo,
    StreamInfo,
    check_provisioning,
)
from regions.wire import subjects

#: Longer than any relay retry burst we expect; exactly-once never depends on it (the inbox
#: dedups by origin identity), it only saves redundant copies. Memory grows with the window.
DEFAULT_DUPLICATE_WINDOW = 600.0
#: Longer than the worst inbox batch transaction (design: "ack_wait exceeds the worst batch").
DEFAULT_ACK_WAIT = 30.0
#: A back-end durable's `ack_wait` and `max_ack_pending` (see the module docstring).
BACKEND_ACK_WAIT: Final = 5.0
BACKEND_MAX_ACK_PENDING: Final = 64


@dataclass(frozen=True)
class Backend:
    """A back-end to provision a durable for: its name, and the one process it reads (None:
    the whole feed)."""

    name: str
    process: str | None = None

    def __post_init__(self) -> None:
        subjects.backend_name(self.name)
        if self.process is not None:
            subjects.feed_filter("000000", self.process)  # validates the process token

    @classmethod
    def parse(cls, text: str) -> Backend:
        """`NAME` or `NAME=PROCESS` (the command line's `--backend`)."""
        name, sep, process = text.partition("=")
        return cls(name, process if sep else None)


@dataclass(frozen=True)
class Provisioned:
    """What one region has on the broker after provisioning."""

    region: str
    events: StreamInfo
    dead_letters: StreamInfo
    inbox: ConsumerInfo
    #: `TB_FEED_<r>`: the region's back-end feed, and the back-ends' durables on it.
    feed: StreamInfo | None = None
    backends: tuple[ConsumerInfo, ...] = ()


async def provision(
    regions: Iterable[str], url: str, replicas: int = 1, *,
    duplicate_window: float = DEFAULT_DUPLICATE_WINDOW, ack_wait: float = DEFAULT_ACK_WAIT,
    max_deliver: int = -1, max_ack_pending: int = INBOX_MAX_ACK_PENDING,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    backends: Iterable[Backend | str] = (),
    streams: retention.Retention = retention.STREAMS,
    dead_letters: retention.Retention = retention.DEAD_LETTERS,
) -> list[Provisioned]:
    """For each region (GB/T 2260 code): `TB_EVT_<r>`, `TB_DLQ_<r>`, the durable pull consumer
    `inbox_<r>`, the back-end feed `TB_FEED_<r>` and a durable on it for each of `backends`.
    Raises `ValueError` on bad input (before touching the broker) and `BrokerError` when the
    broker refuses (e.g. replicas > 1 on a single server) or cannot be reached.
    """
    codes = list(dict.fromkeys(subjects.region_code(r) for r in regions))
    if not codes:
        raise ValueError("provision needs at least one region code")
    wanted = [b if isinstance(b, Backend) else Backend.parse(b) for b in backends]
    if len({b.name for b in wanted}) != len(wanted):
        raise ValueError("each back-end name once: a durable reads one filter")
    check_provisioning(duplicate_window=duplicate_window, replicas=replicas, ack_wait=ack_wait,
                       max_deliver=max_deliver, max_ack_pending=max_ack_pending)
    broker = await NatsBroker.connect(
        url, name="tongban-provision", connect_timeout=connect_timeout)
    try:
        done: list[Provisioned] = []
        for code in codes:
            events = await broker.ensure_stream(
                code, duplicate_window=duplicate_window, replicas=replicas, retention=streams)
            quarantine = await broker.ensure_dead_letter_stream(
                code, duplicate_window=duplicate_window, replicas=replicas,
                retention=dead_letters)
            inbox = await broker.ensure_consumer(
                code, ack_wait=ack_wait, max_deliver=max_deliver, max_ack_pending=max_ack_pending)
            feed = await broker.ensure_feed_stream(
                code, duplicate_window=duplicate_window, replicas=replicas, retention=streams)
            durables = tuple([await broker.ensure_backend_consumer(
                code, b.name, process=b.process, ack_wait=BACKEND_ACK_WAIT,
                max_ack_pending=BACKEND_MAX_ACK_PENDING) for b in wanted])
            done.append(Provisioned(code, events, quarantine, inbox, feed, durables))
        return done
    finally:
        await broker.close()
