"""The view tables' two shortcuts on real PostgreSQL (issue 17, VIEWS3): the rows' columns sent as
binary arrays built by `view_tables.row_arrays` land as the rows psycopg's own lists wrote, and
the views cursor's save is one round trip when the tracking row is where the writer left it —
and the long way, forgetting the writer's views, when a swap moved it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from projections.cases import CaseView, Deadline, Step, fold
from regions.adapters.stores import view_tables
from regions.adapters.stores.sql import PostgresStore
from regions.adapters.stores.view_tables import (
    LIVE,
    LIVE_TRACKING,
    SHADOW,
    SHADOW_TRACKING,
    ViewTables,
)
from regions.adapters.stores.views import ViewCursor, ViewWriter
from simulations.bench.views import side_events_by_region
from tests.services.pg_turns import TurnCounter
from tests.services.postgres import PostgresService

pytestmark = pytest.mark.timeout(180)
AT = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def _views() -> list[CaseView]:
    """A view of every case of a small simulated run (one region's side each: a table holds a
    case once), and a few odd ones."""
    views: dict[str, CaseView] = {}
    for _, items, deciders in side_events_by_region(20, 5).values():
        by_case: dict[str, list[Any]] = {}
        for r in items:
            if r.process in deciders and r.case_id not in views:
                by_case.setdefault(r.case_id, []).append(r)
        views.update((case_id, fold(None, records, deciders[records[0].process]))
                     for case_id, records in by_case.items())
    step = Step(AT, "150600", "系统", "Opened", "已受理 \u2028 É")
    return [*views.values(),
        CaseView("odd-1", "NO-模块-1", "pension_transfer", "150600"),  # every time NULL
        CaseView("odd-2", "NO-2", "pension_transfer", "150600", status_text="",
                 deadlines=(Deadline("s", AT, "b", True),), overdue=("s",), terminal=True,
                 opened_at=AT, finished_at=AT, timeline=(step,), position=2**62)]


@pytest.fixture
def tables(postgres_store: PostgresStore) -> Iterator[ViewTables]:
    postgres_store.open("150600")
    made = ViewTables.for_store(postgres_store, "150600")
    try:
        yield made
    finally:
        made.close()


def _rows(tables: ViewTables, table: str) -> list[Any]:
    return [dict(r) for r in tables.select(f"SELECT * FROM {tables.dialect.table(table)} "
                                           "ORDER BY case_id")]


def test_rows_sent_as_binary_arrays_are_the_rows_psycopgs_lists_wrote(
        tables: ViewTables, monkeypatch: pytest.MonkeyPatch) -> None:
    views = _views()
    assert len(views) > 20
    tables.reset_shadow()
    for start in range(0, len(views), 7):  # batches of 7, the last of the odd ones
        with tables.writing() as curs:
            tables.write(curs, LIVE, views[start:start + 7], LIVE_TRACKING, start + 1)

    def refused(rows: Any) -> Any:
        raise AttributeError("psycopg's way")

    monkeypatch.setattr(view_tables, "row_arrays", refused)
    for start in range(0, len(views), 7):
        with tables.writing() as curs:
            tables.write(curs, SHADOW, views[start:start + 7], SHADOW_TRACKING, start + 1)
    live, shadow = _rows(tables, LIVE), _rows(tables, SHADOW)
    assert len(live) == len(views)
    assert live == shadow
    odd = {r["case_id"]: r for r in live}
    assert odd["odd-1"]["opened_at"] is None and odd["odd-1"]["due_at"] is None
    assert odd["odd-2"]["position"] == 2**62 and odd["odd-2"]["due_at"] == AT


def _writer(tables: ViewTables, store: PostgresStore) -> ViewWriter:
    return ViewWriter(tables, store.open("150600"), "150600", {})


def test_a_views_cursor_save_is_one_round_trip(postgres_service: PostgresService) -> None:
    with TurnCounter(postgres_service.dsn) as proxy:
        store = PostgresStore(proxy.dsn, schema_prefix=postgres_service.new_prefix())
        try:
            store.open("150600")
            tables = ViewTables.for_store(store, "150600")
            writer = _writer(tables, store)
            writer.write((), 5)  # the writer now knows where the row is
            cursor = ViewCursor(writer)
            for position in range(6, 10):  # each pooled connection prepares the statement
                cursor.save(position, None)
            before = proxy.turns
            for position in range(10, 20):
                cursor.save(position, None)
            cursor.save(19, None)  # at the row already: nothing sent
            assert proxy.turns - before == 10
            assert tables.position() == 19 == writer._known
            tables.close()
        finally:
            store.close()
            store.drop_all()


def test_a_save_after_a_swap_moved_the_row_forgets_the_writers_views(
        postgres_store: PostgresStore, tables: ViewTables) -> None:
    writer = _writer(tables, postgres_store)
    view = CaseView("c1", "NO-1", "pension_transfer", "150600", position=3)
    with tables.writing() as curs:
        tables.write(curs, LIVE, [view], LIVE_TRACKING, 5)
    writer.write((), 5)
    writer._views["c1"] = view
    with tables.writing() as curs:  # a rebuild's swap moves the live row ahead
        tables.hold_live(curs)
        tables._track(curs, LIVE_TRACKING, 50)
    cursor = ViewCursor(writer)
    cursor.save(20, None)
    assert tables.position() == 50 == writer._known  # not moved back
    assert not writer._views  # what it held may be stale
    cursor.save(60, None)
    assert tables.position() == 60 == writer._known
