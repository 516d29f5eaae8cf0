"""The bench's probe counts what a node publishes, by kind, the way the driver publishes it.

Why: `tongban bench` reports messages per case broken down into link messages, high-water
marks, re-send requests and the back-end feed (docs/performance.md reads them); a probe that
wraps a path the driver no longer takes reads 0 and the breakdown is silently wrong.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from domain.protocols import spec_of
from regions.adapters.brokers.memory import MemoryBroker
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import build_region
from regions.runtime.driver import NodeDriver
from regions.wire import subjects
from simulations.bench.worker import Probe
from tests.unit import toy_protocol as toy

A, B = "150600", "610800"


def wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _probed_ping_pong(cases: int) -> dict[str, dict[str, int]]:
    server = MemoryBroker(wall)
    for code in (A, B):
        server.ensure_stream_now(code, duplicate_window=120)
        server.ensure_consumer_now(code, ack_wait=30)
        server._ensure(subjects.feed_stream_name(code), subjects.feed_stream_subjects(code),
                       120, 1)  # the back-end feed's stream: its messages are counted too
    store = MemoryStore()
    regions = {c: build_region(RegionConfig(region=c, peers=(A, B), heartbeat_seconds=0.2),
                               clock=wall, ids=uuid.uuid4, broker=None, store=store,
                               protocols={"toy": spec_of("toy", toy)}) for c in (A, B)}
    probes = {}
    drivers = {}
    for code, region in regions.items():
        broker = server.connect()
        drivers[code] = NodeDriver(region, broker, fetch_timeout=0.05)
        probes[code] = Probe("origin", ())
        probes[code].instrument(region, broker)  # type: ignore[arg-type]
        probes[code].instrument_driver(drivers[code])
    runs = [asyncio.create_task(d.run()) for d in drivers.values()]
    await toy.ping_until_done(drivers[A], regions[A].node, cases, A, B, wall)
    await asyncio.sleep(0.5)  # a heartbeat or two: marks go out too
    for d in drivers.values():
        d.stop()
    await asyncio.gather(*runs)
    return {code: dict(probe.counters) for code, probe in probes.items()}


def test_the_probe_counts_the_link_messages_the_relay_publishes_and_the_kinds_add_up() -> None:
    counters = asyncio.run(_probed_ping_pong(10))
    # A's pings and B's pongs cross the link: one shared event each way per case, in as many
    # messages or fewer (a relay packs consecutive events to one destination: link.encode_many).
    for code in (A, B):
        assert counters[code]["link_events"] >= 10, counters
        assert 1 <= counters[code]["link_messages"] <= counters[code]["link_events"], counters
    for code, c in counters.items():
        assert c["marks"] > 0, (code, c)
        assert c["feed_messages"] > 0, (code, c)
        kinds = c["link_messages"] + c["marks"] + c["resend_requests"] + c["feed_messages"]
        assert kinds == c["published"], (code, c)
