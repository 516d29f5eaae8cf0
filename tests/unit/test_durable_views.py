"""Durable views on SQLite: the tables equal a replay in memory, a restart resumes from the
tracking row (no replay), and the figures the API reads are the same as the in-memory views'."""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from projections.cases import CaseView
from projections.views import Views
from regions.adapters.stores.sql import SqliteStore
from regions.adapters.stores.view_tables import ViewTables
from regions.adapters.stores.views import DurableViews, ViewCursor, ViewWriter
from regions.core.side_events import SideEventTailer
from regions.core.tailer import MemoryCursor
from simulations.runner import run

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
REGIONS = ("150600", "610800")


def plain(view: CaseView) -> dict[str, Any]:
    data = dataclasses.asdict(view)
    data.pop("state")
    return data


@cache
def simulated(directory: str) -> dict[str, Any]:
    store = SqliteStore(directory)
    try:
        result = run(3, 30, REGIONS, ("drop", "duplicate"), store_factory=lambda: store)
        return {code: {p: b.decider for p, b in sim.region.node.protocols.items()}
                for code, sim in result.world.regions.items()}
    finally:
        store.close()


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    directory = tmp_path_factory.mktemp("views")
    return directory, simulated(str(directory))


def replayed(app: Any, code: str, deciders: Any) -> Views:
    views = Views(deciders)
    tailer = SideEventTailer(code, app, cursor=MemoryCursor())
    while tailer.pump(views.feed, NOW) is not None:
        pass
    return views


def durable(store: SqliteStore, code: str, deciders: Any, *, batches: int | None = None,
            batch_size: int = 37) -> tuple[DurableViews, ViewWriter, int]:
    """Views tables tailed from their tracking row: `batches` batches, or to the end."""
    app = store.open(code)
    tables = ViewTables.for_store(store, code)
    writer = ViewWriter(tables, app, code, deciders)
    tailer = SideEventTailer(code, app, cursor=ViewCursor(writer), batch_size=batch_size)
    started = tailer.position
    done = 0
    while (batches is None or done < batches) and tailer.pump(writer.sink, NOW) is not None:
        done += 1
    return DurableViews(tables, code), writer, started


def test_view_tables_equal_a_replay_and_a_restart_resumes_from_tracking(
        written: tuple[Path, dict[str, Any]]) -> None:
    directory, deciders = written
    for code in REGIONS:
        store = SqliteStore(directory)
        try:
            first, _, started = durable(store, code, deciders[code], batches=3)
            assert started == 0
            stopped_at = first.position
            assert stopped_at > 0
            first.tables.close()
            views, writer, resumed = durable(store, code, deciders[code])
            assert resumed == stopped_at  # no replay: the tracking row is where it stopped
            expected = replayed(store.open(code), code, deciders[code])
            assert writer.refolds > 0  # cases begun before the restart were folded from the store
            assert {k: plain(v) for k, v in views.cases.items()} == \
                {k: plain(v) for k, v in expected.cases.items()}
            assert views.queue() == expected.queue()
            assert views.queue(include_done=True) == expected.queue(include_done=True)
            assert views.supervision() == expected.supervision()
            assert views.monthly_on_time() == expected.monthly_on_time()
            number = next(iter(expected.cases.values())).case_number
            assert views.case(number) == expected.case(number)
            assert views.case("no-such-case") is None
            assert views.agreement(number) == expected.agreement(number)
            start, end = dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
            assert views.reconciliation(code, start, end) == expected.reconciliation(code, start, end)
            views.tables.close()
        finally:
            store.close()


def test_a_batch_at_or_below_the_tracking_row_writes_nothing(
        written: tuple[Path, dict[str, Any]]) -> None:
    directory, deciders = written
    store = SqliteStore(directory)
    try:
        views, writer, _ = durable(store, "150600", deciders["150600"])
        before = {k: plain(v) for k, v in views.cases.items()}
        tailer = SideEventTailer("150600", store.open("150600"), cursor=MemoryCursor())
        batch = tailer.step(NOW)
        assert batch is not None and batch.items
        assert writer.write(batch.items) == 0  # the crash-between-sink-and-cursor case
        writer.forget()
        assert writer.write(batch.items) == 0
        assert {k: plain(v) for k, v in views.cases.items()} == before
        views.tables.close()
    finally:
        store.close()
