"""Rebuild a region's view tables without stopping its node (`tongban projections rebuild`).

How: fold the whole log into a shadow table (`views_cases_next`, its own tracking row) up to
the head P as it was when the rebuild began, and on past it while the node keeps writing; then,
in one transaction holding the live tracking row's lock (the lock every live batch takes
first), apply what arrived since, rename the shadow to the live table and move the live
tracking row to the shadow's position. The node's views writer waits for that lock for the
length of one batch at most; its next batch sees the row moved, drops the views it held and
skips what the shadow already applied (`views.ViewWriter`). Commands, the inbox and the relay
never wait: they write the event store, not the view tables (on SQLite, whose one writer lock
covers the file, the swap holds it for one short transaction).

Why fold from the log and not copy the live table: a rebuild is what repairs a view after a
change to its logic or a damaged table; copying would keep the damage.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.kernel import Decider
from regions.adapters.stores.view_tables import (
    SHADOW,
    SHADOW_TRACKING,
    ViewTables,
)
from regions.adapters.stores.views import ViewCursor, ViewWriter
from regions.core.side_events import SideEventTailer
from regions.core.store import EventStore

#: A rebuild keeps every view it folded (it reads the whole log once, in order).
REBUILD_CACHE = 1_000_000


@dataclass(frozen=True)
class Rebuilt:
    head_at_start: int  # P: the log's head when the rebuild began
    position: int  # where the swapped-in table stands
    events: int  # side events applied to the shadow
    under_lock: int  # of them, applied while holding the live row's lock
    seconds: float


def rebuild(tables: ViewTables, app: EventStore, region: str,
            deciders: Mapping[str, Decider[Any]], *, batch_size: int = 500,
            after_batch: Callable[[], None] | None = None) -> Rebuilt:
    """Rebuild into the shadow, catch up, swap (see the module docstring). `after_batch` runs
    after each batch outside the lock (tests use it to interleave writes)."""
    started = time.perf_counter()
    head = app.recorder.max_notification_id() or 0
    tables.reset_shadow()
    writer = ViewWriter(tables, app, region, deciders, table=SHADOW, tracking=SHADOW_TRACKING,
                        cache_size=REBUILD_CACHE)
    tailer = SideEventTailer(region, app, batch_size=batch_size, cursor=ViewCursor(writer))
    applied = 0
    now = dt.datetime.now(dt.UTC)
    while (batch := tailer.step(now)) is not None:
        applied += writer.write(batch.items, batch.position)
        tailer.advance(batch, now)
        if after_batch is not None:
            after_batch()
    locked = 0
    with tables.writing() as curs:
        tables.hold_live(curs)
        while (batch := tailer.step(now)) is not None:
            locked += writer.write_in(curs, batch.items, batch.position)
            tailer.seek(batch.position)  # inside this transaction: no second writer
        position = tables.locked_position(curs, SHADOW_TRACKING)
        tables.swap(curs, position)
    return Rebuilt(head, position, applied + locked, locked,
                   time.perf_counter() - started)
