"""The event store's insert is one round trip and keeps the library's guarantees (issue 17).

`regions.adapters.stores.pg_recorder` inserts with one statement: a function of the schema that
sets the lock timeout, takes the EXCLUSIVE table lock, notifies and inserts, in the statement's
own transaction. These are the rules that must not bend: round trips counted at the socket, a
lock timeout still fails, a writer behind the lock gets ids after the holder's, a failing row
leaves nothing recorded, notified or half-open, and a store made before the function existed
gets it when opened.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent
from psycopg import sql
from psycopg.adapt import PyFormat

from regions.adapters.stores.pg_recorder import (
    BinaryArray,
    BinaryArrayDumper,
    binary_arrays,
    uuid_array,
)
from regions.adapters.stores.sql import EVENTS_TABLE, PostgresStore, RegionChannelRecorder
from regions.core.store import CursorRecord, EventStore
from tests.services.pg_turns import TurnCounter
from tests.services.postgres import PostgresService

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def _events(originator_id: uuid.UUID, versions: range) -> list[StoredEvent]:
    return [StoredEvent(originator_id=originator_id, originator_version=v, topic="t",
                        state=b"{}") for v in versions]


@pytest.fixture
def opened(postgres_service: PostgresService) -> Iterator[tuple[PostgresStore, EventStore]]:
    store = postgres_service.store(lock_timeout_s=1)
    try:
        yield store, store.open("pipe")
    finally:
        store.close()
        store.drop_all()


def _recorder(app: EventStore) -> RegionChannelRecorder:
    assert isinstance(app.recorder, RegionChannelRecorder)
    return app.recorder


def _table(store: PostgresStore) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(store.schema_for("pipe")),
                                   sql.Identifier(EVENTS_TABLE))


def test_an_event_store_insert_is_one_round_trip(postgres_service: PostgresService) -> None:
    with TurnCounter(postgres_service.dsn) as proxy:
        # one pooled connection, so the first save has prepared the statement on it
        store = PostgresStore(proxy.dsn, schema_prefix=postgres_service.new_prefix(),
                              pool_size=1, max_overflow=0)
        try:
            app = store.open("pipe")
            cursor = CursorRecord.start(CursorRecord.id_for("relay", "pipe"), "pipe", NOW)
            app.save(cursor)
            before = proxy.turns
            for position in range(1, 11):
                cursor.advance(position, NOW)
                app.save(cursor)
            assert proxy.turns - before == 10
        finally:
            store.close()
            store.drop_all()


def test_an_insert_behind_a_held_table_lock_fails_after_the_lock_timeout(
        opened: tuple[PostgresStore, EventStore]) -> None:
    store, app = opened
    recorder = _recorder(app)
    with psycopg.connect(store.dsn) as holder:
        holder.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(_table(store)))
        started = time.monotonic()
        with pytest.raises(OperationalError, match="lock timeout"):
            # one attempt (the retry decorator's wrapped function): ten would take ten seconds
            type(recorder).insert_events.__wrapped__(recorder, _events(uuid.uuid4(), range(1, 2)))
        assert 0.9 < time.monotonic() - started < 5
    assert recorder.insert_events(_events(uuid.uuid4(), range(1, 2)))  # the pooled conn is fine


def test_a_writer_behind_the_lock_holder_gets_ids_after_the_holders(
        opened: tuple[PostgresStore, EventStore]) -> None:
    store, app = opened
    recorder = _recorder(app)
    got: list[int] = []
    with psycopg.connect(store.dsn) as holder:
        holder.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(_table(store)))
        held = holder.execute(sql.SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state) "
            "VALUES (%s, 1, 't', '') RETURNING notification_id").format(_table(store)),
            (uuid.uuid4(),)).fetchone()
        assert held is not None
        writer = threading.Thread(target=lambda: got.extend(
            recorder.insert_events(_events(uuid.uuid4(), range(1, 4))) or []))
        writer.start()
        time.sleep(0.3)
        assert not got  # waiting for the lock
        holder.commit()
    writer.join(5)
    assert len(got) == 3 and min(got) > held[0] and got == sorted(got)
    assert [n.id for n in recorder.select_notifications(1, 10)] == [held[0], *got]


def test_a_failing_insert_records_nothing_notifies_nobody_and_leaves_the_connection_clean(
        opened: tuple[PostgresStore, EventStore]) -> None:
    store, app = opened
    recorder = _recorder(app)
    taken = uuid.uuid4()
    recorder.insert_events(_events(taken, range(1, 2)))
    with psycopg.connect(store.dsn, autocommit=True) as listener:
        listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(store.channel_for("pipe"))))
        fresh = uuid.uuid4()
        for _ in range(3):  # repeatedly: the prepared statements survive an aborted pipeline
            with pytest.raises(IntegrityError):
                recorder.insert_events([*_events(fresh, range(1, 3)), *_events(taken, range(1, 2))])
        assert recorder.select_events(fresh) == []
        assert list(listener.notifies(timeout=0.3)) == []
        with recorder.datastore.get_connection() as conn:
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        ids = recorder.insert_events(_events(fresh, range(1, 3)))
        assert ids is not None and len(ids) == 2
        assert len(list(listener.notifies(timeout=1, stop_after=1))) == 1
    assert recorder.max_notification_id() == max(ids)


def test_an_empty_insert_records_nothing_and_returns_none(
        opened: tuple[PostgresStore, EventStore]) -> None:
    _, app = opened
    recorder = _recorder(app)
    assert recorder.insert_events([]) is None
    assert recorder.max_notification_id() is None


def test_rows_of_every_shape_come_back_as_inserted_by_both_reads(
        opened: tuple[PostgresStore, EventStore]) -> None:
    """The columns go over as binary arrays the recorder builds itself (`binary_arrays`), and
    the batch read's ids as one: non-ASCII topics, empty and binary states, int8's largest
    version, and an id that is not a `UUID` (handed to psycopg's adaptation instead)."""
    _, app = opened
    recorder = _recorder(app)
    first, second = uuid.uuid4(), uuid.uuid4()
    rows = [StoredEvent(first, 1, "模块:事件.Évent", b""),
            StoredEvent(first, 2, "t", bytes(range(256)) * 300),
            StoredEvent(second, 2**63 - 1, "t", b'{"a":1}')]
    ids = recorder.insert_events(rows)
    assert ids is not None and len(ids) == 3 and ids == sorted(ids)
    assert recorder.select_events(first) + recorder.select_events(second) == rows
    by_id = sorted(rows, key=lambda row: (row.originator_id, row.originator_version))
    assert recorder.select_events_of([second, first, uuid.uuid4()]) == by_id
    third = uuid.uuid4()
    assert recorder.insert_events([StoredEvent(str(third), 1, "t", b"{}")])
    assert recorder.select_events_of([str(third)]) == [
        StoredEvent(third, 1, "t", b"{}")]


def test_the_arrays_of_no_rows_are_empty_arrays_postgresql_reads(postgres_dsn: str) -> None:
    """`uuid_array` and `binary_arrays` promise PostgreSQL's binary arrays for any rows: for
    none, four (and one) empty arrays, which the server reads as such."""
    with psycopg.connect(postgres_dsn) as conn:
        conn.adapters.register_dumper(BinaryArray, BinaryArrayDumper)
        row = conn.execute(
            "SELECT cardinality(%b::uuid[]), cardinality(%b::uuid[]), cardinality(%b::int8[]), "
            "cardinality(%b::text[]), cardinality(%b::bytea[])",
            (uuid_array([]), *binary_arrays([], {}))).fetchone()
    assert row == (0, 0, 0, 0, 0)


def test_the_arrays_dumper_is_the_recorders_connections_own_not_psycopgs_global_one(
        opened: tuple[PostgresStore, EventStore]) -> None:
    """Registered on each pooled connection at its first use, whenever that connection was made
    (a connection copies psycopg's global map when it is made, so a global registration would
    miss any made before this module was imported), and nowhere else."""
    _, app = opened
    recorder = _recorder(app)
    stored = uuid.uuid4()
    assert recorder.insert_events(_events(stored, range(1, 3)))  # by libpq: no dumper used
    assert len(recorder.select_events_of([stored])) == 2  # the ids go over by the dumper
    with pytest.raises(psycopg.ProgrammingError):
        psycopg.adapters.get_dumper(BinaryArray, PyFormat.BINARY)
    used = list(recorder._knows_arrays)
    assert used
    for conn in used:
        assert conn.adapters.get_dumper(BinaryArray, PyFormat.BINARY) is BinaryArrayDumper


def test_the_batch_read_retries_an_operational_error_as_the_librarys_reads_do(
        opened: tuple[PostgresStore, EventStore], monkeypatch: pytest.MonkeyPatch) -> None:
    _, app = opened
    recorder = _recorder(app)
    stored = uuid.uuid4()
    recorder.insert_events(_events(stored, range(1, 3)))
    real = recorder.datastore.get_connection
    failures = iter([OperationalError("server closed the connection unexpectedly")])

    def flaky() -> Any:
        for failure in failures:
            raise failure
        return real()

    monkeypatch.setattr(recorder.datastore, "get_connection", flaky)
    assert [e.originator_version for e in recorder.select_events_of([stored])] == [1, 2]


def test_a_store_made_before_the_insert_function_gets_it_when_opened(
        opened: tuple[PostgresStore, EventStore]) -> None:
    store, app = opened
    recorder = _recorder(app)
    with psycopg.connect(store.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP FUNCTION {}.{}").format(
            sql.Identifier(store.schema_for("pipe")),
            sql.Identifier(recorder.insert_function_name)))
    reopened = _recorder(store.open("pipe"))
    ids = reopened.insert_events(_events(uuid.uuid4(), range(1, 3)))
    assert ids is not None and len(ids) == 2


def test_a_region_opened_while_another_process_is_creating_its_tables_opens(
        opened: tuple[PostgresStore, EventStore]) -> None:
    """A node restarting while `tongban quarantine` (or a second node) opens the same region: the
    library's CREATE … IF NOT EXISTS never wrote the catalogue for an existing store, but
    CREATE OR REPLACE FUNCTION does at every open, and a second replacement of the same function
    waiting on the first fails with an internal error when the first commits."""
    store, app = opened
    recorder = _recorder(app)
    failures: list[BaseException] = []

    def second_opener() -> None:
        other = PostgresStore(store.dsn, schema_prefix=store.schema_prefix, lock_timeout_s=1)
        try:
            other.open("pipe")
        except BaseException as e:  # reported to the test thread
            failures.append(e)
        finally:
            other.close()

    with recorder.datastore.transaction(commit=True) as curs:
        recorder._create_table(curs)  # the first opener, mid-creation
        opener = threading.Thread(target=second_opener)
        opener.start()
        time.sleep(0.5)
    opener.join(10)
    assert not opener.is_alive()
    assert failures == []
