"""CPU of the event store's PostgreSQL calls, main's way (44b324e) against `pg_recorder`'s, in
one process against a real server.

Why beside `simulations.bench.rows`: that bench stops at the recorder; this one measures what a
node's database thread spends in the client on each insert (`insert_events`) and each batch read
(`select_events_of`): psycopg's query conversion, the parameters' adaptation, the rows'
conversion. The old way is kept here as it was (the four lists adapted by psycopg, the composed
statement converted at every call, dict rows, `StoredEvent.__init__`); both run on the same
recorder, pool and schema, alternately, on the stored rows of a seeded simulated run. CPU is
the process's (`time.process_time`): the wait for the server is not counted.

    PGOPTIONS="-c synchronous_commit=off" \\
        python -m simulations.bench.pg_store [--dsn DSN] [--rounds 9] [--calls 200]

`synchronous_commit=off` only shortens the run (no fsync per insert); it does not change the
client's CPU. The bench works in schema `bench_pg_store_*` and drops it at the end.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from psycopg import sql

from regions.adapters.stores.pg_recorder import OneStatementRecorder
from regions.adapters.stores.sql import PostgresStore
from regions.core.store import EventStore
from simulations.bench.alternate import alternate
from simulations.bench.rows import events_of_a_run
from simulations.bench.services import LOCAL_DSN


def insert_before(recorder: OneStatementRecorder, stored_events: Sequence[StoredEvent]) -> Any:
    """`OneStatementRecorder.insert_events` as at 44b324e (without its retry decorator)."""
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(recorder.insert_statement, (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
            recorder.channel_name, recorder.lock_timeout_setting), prepare=True)
        return [row["notification_id"] for row in curs.fetchall()]


def select_before(recorder: OneStatementRecorder, statement: sql.Composed,
                  originator_ids: Sequence[uuid.UUID]) -> list[StoredEvent]:
    """`OneStatementRecorder.select_events_of` as at 44b324e (without its retry decorator)."""
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(statement, (list(originator_ids),), prepare=True)
        return [StoredEvent(originator_id=row["originator_id"],
                            originator_version=row["originator_version"],
                            topic=row["topic"], state=bytes(row["state"]))
                for row in curs.fetchall()]


def _batches(rows: list[StoredEvent], size: int, count: int) -> list[list[StoredEvent]]:
    """`count` batches of `size` rows of the run, each under new aggregate ids (no conflicts)."""
    found = []
    for i in range(count):
        start = (i * size) % max(1, len(rows) - size)
        ids: dict[Any, uuid.UUID] = {}
        found.append([StoredEvent(ids.setdefault(row.originator_id, uuid.uuid4()),
                                  row.originator_version, row.topic, row.state)
                      for row in rows[start:start + size]])
    return found


def _runner(fn: Callable[[Any], Any], work: Iterator[list[Any]]) -> Callable[[], None]:
    """A round of `fn`: one call for each of the next arguments `work` has."""
    def round_() -> None:
        for args in next(work):
            fn(args)
    return round_


def measure(dsn: str, rounds: int = 9, calls: int = 200, cases: int = 20
            ) -> dict[str, tuple[float, float]]:
    mapper = EventStore().mapper
    rows = [mapper.to_stored_event(event) for event in events_of_a_run(cases)]
    store = PostgresStore(dsn, schema_prefix="bench_pg_store_")
    try:
        recorder = store.open("r").recorder
        assert isinstance(recorder, OneStatementRecorder)
        old_select = sql.SQL(
            "SELECT originator_id, originator_version, topic, state FROM {}.{} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(sql.Identifier(recorder.datastore.schema),
                 sql.Identifier(recorder.events_table_name))
        # aggregates with the rows of a case's side (the run's first aggregates), and absent ones
        stored = _batches(rows, 40, 1)[0]
        recorder.insert_events(stored)
        present = list(dict.fromkeys(row.originator_id for row in stored))[:8]
        absent = [uuid.uuid4() for _ in range(8)]
        pairs: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[], Any]]]
        pairs = {}
        for size in (1, 10, 50):
            pairs[f"insert_events, {size} rows of the run, per call"] = (
                lambda batch: insert_before(recorder, batch), recorder.insert_events,
                lambda size=size: _batches(rows, size, calls))  # type: ignore[misc]
        rows_read = len(recorder.select_events_of(present))
        for label, ids in ((f"8 present aggregates, {rows_read} rows", present),
                           ("8 absent aggregates", absent)):
            pairs[f"select_events_of, {label}, per call"] = (
                lambda ids: select_before(recorder, old_select, ids),
                recorder.select_events_of, lambda ids=ids: [ids] * calls)  # type: ignore[misc]
        found: dict[str, tuple[float, float]] = {}
        for name, (old, new, make) in pairs.items():
            for fn in (old, new):  # warm-up: each statement prepared on the pooled connections
                for args in make()[:20]:
                    fn(args)
            work = iter([make() for _ in range(2 * rounds)])  # made before, not measured
            found[name] = alternate(_runner(old, work), _runner(new, work), calls, rounds)
        return found
    finally:
        store.drop_all()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dsn", default=LOCAL_DSN)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
    for name, (old, new) in measure(args.dsn, args.rounds, args.calls).items():
        print(f"{name}: {old:.1f} -> {new:.1f} µs CPU (x{old / new:.2f})")


if __name__ == "__main__":
    main()
