"""A flowing tail reads its cursor on the node's database thread, never on the event loop.

`regions.runtime.driver`: all store work runs on the one database thread (the cores are
single-writer and not thread-safe), and the loop stays free for the broker. A flow's starting
position is the tailer's cursor (`Tailer.position`: at a start, `RecordCursor.load`, a read of
the store): read on the loop, it is a store read beside whatever the database thread runs, and
blocks every connection the loop serves meanwhile.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid

from domain.protocols import spec_of
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.side_events import SideEventTailer
from regions.core.tailer import MemoryCursor
from regions.runtime.bootstrap import build_region
from regions.runtime.driver import NodeDriver, Tail
from regions.runtime.tail_flow import flow
from tests.unit import toy_protocol as toy

A, B = "150600", "610800"


class WatchedCursor(MemoryCursor):
    """A cursor that notes the thread each load runs on."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded_on: list[str] = []

    def load(self) -> int:
        self.loaded_on.append(threading.current_thread().name)
        return super().load()


def test_a_flow_loads_its_cursor_on_the_database_thread() -> None:
    async def main() -> list[str]:
        region = build_region(RegionConfig(region=A, peers=(A, B)),
                              clock=lambda: dt.datetime.now(dt.UTC), ids=uuid.uuid4,
                              broker=None, store=MemoryStore(),
                              protocols={"toy": spec_of("toy", toy)})
        driver = NodeDriver(region, None)  # type: ignore[arg-type]  # no sink publishes
        cursor = WatchedCursor()
        tailer = SideEventTailer(A, region.node.app, cursor=cursor)

        async def sink(items: list[object]) -> None:
            return None

        try:
            running = asyncio.create_task(flow(driver, Tail("test", tailer, sink, "published"),
                                               3))
            await asyncio.sleep(0.05)
            driver.stop()
            await running
        finally:
            driver.close()
        return cursor.loaded_on

    loaded_on = asyncio.run(main())
    assert loaded_on, "the flow never read its position"
    assert all(name.startswith(f"db-{A}") for name in loaded_on), loaded_on
