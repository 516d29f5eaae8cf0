"""The live views trust their node's window of recent commits (`projection_checks._FOR_GOOD`):
they must still read every side record their region committed, across the crashes' restarts.

Why: once caught up inside the window, a live view's catch-up no longer asks the store whether
anything lies beyond it (the region's node is its log's only writer). A record the views missed
would leave a view short of its case and escape the end's replay too (it replays the records
the live views read), so this compares what they read with the store itself, read from the
start by a tailer that trusts nothing.
"""

from __future__ import annotations

import datetime as dt
from unittest import mock

from regions.core import side_events, unreadable
from regions.core import tailer as tailers
from regions.core.side_events import SideEventTailer, SideReads
from regions.core.tailer import MemoryCursor
from simulations import projection_checks
from simulations.runner import run

FAULTS = ("crash_after_commit", "crash_mid_transaction", "crash_before_ack", "drop",
          "duplicate", "calendar_install")
NOW = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _none(_: object) -> None:
    return None


def _stored(app: object, code: str) -> list[tuple[int, str]]:
    """Every side record of the region's log, from the store alone: not the node's window of
    recent commits (a region that never restarted holds its whole run there, so a tailer
    reading it compared the window with itself) nor the records the live views' tailer
    already read (`SideReads`, kept on the store object)."""
    tailer = SideEventTailer(code, app, cursor=MemoryCursor())  # type: ignore[arg-type]
    tailer._reads = SideReads()
    found: list[tuple[int, str]] = []
    with mock.patch.object(tailers, "recent_log_of", _none), \
            mock.patch.object(unreadable, "recent_log_of", _none), \
            mock.patch.object(side_events, "recent_log_of", _none):
        while (batch := tailer.step(NOW)) is not None:
            found += [(r.position, r.case_id) for r in batch.items]
            tailer.advance(batch, NOW)
    return found


def test_the_live_views_read_every_record_their_region_committed_across_restarts() -> None:
    result = run(seed=3, cases=60, faults=FAULTS)
    assert result.violations == []
    world = result.world
    assert sum(result.world.plan.injected.get(k, 0) for k in FAULTS[:3]) > 0  # restarts ran
    live_views = projection_checks._regions(world)
    for code, live in live_views.items():
        app = world.regions[code].region.node.app
        assert live.tailer.app is app  # followed to the store object of its last restart
        read = sorted((r.position, r.case_id) for records in live.records.values()
                      for r in records)
        assert read == _stored(app, code), code
