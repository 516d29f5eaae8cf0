"""`provision()`: every region's streams and inbox consumer on NATS (`tongban nats provision`).

Why a separate admin step: nodes never create streams at start-up (a node with a typo in its
region code must not conjure an empty stream and wait on it forever), and the settings that
protect the regions' messages — file storage, no discard of unconsumed messages, `sync_interval: always` on
the server, the dedup window, the consumer's `ack_wait` — are decided once, by an operator, here.

Idempotent: running it again creates what is missing and updates only editable settings
(`duplicate_window`, replicas, `ack_wait`, `max_deliver`, `max_ack_pending`); it never removes
messages or moves a consumer. Every input is validated before anything is created.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from regions.adapters.brokers.nats import DEFAULT_CONNECT_TIMEOUT, NatsBroker
from regions.core.ports import ConsumerInfo, StreamInfo, check_provisioning
from regions.wire import subjects

#: Longer than any relay retry burst we expect; exactly-once never depends on it (the inbox
#: dedups by origin identity), it only saves redundant copies. Memory grows with the window.
DEFAULT_DUPLICATE_WINDOW = 600.0
#: Longer than the worst inbox batch transaction (design: "ack_wait exceeds the worst batch").
DEFAULT_ACK_WAIT = 30.0


@dataclass(frozen=True)
class Provisioned:
    """What one region has on the broker after provisioning."""

    region: str
    events: StreamInfo
    dead_letters: StreamInfo
    inbox: ConsumerInfo
    #: `TB_FEED_<r>`: the region's back-end feed (back-ends create their own durable consumers).
    feed: StreamInfo | None = None


async def provision(
    regions: Iterable[str], url: str, replicas: int = 1, *,
    duplicate_window: float = DEFAULT_DUPLICATE_WINDOW, ack_wait: float = DEFAULT_ACK_WAIT,
    max_deliver: int = -1, max_ack_pending: int = 1000,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> list[Provisioned]:
    """For each region (GB/T 2260 code): `TB_EVT_<r>`, `TB_DLQ_<r>`, the durable pull consumer
    `inbox_<r>` and the back-end feed `TB_FEED_<r>`. Raises `ValueError` on bad input (before
    touching the broker) and `BrokerError` when the broker refuses (e.g. replicas > 1 on a
    single server) or cannot be reached.
    """
    codes = list(dict.fromkeys(subjects.region_code(r) for r in regions))
    if not codes:
        raise ValueError("provision needs at least one region code")
    check_provisioning(duplicate_window=duplicate_window, replicas=replicas, ack_wait=ack_wait,
                       max_deliver=max_deliver, max_ack_pending=max_ack_pending)
    broker = await NatsBroker.connect(
        url, name="tongban-provision", connect_timeout=connect_timeout)
    try:
        done: list[Provisioned] = []
        for code in codes:
            events = await broker.ensure_stream(
                code, duplicate_window=duplicate_window, replicas=replicas)
            dead_letters = await broker.ensure_dead_letter_stream(
                code, duplicate_window=duplicate_window, replicas=replicas)
            inbox = await broker.ensure_consumer(
                code, ack_wait=ack_wait, max_deliver=max_deliver, max_ack_pending=max_ack_pending)
            feed = await broker._ensure_stream(  # same settings as the event streams
                subjects.feed_stream_name(code), subjects.feed_stream_subjects(code),
                duplicate_window, replicas, deny_purge=True)
            done.append(Provisioned(code, events, dead_letters, inbox, feed))
        return done
    finally:
        await broker.close()
