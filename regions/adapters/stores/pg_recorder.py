"""The event store's PostgreSQL recorder: one statement, one round trip per insert.

Why (issue 17, docs/performance.md "One round trip per event-store insert"): a node's one
database thread spent most of its time waiting on PostgreSQL. The library's `insert_events`
wraps `conn.transaction()` in a psycopg pipeline, and psycopg syncs around a transaction inside
a pipeline: BEGIN, the statements, an empty sync, COMMIT and the pipeline's closing sync were
five round trips (counted at the socket, `tests/services/pg_turns.py`). Queuing the same six
statements in one pipeline made it one round trip; a function of the schema (created with the
tables, `<table>_insert`) makes it one *statement*, its own transaction in the pool's
autocommit mode, which also halves the client's CPU per insert (the pipeline's per-statement
bookkeeping was most of it).

What the function keeps from the library's recorder:
- the EXCLUSIVE table lock before the insert, held to the commit, so notification ids are
  issued in commit order;
- the notification on the recorder's channel (`pg_notify`, the channel a parameter),
  delivered only if the statement commits;
- the lock timeout per transaction (`set_config(…, true)` is SET LOCAL): a writer stuck
  behind a lock holder fails with LockNotAvailable, an `OperationalError`, retried like any
  operational error, then raised;
- the retries on `InterfaceError`/`OperationalError` (the library's own classes: the
  datastore's `get_connection` translates psycopg's into them);
- all or nothing: a failing row fails the statement, and the statement's transaction with it.

Creating the tables takes a transaction-scoped advisory lock named for the table first: the
function is replaced at every open (so a changed body reaches an existing store), which writes
the catalogue, and a second replacement waiting on a first fails when the first commits
("tuple concurrently updated") — a node restarting while `tongban quarantine` opens its region.

This is not the library's `POSTGRES_ENABLE_DB_FUNCTIONS` (off: in 9.5.6 its function takes no
table lock and notifies on the library's channel). The rows go in as four binary arrays through
`unnest`, not the library's array of its composite type, which psycopg adapts in pure Python,
escaping every byte with a regular expression (throughput.md §3: +21 % end to end).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import Cursor, sql
from psycopg.rows import DictRow

#: What the library retries, as its datastore raises them (10 attempts, 0.2 s apart).
RETRIED = (InterfaceError, OperationalError)


class OneStatementRecorder(PostgresApplicationRecorder):
    """`PostgresApplicationRecorder` inserting by one statement, and a many-aggregate read."""

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = sql.Identifier(datastore.schema)
        table = sql.Identifier(self.events_table_name)
        id_type = sql.Identifier(datastore.originator_id_type)
        self.insert_function_name = f"{self.events_table_name}_insert"
        self.check_identifier_length(self.insert_function_name)
        function = sql.SQL("{schema}.{name}").format(
            schema=schema, name=sql.Identifier(self.insert_function_name))
        self.sql_create_statements.append(sql.SQL(
            "CREATE OR REPLACE FUNCTION {function}(ids {id_type}[], versions int8[], "
            "topics text[], states bytea[], channel text, wait text) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $$ "
            "BEGIN "
            "PERFORM set_config('lock_timeout', wait, true); "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "PERFORM pg_notify(channel, ''); "
            "RETURN QUERY INSERT INTO {schema}.{table} "
            "(originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(ids, versions, topics, states) RETURNING notification_id; "
            "END $$"
        ).format(function=function, id_type=id_type, schema=schema, table=table))
        self.insert_statement = sql.SQL(
            "SELECT {function}(%b::{id_type}[], %b::int8[], %b::text[], %b::bytea[], %s, %s) "
            "AS notification_id"
        ).format(function=function, id_type=id_type)
        self.lock_timeout_setting = f"{datastore.lock_timeout}s"
        self.select_many_statement = sql.SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(schema=schema, table=table)

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        """The library's creation, one opener of this table at a time (see the module's doc)."""
        curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                     (f"tongban create {self.datastore.schema}.{self.events_table_name}",))
        super()._create_table(curs)

    @retry(RETRIED, max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        """One statement, its own transaction: the notification ids, in insert order."""
        if not stored_events:
            return None
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.insert_statement, (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
                self.channel_name, self.lock_timeout_setting), prepare=True)
            return [row["notification_id"] for row in curs.fetchall()]

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
