"""A flowing tail (`regions.runtime.tail_flow`): several batches with the sink, the cursor in order.

The sink here takes a while per batch (the acks), so the flow hands on the next ones meanwhile;
one batch fails once. Checked: batches start in log order, never more than the window at once
(and more than one: it does flow), the cursor never passes a batch whose sink had not returned,
and after the failure everything from the failed batch on is handed on again — nothing lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from domain.protocols import spec_of
from regions.adapters.brokers.memory import MemoryBroker
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.side_events import SideEventTailer
from regions.core.tailer import MemoryCursor
from regions.runtime.bootstrap import build_region
from regions.runtime.driver import NodeDriver, Tail
from regions.runtime.tail_flow import flow
from tests.unit import toy_protocol as toy
from tests.unit.test_tailer import open_sides

A, B = "150600", "610800"
WINDOW, SIDES = 3, 9


def wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_a_flowing_tail_keeps_order_and_window_and_hands_on_again_after_a_failed_batch() -> None:
    async def main() -> tuple[list[list[int]], int, list[int], list[int], int]:
        region = build_region(RegionConfig(region=A, peers=(A, B)), clock=wall, ids=uuid.uuid4,
                              broker=None, store=MemoryStore(),
                              protocols={"toy": spec_of("toy", toy)})
        driver = NodeDriver(region, MemoryBroker(wall).connect())
        tailer = SideEventTailer(A, region.node.app, batch_size=2, cursor=MemoryCursor())
        started: list[list[int]] = []
        returned: list[int] = []
        passed: list[int] = []
        flying = most = 0
        fail = [True]

        async def sink(items: list[Any]) -> None:
            nonlocal flying, most
            numbers = [item.payload["n"] for item in items]
            started.append(numbers)
            flying += 1
            most = max(most, flying)
            try:
                await asyncio.sleep(0.02)  # the acks: the next batches are handed on meanwhile
                if numbers[0] == 2 and fail:
                    fail.pop()
                    raise ConnectionError("broker gone")
            finally:
                flying -= 1
            returned.extend(numbers)

        pass_batch = tailer.passed

        def checked_pass(batch: Any, now: dt.datetime) -> None:
            numbers = [item.payload["n"] for item in batch.items]
            assert set(numbers) <= set(returned), "the cursor passed a batch still in flight"
            passed.extend(numbers)
            pass_batch(batch, now)

        tailer.passed = checked_pass  # type: ignore[method-assign]
        tail = Tail("test", tailer, sink, "feed_published")
        try:
            await driver.db(open_sides, region.node.app, SIDES)
            try:
                await flow(driver, tail, WINDOW)
                raise AssertionError("the failed batch did not stop the flow")
            except ConnectionError:
                pass
            first_run, passed_then = len(started), list(passed)
            again = asyncio.create_task(flow(driver, tail, WINDOW))
            while passed[-1:] != [SIDES - 1]:
                await asyncio.sleep(0.01)
            driver.stop()
            await again
        finally:
            driver.close()
        return started, first_run, passed_then, passed, most

    started, first_run, passed_then, passed, most = asyncio.run(main())
    before, after = started[:first_run], started[first_run:]
    assert [n for b in before for n in b] == list(range(sum(map(len, before))))  # log order
    assert 1 < most <= WINDOW
    assert passed_then == [0, 1]  # the batch before the failed one; nothing after it
    assert [n for b in after for n in b] == list(range(2, SIDES))  # from the failed batch on
    assert passed == list(range(SIDES))
