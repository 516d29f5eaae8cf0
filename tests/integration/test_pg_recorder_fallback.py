"""The event store's insert without psycopg's internals: the cursor's way, on a real PostgreSQL.

`OneStatementRecorder._insert_prepared` waits on `psycopg.generators.execute`, which is not
psycopg's documented API (pyproject pins the minor it was measured and tested with). Where that
import, or the shape it is called in, is missing, the recorder must insert through the cursor as
before (with the same binary arrays), not fail to import. Here the module is loaded afresh with
`psycopg.generators` hidden, and its recorder inserts into the tables a store opened.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any
from unittest import mock

import pytest

from regions.adapters.stores import pg_recorder
from regions.adapters.stores.sql import PostgresStore, RegionChannelRecorder
from tests.fixtures.recorder import one_connection_store, stored_events
from tests.services.postgres import PostgresService


def _fresh_copy() -> ModuleType:
    """A fresh copy of `pg_recorder`, imported under the test's patches."""
    spec = importlib.util.find_spec(pg_recorder.__name__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _without_generators() -> ModuleType:
    """`pg_recorder` imported as if psycopg had no `generators` module."""
    with mock.patch.dict(sys.modules, {"psycopg.generators": None}):
        return _fresh_copy()


@pytest.fixture
def opened(postgres_service: PostgresService
           ) -> Iterator[tuple[PostgresStore, RegionChannelRecorder]]:
    with one_connection_store(postgres_service, "fallback") as opened:
        yield opened


def _never(*_: Any) -> Any:
    raise AssertionError("the prepared call ran without psycopg's execute generator")


def test_without_psycopgs_generators_the_insert_goes_through_the_cursor(
        opened: tuple[PostgresStore, RegionChannelRecorder]) -> None:
    _, recorder = opened
    module = _without_generators()
    fallback = module.OneStatementRecorder(recorder.datastore,
                                           events_table_name=recorder.events_table_name)
    fallback._insert_prepared = _never
    first, second = uuid.uuid4(), uuid.uuid4()
    ids = fallback.insert_events([*stored_events(first, range(1, 4)), *stored_events(second, range(1, 2))])
    assert ids is not None and len(ids) == 4 and ids == sorted(ids)
    assert [e.originator_version for e in recorder.select_events(first)] == [1, 2, 3]
    assert [e.state for e in recorder.select_events(second)] == [b'{"a":1}']


def test_an_execute_of_another_shape_is_not_called_either() -> None:
    def execute(pgconn: Any, results: Any) -> Any:  # a psycopg whose generator changed
        raise AssertionError("called")

    with mock.patch("psycopg.generators.execute", execute):
        assert _fresh_copy().EXECUTE is None
    assert _without_generators().EXECUTE is None


def test_on_the_pinned_psycopg_the_insert_is_the_prepared_call(
        opened: tuple[PostgresStore, RegionChannelRecorder],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback is silent: here the measured path is shown to be the one that runs."""
    _, recorder = opened
    assert pg_recorder.EXECUTE is not None
    calls: list[int] = []
    prepared = pg_recorder.OneStatementRecorder._insert_prepared

    def counted(self: Any, conn: Any, columns: Any) -> list[int]:
        calls.append(len(columns))
        return prepared(self, conn, columns)

    monkeypatch.setattr(pg_recorder.OneStatementRecorder, "_insert_prepared", counted)
    assert recorder.insert_events(stored_events(uuid.uuid4(), range(1, 3)))
    assert calls == [4]
