"""The event store's PostgreSQL recorder: one network round trip per insert transaction.

Why (issue 17, docs/performance.md "One round trip per event-store insert"): a node's one
database thread spent most of its time waiting on PostgreSQL. The library's `insert_events`
already uses a psycopg pipeline, but wraps `conn.transaction()` in it, and psycopg syncs around
a transaction inside a pipeline: BEGIN, the statements, an empty sync, COMMIT and the
pipeline's own closing sync were five round trips (counted at the socket,
`tests/services/pg_turns.py`). Here BEGIN, SET LOCAL lock_timeout, LOCK TABLE … EXCLUSIVE,
NOTIFY, the INSERT … RETURNING and COMMIT are queued in one pipeline and sent with the one sync
that closes it: one round trip.

What stays as the library has it:
- the EXCLUSIVE lock before the insert, so notification ids are issued in commit order;
- NOTIFY on the recorder's channel, delivered only if the transaction commits;
- `SET LOCAL lock_timeout`: a writer stuck behind a lock holder fails (LockNotAvailable, an
  `OperationalError`), retried like any operational error, then raised;
- retries on `InterfaceError`/`OperationalError` (the library's own exception classes: the
  datastore's `get_connection` translates psycopg's into them, so a retry on psycopg's classes
  never fires);
- a failing statement aborts the pipeline: the server skips everything up to the sync,
  COMMIT included, and the transaction is rolled back here before the error is raised. Nothing
  is half-recorded.

And the insert itself is four binary arrays through `unnest` instead of the library's array of
its composite type, which psycopg adapts in pure Python, escaping every byte with a regular
expression (throughput.md §3: +21 % end to end when replaced).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import sql

#: What the library retries, as its datastore raises them (10 attempts, 0.2 s apart).
RETRIED = (InterfaceError, OperationalError)


class PipelinedRecorder(PostgresApplicationRecorder):
    """`PostgresApplicationRecorder` with a one-round-trip insert and a many-aggregate read."""

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = sql.Identifier(datastore.schema)
        table = sql.Identifier(self.events_table_name)
        self.array_insert_statement = sql.SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{id_type}[], %b::int8[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(schema=schema, table=table,
                 id_type=sql.Identifier(datastore.originator_id_type))
        self.select_many_statement = sql.SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(schema=schema, table=table)

    @retry(RETRIED, max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        """BEGIN … COMMIT in one pipeline, one sync: the notification ids, in insert order."""
        with self.datastore.get_connection() as conn:
            # Client-side cursors, left open: the INSERT's rows arrive with the closing sync.
            curs, insert = conn.cursor(), conn.cursor()
            try:
                with conn.pipeline():
                    curs.execute("BEGIN")
                    self._insert_events(curs, stored_events, **kwargs)
                    if stored_events:
                        self._lock_table(curs)
                        self._notify_channel(curs)
                        self._insert_arrays(insert, stored_events)
                    curs.execute("COMMIT")
            except BaseException:
                # The server skipped the rest up to the sync; an explicit block stays aborted.
                with contextlib.suppress(Exception):
                    conn.rollback()
                raise
            if not stored_events:
                return None
            return self._fetch_ids_after_insert_events(insert, stored_events, **kwargs)

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                              **kwargs: Any) -> None:
        """The library's hook (its `insert_events` and subclasses call it): lock, notify, insert."""
        self._lock_table(curs)
        self._notify_channel(curs)
        self._insert_arrays(curs, stored_events)

    def _insert_arrays(self, curs: Any, stored_events: Sequence[StoredEvent]) -> None:
        curs.execute(self.array_insert_statement, (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events]), prepare=True)

    @retry(RETRIED, max_attempts=10, wait=0.2)
    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every stored event of several aggregates in one query (the node's prefetch of a batch's
        sides: one round trip instead of one per side), by aggregate, then version."""
        if not originator_ids:
            return []
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.select_many_statement, (list(originator_ids),), prepare=True)
            return [StoredEvent(originator_id=row["originator_id"],
                                originator_version=row["originator_version"],
                                topic=row["topic"], state=bytes(row["state"]))
                    for row in curs.fetchall()]
