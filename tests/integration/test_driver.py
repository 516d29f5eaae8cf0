"""The asyncio driver runs the same cores end to end over a broker (here the in-memory one).

Integration tier: the drivers run their real-time loops and the test polls their progress on the
wall clock, with a deadline. The unit tier drives the same pieces one step at a time
(`tests/unit/test_node_ops.py`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest

from domain.protocols import spec_of
from regions.adapters.brokers.memory import MemoryBroker
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import Region, build_region
from regions.runtime.driver import NodeDriver
from regions.wire import subjects
from tests.unit import toy_protocol as toy

A, B = "150600", "610800"


def wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _ping_pong(cases: int,
                     regions: dict[str, Region] | None = None) -> tuple[list[str], list[str]]:
    server = MemoryBroker(wall)
    for code in (A, B):
        server.ensure_stream_now(code, duplicate_window=120)
        server.ensure_consumer_now(code, ack_wait=30)
        server._ensure(subjects.feed_stream_name(code), subjects.feed_stream_subjects(code),
                       120, 1)  # the back-end feed's stream, as provisioning makes it
    store = MemoryStore()
    regions = {} if regions is None else regions
    regions.update({c: build_region(RegionConfig(region=c, peers=(A, B), heartbeat_seconds=0.2),
                                    clock=wall, ids=uuid.uuid4, broker=None, store=store,
                                    protocols={"toy": spec_of("toy", toy)}) for c in (A, B)})
    drivers = {c: NodeDriver(r, server.connect(), fetch_timeout=0.05)
               for c, r in regions.items()}
    runs = [asyncio.create_task(d.run()) for d in drivers.values()]
    case_ids = await toy.ping_until_done(drivers[A], regions[A].node, cases, A, B, wall)
    for d in drivers.values():
        d.stop()
    await asyncio.gather(*runs)
    a = [regions[A].node.side(c).state.status for c in case_ids]  # type: ignore[union-attr]
    b = [regions[B].node.side(c).state.status for c in case_ids]  # type: ignore[union-attr]
    return a, b


def test_two_driven_nodes_complete_ping_pong_over_the_broker_and_stop_cleanly() -> None:
    a, b = asyncio.run(_ping_pong(20))
    assert a == ["done"] * 20
    assert b == ["ponged"] * 20


def test_the_relay_and_feed_save_their_cursors_when_due_and_at_a_clean_stop() -> None:
    """Their positions are not a transaction per batch (`CURSOR_SAVE_INTERVAL`): fewer saves
    than batches while running, and a clean stop saves what was handed on (a restart after it
    re-sends nothing)."""
    regions: dict[str, Region] = {}
    a, b = asyncio.run(_ping_pong(20, regions))
    assert a == ["done"] * 20 and b == ["ponged"] * 20
    tailers = [t for r in regions.values() for t in (r.relay, r.feed) if t is not None]
    assert len(tailers) == 4 and all(t.deferred is not None for t in tailers)
    assert sum(t.stats["batches"] for t in tailers) > sum(t.stats["saves"] for t in tailers)
    for tailer in tailers:
        assert tailer.stats["saves"] >= 1
        assert tailer.unsaved() == 0 and tailer.cursor.load() == tailer.position


def test_a_group_commit_of_many_sides_wakes_the_tailers_once_and_they_see_it() -> None:
    """Every side a commit changed calls the listeners; one wake-up crosses to the loop, not one
    per side and tailer (each a write to the loop's self-pipe and a hand-over of the GIL)."""

    async def main() -> tuple[int, list[bool]]:
        store = MemoryStore()
        region = build_region(RegionConfig(region=A, peers=(A, B)), clock=wall, ids=uuid.uuid4,
                              broker=None, store=store, protocols={"toy": spec_of("toy", toy)})
        driver = NodeDriver(region, MemoryBroker(wall).connect())
        loop = asyncio.get_running_loop()
        driver._loop = loop
        scheduled = 0
        threadsafe = loop.call_soon_threadsafe

        def counting(callback: Any, *args: Any) -> Any:
            nonlocal scheduled
            waking = getattr(callback, "__self__", None)
            scheduled += (waking is driver or waking is driver._db
                          or any(waking is t.wake for t in driver.tails))
            return threadsafe(callback, *args)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        try:
            for _ in range(100):  # one commit's listeners, before the loop runs again
                driver.wake_tailers()
            await asyncio.sleep(0)
            woken = [tail.wake.is_set() for tail in driver.tails]
            for tail in driver.tails:
                tail.wake.clear()
            driver.wake_tailers()  # the next commit wakes them again
            await asyncio.sleep(0)
            return scheduled, [*woken, *(tail.wake.is_set() for tail in driver.tails)]
        finally:
            del loop.call_soon_threadsafe
            driver.close()

    scheduled, woken = asyncio.run(main())
    assert all(woken)
    assert scheduled == 2


def test_a_sink_that_fails_drops_the_batch_read_ahead_and_nothing_is_lost_or_repeated() -> None:
    """The next batch is read while the sink works; when the sink fails, that batch is not
    handed on, and the tail reads on from its position: every item once, in order."""
    from regions.core.side_events import SideEventTailer
    from regions.core.tailer import MemoryCursor
    from regions.runtime.driver import Tail
    from tests.unit.test_tailer import open_sides

    async def main() -> list[int]:
        region = build_region(RegionConfig(region=A, peers=(A, B)), clock=wall, ids=uuid.uuid4,
                              broker=None, store=MemoryStore(),
                              protocols={"toy": spec_of("toy", toy)})
        driver = NodeDriver(region, MemoryBroker(wall).connect())
        app = region.node.app
        tailer = SideEventTailer(A, app, batch_size=2, cursor=MemoryCursor())
        taken: list[int] = []
        refuse = [True]

        async def sink(items: list[Any]) -> None:
            await asyncio.sleep(0.01)  # the acks: the next batch is read meanwhile
            if refuse.pop() if refuse else False:
                raise ConnectionError("broker gone")
            taken.extend(item.payload["n"] for item in items)

        tail = Tail("test", tailer, sink, "feed_published", read_ahead=True)
        try:
            await driver.db(open_sides, app, 5)
            with pytest.raises(ConnectionError):
                await driver.tail_once(tail)
            assert tail.ahead is None and tailer.position == 0
            while await driver.tail_once(tail):
                pass
        finally:
            driver.close()
        return taken

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]
