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
escaping every byte with a regular expression (throughput.md §3: +21 % end to end). The four
arrays are built here in PostgreSQL's binary form (`binary_arrays`: the bytes psycopg's list
dumpers build, without their Python call or two per element), and the statements' bytes are
composed once (docs/performance.md "The event store's calls to PostgreSQL": 1.4-1.6x less
client CPU per insert).

The insert is sent as libpq's prepared-statement call and waited on by psycopg's own `execute`
generator (`_insert_prepared`), which is psycopg's internals, not its documented API: pyproject
pins psycopg's minor (the one it was measured and tested with), and where the generator, or the
shape it is called in, is missing (`EXECUTE` None: a psycopg installed past the pin) the cursor
sends the same arrays, as before (tests/integration/test_pg_recorder_fallback.py).
"""

from __future__ import annotations

import hashlib
import inspect
import struct
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Final
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresSubscription,
)
from eventsourcing.utils import retry
from psycopg import Connection, Cursor, errors, sql
from psycopg.adapt import Buffer, Dumper
from psycopg.pq import ExecStatus, Format
from psycopg.rows import DictRow, tuple_row

from regions.core.rows import frozen

#: What the library retries, as its datastore raises them (10 attempts, 0.2 s apart).
RETRIED = (InterfaceError, OperationalError)


def _psycopg_execute() -> Callable[[Any], Any] | None:
    """psycopg's `execute` generator where it, `Connection.wait` and `errors.error_from_result`
    are there in the shape `_result` calls them; None otherwise: the cursor inserts."""
    try:
        from psycopg.generators import execute
        inspect.signature(execute).bind(None)
        inspect.signature(Connection.wait).bind(None, None)  # unbound: self, the generator
    except (ImportError, TypeError, ValueError, AttributeError):
        return None
    return execute if callable(getattr(errors, "error_from_result", None)) else None


#: What `_insert_prepared` waits on; None: psycopg lacks it, and the cursor inserts.
EXECUTE: Final = _psycopg_execute()

#: PostgreSQL's binary array: one dimension, no NULLs, the element type, the length, lower
#: bound 1 (`array_recv`); each element its length, then its bytes.
_HEAD = struct.Struct(">iiIii")
_LENGTH = struct.Struct(">i")
_INT8 = struct.Struct(">iq")
_UUID_LENGTH = _LENGTH.pack(16)
UUID_OID, INT8_OID, TEXT_OID, BYTEA_OID = 2950, 20, 25, 17
#: The prepared insert's parameter formats: the four arrays binary, the channel and wait text.
_INSERT_FORMATS = [Format.BINARY] * 4 + [Format.TEXT] * 2


class BinaryArray:
    """A parameter already in PostgreSQL's binary form, typed by the statement's cast."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class BinaryArrayDumper(Dumper):
    """Hands a `BinaryArray` over as it is: oid 0, so the server takes the type from the cast.
    Registered on each connection the recorder uses (`OneStatementRecorder._adapted`), not on
    psycopg's global map, which a connection copies when it is made."""

    format = Format.BINARY

    def dump(self, obj: BinaryArray) -> Buffer:
        return obj.data



def uuid_array(ids: Sequence[UUID]) -> BinaryArray:
    """`ids` as a binary `uuid[]` (`AttributeError` if one is not a `UUID`)."""
    return _uuids([id_.bytes for id_ in ids])


def _uuids(ids: list[bytes]) -> BinaryArray:
    """A binary `uuid[]` of these 16-byte ids: each element its length, then its bytes (and
    none for no ids: a length with no element after it is a refused parameter)."""
    return BinaryArray(_HEAD.pack(1, 0, UUID_OID, len(ids), 1)
                       + (_UUID_LENGTH + _UUID_LENGTH.join(ids) if ids else b""))


def binary_arrays(stored_events: Sequence[StoredEvent],
                  topics: dict[str, bytes]) -> tuple[BinaryArray, ...]:
    """The rows' four columns as binary `uuid[]`, `int8[]`, `text[]` (UTF-8) and `bytea[]`.

    psycopg's list dumpers build the same bytes with a Python call or two per element; here an
    element is a `struct` pack or a cached topic. `topics`: each topic's element, kept across
    calls (a store has a few dozen). Raises `AttributeError` (an id that is not a `UUID`),
    `struct.error` (a version beyond int8) or `UnicodeEncodeError`: the caller then lets psycopg
    adapt the lists, so those fail as they always did."""
    ids = []
    versions = []
    elements = []
    states = []
    pack_int8 = _INT8.pack
    pack_length = _LENGTH.pack
    for event in stored_events:
        ids.append(event.originator_id.bytes)  # type: ignore[union-attr]
        versions.append(pack_int8(8, event.originator_version))
        topic = topics.get(event.topic)
        if topic is None:
            encoded = event.topic.encode("utf-8")
            topic = topics[event.topic] = pack_length(len(encoded)) + encoded
        elements.append(topic)
        state = event.state
        states.append(pack_length(len(state)))
        states.append(state)
    count = len(ids)
    return (_uuids(ids),
            BinaryArray(_HEAD.pack(1, 0, INT8_OID, count, 1) + b"".join(versions)),
            BinaryArray(_HEAD.pack(1, 0, TEXT_OID, count, 1) + b"".join(elements)),
            BinaryArray(_HEAD.pack(1, 0, BYTEA_OID, count, 1) + b"".join(states)))


#: How long `subscribe` waits at most for its LISTEN (the pool's own wait ends it before).
LISTEN_WAIT_S = 60.0


class ListeningSubscription(PostgresSubscription):
    """The library's subscription, returned once it listens.

    eventsourcing 9.5's `PostgresSubscription` starts a thread that takes a pooled connection and
    runs LISTEN, and returns at once: a row committed before that LISTEN ran, and after the
    subscription's first read, notified no one and was not received until some later row's
    notification (the library's contract case hung on it, on a busy machine). Here `subscribe`
    returns after the LISTEN (or the thread's failure, which iterating then raises), and the
    subscription reads once more, for what was committed in between."""

    def __init__(self, recorder: PostgresApplicationRecorder, gt: int | None = None,
                 topics: Sequence[str] = ()) -> None:
        self._listening = threading.Event()
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._listening.wait(LISTEN_WAIT_S)
        self._has_been_notified.set()

    def _listen(self) -> None:
        """The library's `_listen`, telling `__init__` when LISTEN has run."""
        try:
            with self._recorder.datastore.get_connection() as conn:
                conn.execute(sql.SQL("LISTEN {0}").format(
                    sql.Identifier(self._recorder.channel_name)))
                self._listening.set()
                while not self._has_been_stopped and not self._thread_error:
                    for _ in conn.notifies(timeout=0.1, stop_after=1):
                        self._has_been_notified.set()
        except BaseException as e:
            if self._thread_error is None:
                self._thread_error = e
            self.stop()
        finally:
            self._listening.set()


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
        self._insert_sql: bytes | None = None
        #: The same call with numbered parameters, prepared by name on each pooled connection at
        #: its first insert (`_insert_prepared`).
        self.prepared_insert_statement = sql.SQL(
            "SELECT {function}($1::{id_type}[], $2::int8[], $3::text[], $4::bytea[], $5, $6) "
            "AS notification_id"
        ).format(function=function, id_type=id_type)
        self._prepared: tuple[bytes, bytes] | None = None  # (name, statement)
        self._prepared_on: weakref.WeakSet[Connection[Any]] = weakref.WeakSet()
        self._text_params: tuple[str, str, bytes, bytes] | None = None
        self._topics: dict[str, bytes] = {}
        self._knows_arrays: weakref.WeakSet[Connection[Any]] = weakref.WeakSet()
        self.select_many_statement = sql.SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = ANY(%b::{id_type}[]) ORDER BY originator_id, originator_version"
        ).format(schema=schema, table=table, id_type=id_type)
        self._select_many_sql: bytes | None = None

    def subscribe(self, gt: int | None = None,
                  topics: Sequence[str] = ()) -> ListeningSubscription:
        """The library's subscription, returned once it listens (`ListeningSubscription`)."""
        return ListeningSubscription(recorder=self, gt=gt, topics=topics)

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        """The library's creation, one opener of this table at a time (see the module's doc)."""
        curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                     (f"tongban create {self.datastore.schema}.{self.events_table_name}",))
        super()._create_table(curs)

    @retry(RETRIED, max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        """One statement, its own transaction: the notification ids, in insert order.

        The statement's bytes are composed once, the four columns are handed over as binary
        arrays already built (`binary_arrays`) and the ids come back as tuples: psycopg's
        adaptation of the parameters, per element, was most of the client's CPU per insert."""
        if not stored_events:
            return None
        with self.datastore.get_connection() as conn:
            columns = self._binary_columns(conn, stored_events)
            if columns is not None and EXECUTE is not None:
                return self._insert_prepared(conn, columns)
            with self._adapted(conn).cursor(row_factory=tuple_row) as curs:
                curs.execute(self._insert_query(conn), (*(columns or (
                    [e.originator_id for e in stored_events],
                    [e.originator_version for e in stored_events],
                    [e.topic for e in stored_events],
                    [e.state for e in stored_events])),
                    self.channel_name, self.lock_timeout_setting), prepare=True)
                return [row[0] for row in curs.fetchall()]

    def _insert_prepared(self, conn: Connection[Any],
                         columns: tuple[BinaryArray, ...]) -> list[int]:
        """The insert as libpq's prepared-statement call, the way psycopg's cursor makes it
        (`send_query_prepared`, then psycopg's own `execute` generator waited on by the
        connection: notifications consumed, a lost connection an `OperationalError`, an error
        result psycopg's exception for its SQLSTATE), without the cursor around it: its query
        conversion, parameter dumping, prepared-statement bookkeeping and row making were ~a
        third of the client's CPU per insert (docs/performance.md, STOREFMT). The statement is
        prepared by name on each connection at its first insert, and again if the server says
        it has none (a session reset under it)."""
        name, statement = self._prepared or self._prepare_names(conn)
        channel, wait = self._text_parameters()
        params = [columns[0].data, columns[1].data, columns[2].data, columns[3].data,
                  channel, wait]
        pgconn = conn.pgconn
        with conn.lock:
            if conn not in self._prepared_on:
                pgconn.send_prepare(name, statement)
                self._result(conn, ExecStatus.COMMAND_OK)
                self._prepared_on.add(conn)
            pgconn.send_query_prepared(name, params, _INSERT_FORMATS)
            try:
                result = self._result(conn, ExecStatus.TUPLES_OK)
            except errors.InvalidSqlStatementName:
                pgconn.send_prepare(name, statement)
                self._result(conn, ExecStatus.COMMAND_OK)
                pgconn.send_query_prepared(name, params, _INSERT_FORMATS)
                result = self._result(conn, ExecStatus.TUPLES_OK)
        get = result.get_value
        return [int(get(row, 0)) for row in range(result.ntuples)]

    @staticmethod
    def _result(conn: Connection[Any], expected: ExecStatus) -> Any:
        """The one result of the query just sent, waited for as psycopg's cursor waits (its
        `execute` generator on the connection's `wait`), raising as the cursor raises for
        anything but `expected`."""
        assert EXECUTE is not None  # (`insert_events` asked)
        result = conn.wait(EXECUTE(conn.pgconn))[-1]
        if result.status != expected:
            if result.status == ExecStatus.FATAL_ERROR:
                raise errors.error_from_result(result, encoding=conn.info.encoding)
            raise errors.InterfaceError(
                f"unexpected result {ExecStatus(result.status).name} from the event store insert")
        return result

    def _prepare_names(self, conn: Connection[Any]) -> tuple[bytes, bytes]:
        statement = self.prepared_insert_statement.as_bytes(conn)
        name = b"tongban_insert_" + hashlib.sha1(statement).hexdigest()[:16].encode()
        self._prepared = (name, statement)
        return self._prepared

    def _text_parameters(self) -> tuple[bytes, bytes]:
        """The channel and the lock timeout as the statement's text parameters (UTF-8: the
        binary path runs only on a UTF-8 connection), kept while neither changes."""
        kept = self._text_params
        if kept is None or kept[0] != self.channel_name or kept[1] != self.lock_timeout_setting:
            kept = self._text_params = (self.channel_name, self.lock_timeout_setting,
                                        self.channel_name.encode(),
                                        self.lock_timeout_setting.encode())
        return kept[2], kept[3]

    def _adapted(self, conn: Connection[Any]) -> Connection[Any]:
        """`conn`, able to send a `BinaryArray` (its cursors copy its adapters when made)."""
        if conn not in self._knows_arrays:
            conn.adapters.register_dumper(BinaryArray, BinaryArrayDumper)
            self._knows_arrays.add(conn)
        return conn

    def _insert_query(self, conn: Connection[Any]) -> bytes:
        query = self._insert_sql
        if query is None:
            query = self._insert_sql = self.insert_statement.as_bytes(conn)
        return query

    def _binary_columns(self, conn: Connection[Any], stored_events: Sequence[StoredEvent]
                        ) -> tuple[BinaryArray, ...] | None:
        """The four columns as binary arrays; None where psycopg must adapt the lists (not a
        UTF-8 connection, an id that is not a `UUID`, a version beyond int8, a topic that is
        not text), so that those fail, or not, as they always did."""
        if conn.pgconn.parameter_status(b"client_encoding") == b"UTF8":
            try:
                return binary_arrays(stored_events, self._topics)
            except (AttributeError, struct.error, UnicodeEncodeError):
                pass
        return None

    @retry(RETRIED, max_attempts=10, wait=0.2)
    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every stored event of several aggregates in one query (the node's prefetch of a batch's
        sides: one round trip instead of one per side), by aggregate, then version. The ids go
        over as one binary array, the rows come back as tuples, each `StoredEvent` filled as the
        library's mapper fills the events it reads."""
        if not originator_ids:
            return []
        with self.datastore.get_connection() as conn, \
                self._adapted(conn).cursor(row_factory=tuple_row) as curs:
            query = self._select_many_sql
            if query is None:
                query = self._select_many_sql = self.select_many_statement.as_bytes(conn)
            try:
                ids: Any = uuid_array(originator_ids)
            except AttributeError:  # not UUIDs: psycopg adapts them
                ids = list(originator_ids)
            curs.execute(query, (ids,), prepare=True)
            return [frozen(StoredEvent, {"originator_id": originator_id,
                                         "originator_version": originator_version,
                                         "topic": topic, "state": bytes(state)})
                    for originator_id, originator_version, topic, state in curs.fetchall()]
