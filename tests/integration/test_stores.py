"""The durable stores keep what a node committed, keep writers honest, and wake the relay.

One scenario runs against SQLite (a file per region) and PostgreSQL (a schema per region in one
database): a region saves its event-store aggregates, restarts (a new `EventStore` on the same
store), and reads them back; a process killed right after a commit loses nothing; two writers of
one aggregate cannot both win; notification ids follow commit order; a commit by another
connection wakes the relay. PostgreSQL also shows that regions sharing a database are isolated.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import RecordConflictError
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from regions.adapters.stores.sql import PostgresStore, SqliteStore, datastore_of
from regions.core.store import CommandRecord, EventStore, InLink, OutLink, Stream, stable_id

ROOT = Path(__file__).resolve().parents[2]
HERE, ORIGIN = "150600", "610800"  # 鄂尔多斯 (destination) and 榆林 (origin)
T0 = dt.datetime(2025, 3, 3, 1, 30, tzinfo=dt.UTC)
AnyStore = SqliteStore | PostgresStore


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnyStore]:
    if request.param == "sqlite":
        sqlite = SqliteStore(tmp_path / "stores", poll_interval_s=0.05)
        yield sqlite
        sqlite.close()
    else:
        yield request.getfixturevalue("postgres_store")


@pytest.fixture
def twin(store: AnyStore) -> Iterator[Callable[[], AnyStore]]:
    """Another process's view of the same store: a second store object on the same data."""
    made: list[AnyStore] = []

    def make() -> AnyStore:
        other: AnyStore = (SqliteStore(store.directory) if isinstance(store, SqliteStore)
                           else PostgresStore(store.dsn, schema_prefix=store.schema_prefix))
        made.append(other)
        return other

    yield make
    for other in made:
        other.close()


def side_stream(case: str, at: dt.datetime = T0) -> Stream:
    stream = Stream.open(stable_id("side", case, HERE), "side", {"case": case, "region": HERE},
                         "TransferRequested", 1,
                         {"person": "k:3f9a", "scheme": "pension", "months": 87}, at)
    stream.record("InfoSheetReceived", 1,
                  {"amount_fen": 1_234_567, "months": 87}, at + dt.timedelta(minutes=5))
    return stream


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_restarted_event_store_reads_back_every_aggregate_it_saved(store: AnyStore) -> None:
    app = store.open(HERE)
    stream = side_stream("C-1")
    out = OutLink.start(HERE, ORIGIN, T0)
    first_seq = out.send({"type": "ContactLetterSent", "case": "C-1"}, T0)
    second_seq = out.send({"type": "FundsConfirmed", "case": "C-1"}, T0)
    inbound = InLink.start(ORIGIN, HERE, T0)
    inbound.record(1, f"{ORIGIN}:C-1:1", "InfoSheetSent", T0)
    command = CommandRecord.done("staff:w-07", "cmd-1", "sha256:ab12", {"status": "accepted"}, T0)
    app.save(stream, out, inbound, command)

    restarted = store.open(HERE)

    assert restarted is not app
    got_stream: Stream = restarted.repository.get(stream.id)
    assert got_stream.entries == [
        ("TransferRequested", 1, {"person": "k:3f9a", "scheme": "pension", "months": 87}),
        ("InfoSheetReceived", 1, {"amount_fen": 1_234_567, "months": 87}),
    ]
    assert got_stream.version == 2
    assert got_stream.modified_on == T0 + dt.timedelta(minutes=5)  # the injected clock's
    got_out: OutLink = restarted.repository.get(OutLink.id_for(HERE, ORIGIN))
    assert (first_seq, second_seq, got_out.last_seq) == (1, 2, 2)
    got_in: InLink = restarted.repository.get(InLink.id_for(ORIGIN, HERE))
    assert got_in.last_seq == 1
    command_id = CommandRecord.id_for("staff:w-07", "cmd-1")
    got_command: CommandRecord = restarted.repository.get(command_id)
    assert got_command.request_hash == "sha256:ab12"
    assert got_command.outcome == {"status": "accepted"}
    notifications = restarted.recorder.select_notifications(start=None, limit=100)
    events = [restarted.mapper.to_domain_event(n) for n in notifications]
    sent = [e for e in events if isinstance(e, OutLink.Sent)]
    assert [e.message["type"] for e in sent] == ["ContactLetterSent", "FundsConfirmed"]


CRASH_AFTER_COMMIT = """
import datetime as dt, json, os, signal, sys
from regions.core.store import Stream
from regions.adapters.stores.sql import PostgresStore, SqliteStore
from uuid import UUID
spec = json.loads(sys.argv[1])
store = (SqliteStore(spec["directory"]) if spec["kind"] == "sqlite"
         else PostgresStore(spec["dsn"], schema_prefix=spec["prefix"]))
app = store.open(spec["region"])
at = dt.datetime.fromisoformat(spec["at"])
for n in range(spec["count"]):
    stream = Stream.open(UUID(spec["ids"][n]), "side", {}, "Opened", 1, {"n": n}, at)
    app.save(stream)
print("committed", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_node_killed_right_after_committing_loses_none_of_it(store: AnyStore,
                                                                tmp_path: Path) -> None:
    ids = [str(stable_id("crash", str(n))) for n in range(20)]
    spec = {"region": HERE, "at": T0.isoformat(), "count": len(ids), "ids": ids,
            **({"kind": "sqlite", "directory": str(store.directory)}
               if isinstance(store, SqliteStore)
               else {"kind": "postgres", "dsn": store.dsn, "prefix": store.schema_prefix})}
    log = tmp_path / "child.log"
    with log.open("w") as out:
        child = subprocess.run(
            [sys.executable, "-c", CRASH_AFTER_COMMIT, json.dumps(spec)], cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, timeout=60, check=False)
    assert child.returncode == -signal.SIGKILL, log.read_text()
    assert "committed" in log.read_text()

    restarted = store.open(HERE)

    payloads: list[int] = [restarted.repository.get(UUID(id_)).entries[0][2]["n"] for id_ in ids]
    assert payloads == list(range(len(ids)))
    assert restarted.recorder.max_notification_id() == len(ids)


def test_of_two_writers_of_one_aggregate_one_conflicts_and_its_whole_save_is_discarded(
        store: AnyStore, twin: Callable[[], AnyStore]) -> None:
    first = store.open(HERE)
    first.save(side_stream("C-2"))
    second = twin().open(HERE)
    stream_id = stable_id("side", "C-2", HERE)
    mine: Stream = first.repository.get(stream_id)
    theirs: Stream = second.repository.get(stream_id)
    mine.record("FundsReceived", 1, {"amount_fen": 1_234_567}, T0 + dt.timedelta(hours=1))
    first.save(mine)
    theirs.record("Withdrawn", 1, {"reason": "applicant"}, T0 + dt.timedelta(hours=1))
    their_command = CommandRecord.done("applicant:p-1", "cmd-9", "sha256:cd34", {"ok": True}, T0)

    with pytest.raises(RecordConflictError):
        second.save(theirs, their_command)

    reread: Stream = second.repository.get(stream_id)
    assert [entry[0] for entry in reread.entries] == [
        "TransferRequested", "InfoSheetReceived", "FundsReceived"]
    assert CommandRecord.id_for("applicant:p-1", "cmd-9") not in second.repository
    # The loser reloads and decides again; its retry then succeeds.
    reread.record("Withdrawn", 1, {"reason": "applicant"}, T0 + dt.timedelta(hours=2))
    second.save(reread, their_command)
    assert first.repository.get(stream_id).version == 4


def test_notification_ids_follow_commit_order_so_a_tailing_reader_misses_nothing(
        store: AnyStore, twin: Callable[[], AnyStore]) -> None:
    store.open(HERE)  # create the table before the race
    writers = [twin().open(HERE) for _ in range(3)]
    reader = twin().open(HERE)
    saves_per_writer = 15
    returned: dict[int, list[int]] = {}
    seen: list[int] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def write(number: int, app: EventStore) -> None:
        try:
            ids: list[int] = []
            for n in range(saves_per_writer):
                recordings = app.save(side_stream(f"W{number}-{n}"))
                ids += [r.notification.id for r in recordings]
            returned[number] = ids
        except BaseException as exc:
            errors.append(exc)

    def tail() -> None:
        while True:
            finished = done.is_set()
            last = seen[-1] if seen else None
            batch = reader.recorder.select_notifications(start=last, limit=1000,
                                                         inclusive_of_start=last is None)
            seen.extend(n.id for n in batch)
            if finished and not batch:
                return

    threads = [threading.Thread(target=write, args=(n, w)) for n, w in enumerate(writers)]
    tailer = threading.Thread(target=tail)
    tailer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    done.set()
    tailer.join(60)

    assert errors == []
    every_id = sorted(i for ids in returned.values() for i in ids)
    assert len(every_id) == len(set(every_id)) == 3 * saves_per_writer * 2
    for ids in returned.values():
        assert ids == sorted(ids) and len(set(ids)) == len(ids)  # each writer: increasing
    assert seen == every_id  # read while writing: strictly increasing, nothing skipped


def test_a_commit_by_another_connection_wakes_the_relay(
        store: AnyStore, twin: Callable[[], AnyStore]) -> None:
    store.open(HERE)
    calls: list[str] = []
    with store.waker(HERE, on_commit=lambda: calls.append(threading.current_thread().name)) as w:
        assert not w.committed.is_set()
        twin().open(HERE).save(side_stream("C-3"))

        assert w.wait(5.0)

    assert calls and all(name.startswith("waker-") for name in calls)


def test_regions_sharing_one_postgres_database_are_isolated_by_schema(
        postgres_store: PostgresStore) -> None:
    here, there = postgres_store.open(HERE), postgres_store.open(ORIGIN)
    with postgres_store.waker(ORIGIN) as origin_waker:
        here.save(side_stream("C-4"))   # notifies 150600's channel first...
        there.save(side_stream("C-5"))  # ...then 610800's

        assert origin_waker.wait(5.0)
        time.sleep(0.3)  # room for a stray NOTIFY to arrive (delivery takes milliseconds)
        assert origin_waker.fired == 1  # 150600's earlier NOTIFY never reached it

    assert here.recorder.max_notification_id() == 2
    assert there.recorder.max_notification_id() == 2
    assert [n.originator_id for n in here.recorder.select_notifications(None, 10)] == [
        stable_id("side", "C-4", HERE)] * 2
    with psycopg.connect(postgres_store.dsn) as conn:
        tables = conn.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = %s "
            "AND starts_with(table_schema, %s) ORDER BY 1",
            ("ledger_events", postgres_store.schema_prefix)).fetchall()
    assert [row[0] for row in tables] == sorted(
        [postgres_store.schema_for(HERE), postgres_store.schema_for(ORIGIN)])


def test_drop_removes_a_region_and_nothing_else(postgres_store: PostgresStore) -> None:
    postgres_store.open(HERE).save(side_stream("C-6"))
    postgres_store.open(ORIGIN).save(side_stream("C-7"))

    postgres_store.drop(HERE)

    assert postgres_store.open(HERE).recorder.max_notification_id() is None
    assert postgres_store.open(ORIGIN).recorder.max_notification_id() == 2


def test_the_postgres_store_pins_small_pools_a_lock_timeout_and_no_db_functions(
        postgres_store: PostgresStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_ENABLE_DB_FUNCTIONS", "y")
    monkeypatch.setenv("LEDGER_POSTGRES_ENABLE_DB_FUNCTIONS", "y")
    monkeypatch.setenv("LEDGER_POSTGRES_POOL_SIZE", "50")

    app = postgres_store.open(HERE)

    datastore = datastore_of(app)
    assert isinstance(datastore, PostgresDatastore)
    assert datastore.enable_db_functions is False
    assert datastore.lock_timeout == postgres_store.lock_timeout_s
    assert (datastore.pool.min_size, datastore.pool.max_size) == (
        postgres_store.pool_size, postgres_store.pool_size + postgres_store.max_overflow)
    assert getattr(app.recorder, "channel_name", None) == postgres_store.channel_for(HERE)
    app.save(side_stream("C-8"))  # and the insert path (with tracking support) works
    assert app.recorder.max_notification_id() == 2


def test_the_postgres_waker_listens_again_after_its_connection_is_killed(
        postgres_store: PostgresStore) -> None:
    app = postgres_store.open(HERE)
    with postgres_store.waker(HERE) as waker, psycopg.connect(postgres_store.dsn) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (waker.backend_pid,))
        admin.commit()

        assert wait_until(lambda: waker.connections == 2)
        assert waker.wait(0)  # it cannot know what it missed, so it wakes the relay once
        app.save(side_stream("C-9"))
        assert waker.wait(5.0)


def test_each_sqlite_region_is_its_own_durable_wal_file(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "regions")
    try:
        here, there = store.open(HERE), store.open(ORIGIN)
        here.save(side_stream("C-10"))

        assert there.recorder.max_notification_id() is None
        assert sorted(p.name for p in (tmp_path / "regions").glob("*.sqlite")) == [
            f"{HERE}.sqlite", f"{ORIGIN}.sqlite"]
        datastore = datastore_of(here)
        assert isinstance(datastore, SQLiteDatastore)
        with datastore.transaction(commit=False) as cursor:  # one of the app's connections
            cursor.execute("PRAGMA journal_mode")
            journal = cast("Any", cursor.fetchone())[0]
            cursor.execute("PRAGMA synchronous")
            synchronous = cast("Any", cursor.fetchone())[0]
        assert (journal, synchronous) == ("wal", 2)  # 2 = FULL: every commit is fsynced
    finally:
        store.close()
