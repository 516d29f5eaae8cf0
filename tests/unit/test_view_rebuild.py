"""Rebuilding the view tables while the region keeps writing and its views writer keeps going:
afterwards the live table equals a from-scratch replay of the whole log."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

from domain.protocols import PROTOCOLS
from projections.cases import CaseView
from projections.views import Views
from regions.adapters.stores.sql import SqliteStore
from regions.adapters.stores.view_rebuild import rebuild
from regions.adapters.stores.view_tables import SHADOW_TRACKING, ViewTables
from regions.adapters.stores.views import DurableViews, ViewCursor, ViewWriter
from regions.core.config import RegionConfig
from regions.core.side_events import SideEventTailer
from regions.core.tailer import MemoryCursor
from regions.runtime.bootstrap import default_rules
from simulations.runner import run

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
REGIONS = ("150600", "610800")
CODE = "150600"


def plain(view: CaseView) -> dict[str, Any]:
    data = dataclasses.asdict(view)
    data.pop("state")
    return data


def test_a_rebuild_beside_live_writes_equals_a_replay_from_scratch(tmp_path: Path) -> None:
    done = threading.Event()
    failures: list[BaseException] = []

    def simulate() -> None:  # the region keeps recording while the rebuild runs
        store = SqliteStore(tmp_path)
        try:
            run(5, 80, REGIONS, ("duplicate",), store_factory=lambda: store)
        except BaseException as exc:
            failures.append(exc)
        finally:
            store.close()
            done.set()

    writer_store = SqliteStore(tmp_path)
    own = {p: spec.decider(default_rules(RegionConfig(region=CODE)))
           for p, spec in PROTOCOLS.items()}
    threading.Thread(target=simulate, daemon=True).start()
    deadline = time.monotonic() + 60
    while not (tmp_path / f"{CODE}.sqlite").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    app = writer_store.open(CODE)
    while (app.recorder.max_notification_id() or 0) < 50 and not done.is_set():
        time.sleep(0.01)
    tables = ViewTables.for_store(writer_store, CODE)
    live = ViewWriter(tables, app, CODE, own)
    tailer = SideEventTailer(CODE, app, cursor=ViewCursor(live), batch_size=17)
    stop_live = threading.Event()

    def keep_writing() -> None:  # the node's views writer, as it runs beside a rebuild
        try:
            while not stop_live.is_set():
                if tailer.pump(live.sink, NOW) is None:
                    time.sleep(0.005)
        except BaseException as exc:
            failures.append(exc)

    writing = threading.Thread(target=keep_writing, daemon=True)
    writing.start()
    rebuilt = []
    while not done.is_set():  # rebuild again and again while the region records
        rebuilt.append(rebuild(tables, app, CODE, own, batch_size=23,
                               after_batch=lambda: time.sleep(0.005)))
        time.sleep(0.05)
    assert done.wait(120)
    assert not failures, failures
    assert len(rebuilt) >= 2 and rebuilt[-1].head_at_start > rebuilt[0].head_at_start
    assert any(r.position > r.head_at_start for r in rebuilt)  # the log grew during one
    stop_live.set()
    writing.join(30)
    while tailer.pump(live.sink, NOW) is not None:
        pass
    assert tailer.backlog() == 0 and tables.position() == tailer.position
    assert tables.position(SHADOW_TRACKING) == 0  # the shadow's row went with the swap

    replay = Views(own)
    scratch = SideEventTailer(CODE, app, cursor=MemoryCursor())
    while scratch.pump(replay.feed, NOW) is not None:
        pass
    durable = DurableViews(tables, CODE)
    assert {k: plain(v) for k, v in durable.cases.items()} == \
        {k: plain(v) for k, v in replay.cases.items()}
    assert durable.queue() == replay.queue()
    tables.close()
    writer_store.close()
