"""A node's read models on its driver: one more tailer of the region's log, the same commit order
and wake-ups as the relay and the feed (used by `tongban node` and by the bench's nodes).

Which kind: on a durable store (SQLite, PostgreSQL) the views live in view tables in the same
datastore (`regions.adapters.stores.views`), written with their tracking row in one
transaction, so a restart resumes from the tracking position instead of replaying the log. The
memory store has nothing to resume from: its views are in memory, rebuilt from position 0 at
each start (as the simulator's are).

Why the durable writer has a thread of its own: the node's database thread is the write path
(commands, inbox, timer); view rows written there would delay every commit. The tailer still
reads on the database thread (like the relay), the rows are written on the views' thread and
pool, and `advance` moves the tracking row only when a batch wrote no rows. The writer folds
no event the node's own decision folded last (`NodeFolds`, a listener of the node).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from projections.views import CaseViews, Views
from regions.adapters.stores.sql import PostgresStore, SqliteStore
from regions.adapters.stores.view_tables import ViewTables
from regions.adapters.stores.views import DurableViews, NodeFolds, ViewCursor, ViewWriter
from regions.core.side_events import SideEventTailer
from regions.core.tailer import MemoryCursor
from regions.runtime.bootstrap import Region
from regions.runtime.db_thread import BACKGROUND
from regions.runtime.driver import NodeDriver, Tail


@dataclass
class AttachedViews:
    views: CaseViews
    tailer: SideEventTailer
    tables: ViewTables | None = None
    _thread: ThreadPoolExecutor | None = field(default=None, repr=False)

    def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)
        if self.tables is not None:
            self.tables.close()


def deciders_of(region: Region) -> dict[str, Any]:
    return {process: binding.decider for process, binding in region.node.protocols.items()}


def attach_views(region: Region, driver: NodeDriver, store: object) -> AttachedViews:
    """The region's read models, kept current by a tailer of `driver` (see the docstring)."""
    driver.counters["views_applied"] = 0
    batch = region.config.relay_batch
    if not isinstance(store, SqliteStore | PostgresStore):
        views = Views(deciders_of(region))
        tailer = SideEventTailer(region.code, region.node.app, batch_size=batch,
                                 cursor=MemoryCursor())

        async def feed(items: list[object]) -> None:
            views.feed(items)  # type: ignore[arg-type]

        driver.tail(Tail("views", tailer, feed, "views_applied", slack=BACKGROUND))
        return AttachedViews(views, tailer)
    tables = ViewTables.for_store(store, region.code)
    folds = NodeFolds()  # the states the node folds as it decides, for the writer
    region.node.listeners.append(folds.heard)
    writer = ViewWriter(tables, region.node.app, region.code, deciders_of(region), folds=folds)
    tailer = SideEventTailer(region.code, region.node.app, batch_size=batch,
                             cursor=ViewCursor(writer))
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"views-{region.code}")

    async def write(items: list[object]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(thread, writer.sink, items)  # type: ignore[arg-type]

    driver.tail(Tail("views", tailer, write, "views_applied", slack=BACKGROUND))
    return AttachedViews(DurableViews(tables, region.code), tailer, tables, thread)
