"""The event store's insert by libpq's prepared-statement call keeps what psycopg's cursor gave.

`OneStatementRecorder._insert_prepared` sends the insert itself (`send_query_prepared`, psycopg's
`execute` generator on the connection's `wait`) instead of through a cursor (docs/performance.md,
STOREFMT). What the cursor did for free must still hold: a connection lost under it is an
`OperationalError` the library retries on a fresh connection, a session that lost the prepared
statement gets it again, notifications arriving on the connection are consumed and handed to its
handlers (not left to pile up in libpq), and the connection goes back to the pool idle.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from regions.adapters.stores.sql import PostgresStore, RegionChannelRecorder
from regions.core.store import CursorRecord, EventStore
from tests.fixtures.recorder import one_connection_store, stored_events
from tests.services.postgres import PostgresService

NOW = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def one_connection(postgres_service: PostgresService
                   ) -> Iterator[tuple[PostgresStore, RegionChannelRecorder]]:
    """A store whose pool holds one connection: every insert runs on the same session."""
    with one_connection_store(postgres_service, "prep") as opened:
        yield opened


def _backend_pid(recorder: RegionChannelRecorder) -> int:
    with recorder.datastore.get_connection() as conn:
        return int(conn.info.backend_pid)


def test_a_connection_lost_under_the_insert_is_retried_on_a_fresh_one_and_records_once(
        one_connection: tuple[PostgresStore, RegionChannelRecorder]) -> None:
    store, recorder = one_connection
    assert recorder.insert_events(stored_events(uuid.uuid4(), range(1, 2)))  # prepared on it
    killed = _backend_pid(recorder)
    with psycopg.connect(store.dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (killed,))
    fresh = uuid.uuid4()
    ids = recorder.insert_events(stored_events(fresh, range(1, 4)))
    assert ids is not None and len(ids) == 3
    assert [e.originator_version for e in recorder.select_events(fresh)] == [1, 2, 3]
    assert _backend_pid(recorder) != killed


def test_a_session_without_the_prepared_statement_prepares_it_again(
        one_connection: tuple[PostgresStore, RegionChannelRecorder]) -> None:
    _, recorder = one_connection
    assert recorder.insert_events(stored_events(uuid.uuid4(), range(1, 2)))
    with recorder.datastore.get_connection() as conn:
        conn.execute("DEALLOCATE ALL")  # what a session reset under the recorder leaves
    fresh = uuid.uuid4()
    ids = recorder.insert_events(stored_events(fresh, range(1, 3)))
    assert ids is not None and len(ids) == 2
    assert len(recorder.select_events(fresh)) == 2


def test_notifications_arriving_on_the_inserting_connection_are_consumed_as_psycopg_does(
        one_connection: tuple[PostgresStore, RegionChannelRecorder]) -> None:
    """A pooled connection that once listened (a subscription's, given back) receives the
    insert's own notification: psycopg's generator hands it to the connection's handlers."""
    _, recorder = one_connection
    heard: list[str] = []
    with recorder.datastore.get_connection() as conn:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(recorder.channel_name)))
        conn.add_notify_handler(lambda n: heard.append(n.channel))
    for _ in range(3):
        assert recorder.insert_events(stored_events(uuid.uuid4(), range(1, 2)))
    assert heard == [recorder.channel_name] * 3
    with recorder.datastore.get_connection() as conn:
        conn.execute(sql.SQL("UNLISTEN {}").format(sql.Identifier(recorder.channel_name)))
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_the_aggregates_saved_through_it_read_back(postgres_service: PostgresService) -> None:
    """The application's save, on a pool of two: ids in order, versions and states intact."""
    store = postgres_service.store()
    try:
        app: EventStore = store.open("prep")
        cursor = CursorRecord.start(CursorRecord.id_for("relay", "prep"), "prep", NOW)
        app.save(cursor)
        for position in range(1, 6):
            cursor.advance(position, NOW, {"610800": position})
            app.save(cursor)
        read = app.repository.get(cursor.id)
        assert read.position == 5 and read.marks == {"610800": 5}
        ids = [n.id for n in app.recorder.select_notifications(1, 10)]
        assert ids == sorted(ids) and len(ids) == 6
    finally:
        store.close()
        store.drop_all()
