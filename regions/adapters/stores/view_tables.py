"""View tables: a region's case views as rows in its own datastore, beside their tracking row.

Why here and like this (reference/eventsourcing.md §3-4, the `TrackingRecorder` view idiom):
- The rows and the tracking position are written in one transaction (`writing`), so after a
  crash the views are exactly as far as their position says, and a restart resumes from it.
  The tracking row is eventsourcing's own (`PostgresTrackingRecorder` in the region's schema,
  table `views_tracking`; `SQLiteTrackingRecorder`, table `tracking`, in the region's file).
- A writer reads its tracking row *locked* first (PostgreSQL `FOR UPDATE`; SQLite `BEGIN
  IMMEDIATE`, its one writer at a time). That is the one lock a rebuild's swap takes too, so a
  swap and a batch never interleave, and a writer sees at once that the row moved under it.
- One datastore per node, and the views never take the write path's connections: they have a
  small pool of their own (`POOL_SIZE` + `MAX_OVERFLOW`, explicit) on the same database and
  schema (PostgreSQL) or file (SQLite).
- Columns for what the API filters and sorts on (case number; the queue by attention, overdue,
  due date; supervision's figures), the rest as a JSON document (`projections.documents`).
  Index names carry a token, so a shadow table's indexes never collide with the live table's
  (SQLite cannot rename an index; a swap renames only tables).
"""

from __future__ import annotations

import contextlib
import hashlib
import struct
import uuid
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from projections.cases import CaseView
from projections.documents import Encoder
from regions.adapters.stores.pg_recorder import (
    _HEAD,
    _INT8,
    _LENGTH,
    INT8_OID,
    TEXT_OID,
    BinaryArray,
    BinaryArrayDumper,
)
from regions.adapters.stores.sql import LEDGER_PREFIX, PostgresStore, SqliteStore

#: The live table and its tracking name; the shadow a rebuild fills, and its tracking name.
LIVE, SHADOW = "views_cases", "views_cases_next"
LIVE_TRACKING, SHADOW_TRACKING = "cases", "cases_next"
#: The views' own pool: the tailer's writer and the HTTP readers, never the event store's.
POOL_SIZE, MAX_OVERFLOW = 2, 1
#: Seconds a swap waits for the live table (readers mid-query) before it gives up.
SWAP_LOCK_TIMEOUT = 10
COLUMNS = ("case_id", "case_number", "process", "role", "item_id", "mode", "status",
           "status_text", "terminal", "needs_attention", "overdue", "due_at", "opened_at",
           "submitted_at", "finished_at", "position")
SUMMARY = ", ".join(COLUMNS)
#: Each column's PostgreSQL type in `Dialect.upsert`'s arrays (the times go as their ISO text).
ARRAY_TYPES = ("text",) * 8 + ("boolean",) * 3 + ("text",) * 4 + ("bigint", "text")
TIME_COLUMNS = frozenset({"due_at", "opened_at", "submitted_at", "finished_at"})
BOOL_OID = 16
_NULL, _TRUE, _FALSE = _LENGTH.pack(-1), _LENGTH.pack(1) + b"\x01", _LENGTH.pack(1) + b"\x00"


def _texts(values: Sequence[Any]) -> BinaryArray:
    """A binary `text[]` (UTF-8) of `values`, None a NULL; `AttributeError` for a value that
    is not a `str`, `UnicodeEncodeError` for one UTF-8 cannot hold."""
    parts = []
    nulls = 0
    pack = _LENGTH.pack
    for value in values:
        if value is None:
            parts.append(_NULL)
            nulls = 1
        else:
            data = value.encode("utf-8")
            parts.append(pack(len(data)))
            parts.append(data)
    return BinaryArray(_HEAD.pack(1, nulls, TEXT_OID, len(values), 1) + b"".join(parts))


def _flags(values: Sequence[Any]) -> BinaryArray:
    """A binary `boolean[]`; `TypeError` for a value that is not `True` or `False`."""
    parts = []
    for value in values:
        if value is True:
            parts.append(_TRUE)
        elif value is False:
            parts.append(_FALSE)
        else:
            raise TypeError(f"not a bool: {value!r}")
    return BinaryArray(_HEAD.pack(1, 0, BOOL_OID, len(values), 1) + b"".join(parts))


def _bigints(values: Sequence[Any]) -> BinaryArray:
    """A binary `int8[]`; `struct.error` for a value that is not an int8."""
    pack = _INT8.pack
    return BinaryArray(_HEAD.pack(1, 0, INT8_OID, len(values), 1)
                       + b"".join([pack(8, value) for value in values]))


_ARRAYS = {"text": _texts, "boolean": _flags, "bigint": _bigints}
#: The array builder of each column of `Dialect.upsert` (`ARRAY_TYPES`), in order.
BUILDERS = tuple(_ARRAYS[kind] for kind in ARRAY_TYPES)


def row_arrays(rows: Sequence[Sequence[Any]]) -> list[BinaryArray]:
    """The rows' seventeen columns as PostgreSQL binary arrays, the bytes psycopg's list
    dumpers make for the same lists (`tests/unit/test_view_row_arrays.py`), made here with a
    `struct` pack and an encode per element instead of a dumper's Python call or two (the
    technique of `pg_recorder.binary_arrays`, STORE2). Raises `AttributeError`, `TypeError`,
    `struct.error` or `UnicodeEncodeError` for what the arrays cannot hold; the caller then
    hands psycopg the lists, so those fail or pass as they always did."""
    return [build(column) for build, column in zip(BUILDERS, zip(*rows, strict=True),
                                                   strict=True)]


@dataclass(frozen=True)
class Dialect:
    postgres: bool
    schema: str = ""

    def table(self, name: str) -> str:
        return f'"{self.schema}"."{name}"' if self.postgres else f'"{name}"'

    def q(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def ddl(self, table: str, token: str) -> list[str]:
        text, flag, time, big = (("text", "boolean", "timestamptz", "bigint") if self.postgres
                                 else ("TEXT", "INTEGER", "TEXT", "INTEGER"))
        name = self.table(table)
        prefix = f"{table}_{token}" if token else table

        def index(suffix: str, cols: str, unique: bool = False) -> str:
            kind = "UNIQUE INDEX" if unique else "INDEX"
            return f'CREATE {kind} IF NOT EXISTS "{prefix}_{suffix}" ON {name} ({cols})'

        return [
            f"CREATE TABLE IF NOT EXISTS {name} (case_id {text} PRIMARY KEY, "
            f"case_number {text} NOT NULL, process {text} NOT NULL, role {text} NOT NULL, "
            f"item_id {text} NOT NULL, mode {text} NOT NULL, status {text} NOT NULL, "
            f"status_text {text} NOT NULL, terminal {flag} NOT NULL, "
            f"needs_attention {flag} NOT NULL, overdue {flag} NOT NULL, due_at {time}, "
            f"opened_at {time}, submitted_at {time}, finished_at {time}, "
            f"position {big} NOT NULL, doc {text} NOT NULL)",
            index("number", "case_number", unique=True),
            # The work queue: open cases, attention and overdue first, then by due date.
            index("queue", "terminal, needs_attention, overdue, due_at"),
            # Supervision and the reports: by item, mode and role; periods by opening time.
            index("supervision", "item_id, mode, role"),
            index("opened", "opened_at"),
        ]

    def upsert(self, table: str) -> str:
        """Insert or update rows: on PostgreSQL one statement over one array per column
        (`unnest`), on SQLite one statement per row (`executemany`)."""
        cols = (*COLUMNS, "doc")
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "case_id")
        conflict = f"ON CONFLICT (case_id) DO UPDATE SET {updates}"
        if not self.postgres:
            return (f"INSERT INTO {self.table(table)} ({', '.join(cols)}) VALUES "
                    f"({', '.join('?' for _ in cols)}) {conflict}")
        arrays = ", ".join(f"%b::{kind}[]" for kind in ARRAY_TYPES)
        values = ", ".join(f"{c}::timestamptz" if c in TIME_COLUMNS else c for c in cols)
        return (f"INSERT INTO {self.table(table)} ({', '.join(cols)}) SELECT {values} "
                f"FROM unnest({arrays}) AS row({', '.join(cols)}) {conflict}")


class ViewTables:
    """A region's view tables on a pool of their own; see the module docstring."""

    def __init__(self, datastore: PostgresDatastore | SQLiteDatastore,
                 recorder: PostgresTrackingRecorder | SQLiteTrackingRecorder,
                 dialect: Dialect) -> None:
        self.datastore = datastore
        self.recorder = recorder
        self.dialect = dialect
        self.tracking_table = (recorder.tracking_table_name
                               if isinstance(recorder, PostgresTrackingRecorder) else "tracking")
        self._upserts: dict[str, str] = {}
        self._knows_arrays: weakref.WeakSet[Any] = weakref.WeakSet()
        self._move: str | None = None

    @classmethod
    def for_store(cls, store: object, region: str) -> ViewTables:
        """The view tables beside a durable store's region (open the event store first: it
        creates the region's schema)."""
        if isinstance(store, SqliteStore):
            sqlite = SQLiteDatastore(str(store.path_for(region)), lock_timeout=store.lock_timeout_s,
                                     pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)
            tables = cls(sqlite, SQLiteTrackingRecorder(sqlite), Dialect(False))
        elif isinstance(store, PostgresStore):
            s = {k.removeprefix(LEDGER_PREFIX + "POSTGRES_"): v
                 for k, v in store.settings_for(region).items()}
            pg = PostgresDatastore(
                s["DBNAME"], s["HOST"], s["PORT"], s["USER"], s["PASSWORD"],
                schema=s["SCHEMA"], pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW,
                connect_timeout=float(s["CONNECT_TIMEOUT"]), lock_timeout=int(s["LOCK_TIMEOUT"]))
            recorder = PostgresTrackingRecorder(pg, tracking_table_name="views_tracking")
            tables = cls(pg, recorder, Dialect(True, s["SCHEMA"]))
        else:
            raise TypeError(f"no view tables for a {type(store).__name__}")
        tables.create()
        return tables

    # ------------------------------------------------------------------ set-up

    def create(self) -> None:
        with self.writing() as curs:
            if self.dialect.postgres:  # two processes creating at once race in the catalogue
                curs.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(self.dialect.schema),))
            for statement in self.dialect.ddl(LIVE, ""):
                curs.execute(statement)
        self.recorder.create_table()
        with contextlib.suppress(IntegrityError):  # another process was first: also fine
            if self.recorder.max_tracking_id(LIVE_TRACKING) is None:
                self.recorder.insert_tracking(Tracking(LIVE_TRACKING, 0))

    def reset_shadow(self) -> None:
        """An empty shadow table at tracking 0, its indexes under a new token."""
        with self.writing() as curs:
            curs.execute(f"DROP TABLE IF EXISTS {self.dialect.table(SHADOW)}")
            curs.execute(self.dialect.q(f"DELETE FROM {self.dialect.table(self.tracking_table)} "
                                        "WHERE application_name = ?"), (SHADOW_TRACKING,))
            for statement in self.dialect.ddl(SHADOW, uuid.uuid4().hex[:8]):
                curs.execute(statement)
            self._track(curs, SHADOW_TRACKING, 0)

    def close(self) -> None:
        self.datastore.close()

    # ------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def writing(self) -> Iterator[Any]:
        """One write transaction; SQLite's takes the file's write lock at once."""
        if isinstance(self.datastore, PostgresDatastore):
            with self.datastore.transaction(commit=True) as pg:
                yield pg
            return
        with self.datastore.get_connection(commit=True) as conn:
            sqlite = conn.cursor()
            sqlite.execute("BEGIN IMMEDIATE")
            try:
                yield sqlite
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def locked_position(self, curs: Any, name: str) -> int:
        """The tracking position of `name`, locked until the transaction ends."""
        lock = " FOR UPDATE" if self.dialect.postgres else ""
        curs.execute(self.dialect.q(f"SELECT notification_id FROM "
                                    f"{self.dialect.table(self.tracking_table)} "
                                    f"WHERE application_name = ?{lock}"), (name,))
        row = curs.fetchone()
        return 0 if row is None else int(row["notification_id"] or 0)

    def hold_live(self, curs: Any) -> int:
        """Take the live tracking row's lock (what every live batch takes first) for a swap;
        a reader stuck on the old table makes the swap fail after `SWAP_LOCK_TIMEOUT`, never
        hang."""
        if self.dialect.postgres:
            curs.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}s'")
        return self.locked_position(curs, LIVE_TRACKING)

    def move(self, name: str, known: int, position: int) -> bool:
        """Move `name`'s tracking row from `known` to `position` in one statement, its own
        transaction, if the row is still at `known` (a writer's `ViewCursor.save`); False,
        having changed nothing, when it is not (someone else moved it: the caller then takes
        the long way, `ViewWriter.write`) or on SQLite.

        Why: the long way is a transaction of four round trips (BEGIN, the locked read, the
        tracking row, COMMIT) on the node's database thread, for a batch that wrote no rows.
        The UPDATE takes the same row lock, and under READ COMMITTED it checks `known` again
        against the row as whoever held the lock left it, so a swap that moved the row in
        between makes it match nothing."""
        if not isinstance(self.datastore, PostgresDatastore):
            return False
        statement = self._move
        if statement is None:
            statement = self._move = (
                f"UPDATE {self.dialect.table(self.tracking_table)} SET notification_id = %s "
                "WHERE application_name = %s AND notification_id = %s")
        with self.datastore.get_connection() as conn:  # autocommit: the statement commits
            return bool(conn.execute(statement, (position, name, known), prepare=True)
                        .rowcount == 1)

    def _track(self, curs: Any, name: str, position: int) -> None:
        self.recorder._insert_tracking(curs, Tracking(name, position))

    def write(self, curs: Any, table: str, views: Sequence[CaseView], name: str,
              position: int, encoder: Encoder | None = None) -> None:
        """Upsert `views` and move `name` to `position` (after `locked_position`, in one
        transaction). `encoder`: the writer's, which remembers the timelines it encoded.

        Why one statement of arrays on PostgreSQL: `executemany` adapted and sent each row as
        a statement of its own in a pipeline (psycopg's Python per row: ~1 % of a node's CPU
        in the bench, docs/performance.md, VIEWS); the arrays are built here in PostgreSQL's
        binary form (`row_arrays`, VIEWS3), not by psycopg's per-element dumpers."""
        if views:
            rows = [(encoder or Encoder(0)).row(v) for v in views]
            statement = self._upserts.get(table)
            if statement is None:
                statement = self._upserts[table] = self.dialect.upsert(table)
            if self.dialect.postgres:
                curs.execute(statement, self._columns(curs, rows))
            else:
                curs.executemany(statement, rows)
        self._track(curs, name, position)

    def _columns(self, curs: Any, rows: Sequence[Sequence[Any]]) -> Sequence[Any]:
        """The upsert's parameters: binary arrays built here (`row_arrays`) on a UTF8
        connection, else (or for a value they cannot hold) psycopg's lists."""
        conn = curs.connection
        if conn.pgconn.parameter_status(b"client_encoding") == b"UTF8":
            try:
                arrays = row_arrays(rows)
            except (AttributeError, TypeError, struct.error, UnicodeEncodeError):
                pass
            else:
                if conn not in self._knows_arrays:  # its cursors copy its adapters when made
                    conn.adapters.register_dumper(BinaryArray, BinaryArrayDumper)
                    curs.adapters.register_dumper(BinaryArray, BinaryArrayDumper)
                    self._knows_arrays.add(conn)
                return arrays
        return [list(col) for col in zip(*rows, strict=True)]

    def swap(self, curs: Any, position: int) -> None:
        """Under the live tracking row's lock: the shadow becomes the live table at `position`."""
        d = self.dialect
        old = "views_cases_old"
        curs.execute(f"DROP TABLE IF EXISTS {d.table(old)}")
        curs.execute(f"ALTER TABLE {d.table(LIVE)} RENAME TO \"{old}\"")
        curs.execute(f"ALTER TABLE {d.table(SHADOW)} RENAME TO \"{LIVE}\"")
        curs.execute(f"DROP TABLE {d.table(old)}")
        curs.execute(d.q(f"DELETE FROM {d.table(self.tracking_table)} "
                         "WHERE application_name = ?"), (SHADOW_TRACKING,))
        curs.execute(d.q(f"UPDATE {d.table(self.tracking_table)} SET notification_id = ? "
                         "WHERE application_name = ?"), (position, LIVE_TRACKING))

    # ------------------------------------------------------------------ reading

    def select(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        if isinstance(self.datastore, PostgresDatastore):
            with self.datastore.transaction(commit=False) as curs:
                curs.execute(self.dialect.q(statement), tuple(params))
                return curs.fetchall()
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, tuple(params))
            return curs.fetchall()

    def position(self, name: str = LIVE_TRACKING) -> int:
        return self.recorder.max_tracking_id(name) or 0


def _lock_key(schema: str) -> int:
    digest = hashlib.sha256(f"tongban:views-setup:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
