"""CPU of one event-store insert, psycopg's cursor (main at f8d1282) against the recorder's
libpq call (`OneStatementRecorder._insert_prepared`), alternately in one process.

Why its own bench: `simulations.bench.pg_store` keeps an older way (44b324e) as its "before";
this one keeps the step just before this change — the same statement, the same binary arrays,
through a cursor with `prepare=True` — so that what the cursor itself costs is what differs.
Both run on the same recorder, pool and schema, on the stored rows of the bench's pension
transfer (`simulations.bench.nodepath`'s flow), in batches of `--rows` rows under new ids.
CPU is the process's (`time.process_time`, which counts the client's system calls too); the
wait for the server is not counted.

    PGOPTIONS="-c synchronous_commit=off" \\
        python -m simulations.bench.pg_insert [--rounds 9] [--calls 300] [--rows 8]
"""

from __future__ import annotations

import argparse
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from psycopg.rows import tuple_row

from regions.adapters.stores.memory import MemoryStore
from regions.adapters.stores.pg_recorder import OneStatementRecorder
from regions.adapters.stores.sql import PostgresStore
from regions.core.rows import RowMapper
from simulations.bench.alternate import alternate
from simulations.bench.services import LOCAL_DSN


def insert_by_cursor(recorder: OneStatementRecorder, stored_events: Sequence[StoredEvent]) -> Any:
    """`OneStatementRecorder.insert_events` at f8d1282 (without its retry decorator)."""
    with recorder.datastore.get_connection() as conn, \
            recorder._adapted(conn).cursor(row_factory=tuple_row) as curs:
        columns = recorder._binary_columns(conn, stored_events)
        assert columns is not None
        curs.execute(recorder._insert_query(conn), (
            *columns, recorder.channel_name, recorder.lock_timeout_setting), prepare=True)
        return [row[0] for row in curs.fetchall()]


def rows_of_the_bench(cases: int) -> list[StoredEvent]:
    """The rows the bench's pension transfer stores, `cases` cases, in the order stored."""
    from simulations.bench.nodepath import _flow

    stored: list[StoredEvent] = []
    original = RowMapper.to_stored_event

    def spy(self: RowMapper, domain_event: Any) -> StoredEvent:
        row = original(self, domain_event)
        stored.append(row)
        return row

    RowMapper.to_stored_event = spy  # type: ignore[method-assign]
    try:
        _flow(MemoryStore(), cases, dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC))
    finally:
        RowMapper.to_stored_event = original  # type: ignore[method-assign]
    return stored


def _batches(rows: list[StoredEvent], size: int, count: int, start: int
             ) -> list[list[StoredEvent]]:
    found = []
    for i in range(count):
        at = ((start + i) * size) % max(1, len(rows) - size)
        ids: dict[Any, uuid.UUID] = {}
        found.append([StoredEvent(ids.setdefault(row.originator_id, uuid.uuid4()),
                                  row.originator_version, row.topic, row.state)
                      for row in rows[at:at + size]])
    return found


def measure(dsn: str, rounds: int, calls: int, size: int) -> tuple[float, float]:
    rows = rows_of_the_bench(20)
    store = PostgresStore(dsn, schema_prefix="bench_pg_insert_")
    try:
        recorder = store.open("r").recorder
        assert isinstance(recorder, OneStatementRecorder)
        new = type(recorder).insert_events.__wrapped__
        for batch in _batches(rows, size, 20, 0):  # both prepared on the pooled connections
            insert_by_cursor(recorder, batch)
        for batch in _batches(rows, size, 20, 0):
            new(recorder, batch)
        work = iter([_batches(rows, size, calls, i * calls) for i in range(2 * rounds)])

        def old_round() -> None:
            for batch in next(work):
                insert_by_cursor(recorder, batch)

        def new_round() -> None:
            for batch in next(work):
                new(recorder, batch)

        return alternate(old_round, new_round, calls, rounds)
    finally:
        store.drop_all()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dsn", default=LOCAL_DSN)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rows", type=int, default=8)
    args = parser.parse_args(argv)
    old, new = measure(args.dsn, args.rounds, args.calls, args.rows)
    print(f"insert_events, {args.rows} rows of the bench's case a call: "
          f"{old:.1f} -> {new:.1f} µs CPU a call (x{old / new:.2f})")


if __name__ == "__main__":
    main()
