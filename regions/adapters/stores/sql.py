"""Durable event stores for a node: SQLite (a file per region) and PostgreSQL (a schema per region).

Why they look like this (facts in reference/eventsourcing.md):
- Every setting is handed to the library under the application's own prefix (`LEDGER_…`). A
  prefixed key given to the constructor beats anything in `os.environ`, so a stray
  `POSTGRES_ENABLE_DB_FUNCTIONS=y` (broken in 9.5.6: skips tracking, writes into the wrong
  table) or `APPLICATION_RECORDER_TOPIC` in the process environment cannot change the store.
- SQLite names its tables `stored_events` whatever the application is called, so two regions in
  one file would share one log: each region gets `<dir>/<region>.sqlite`. The library switches
  file databases to WAL; the busy timeout is explicit so a second writer waits, then fails
  loudly, instead of using a hidden default. SQLite's own `synchronous=FULL` makes each commit
  durable (checked by the integration tests).
- PostgreSQL keeps one schema per region in one database. The library never creates schemas, so
  `open()` runs `CREATE SCHEMA IF NOT EXISTS` — under a session advisory lock, because two
  processes creating the same schema or tables at once race in PostgreSQL's catalogue.
- Pools are small and explicit: eventsourcing opens 5 + 10 connections per datastore by default
  and PostgreSQL allows 100, while the node shares one datastore between its event store, relay,
  inbox and views. Per node: `pool_size + max_overflow` pooled connections, one for the commit
  waker, one short-lived for set-up.
- `POSTGRES_LOCK_TIMEOUT` is set: each insert takes an EXCLUSIVE table lock (that is what keeps
  notification ids in commit order; `pg_recorder` does it in one statement); a writer stuck
  behind a dead lock holder fails with an error after the library's ten retries instead of
  hanging forever.
- The library NOTIFYs on a channel named after the events table. Every region's table is
  `ledger_events`, and NOTIFY is per database, so with the library's channel every commit would
  wake every region's relay. `RegionChannelRecorder` names the channel after the schema as well;
  the library's own `subscribe()` listens on `recorder.channel_name`, so it follows along.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.utils import get_topic
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from domain.kernel import DomainError
from regions.adapters.stores.cipher import cipher_settings
from regions.adapters.stores.pg_recorder import OneStatementRecorder
from regions.adapters.stores.wakers import PostgresWaker, SqlitePollingWaker
from regions.core.store import EventStore

#: The env prefix eventsourcing looks up first for this application (`LEDGER_`).
LEDGER_PREFIX = EventStore.name.upper() + "_"
#: The events table the library creates for the event store (`<app name lower>_events`).
EVENTS_TABLE = EventStore.name.lower() + "_events"
#: PostgreSQL truncates identifiers beyond 63 bytes; the library refuses them instead.
MAX_IDENTIFIER = 63
#: DSN keys the library's pool can carry (it passes only dbname/host/port/user/password).
SUPPORTED_DSN_KEYS = frozenset({"host", "port", "dbname", "user", "password", "connect_timeout"})

_REGION_NAME = re.compile(r"[a-z0-9_]{1,40}")
_SCHEMA_PREFIX = re.compile(r"[a-z_][a-z0-9_]*")


class StoreConfigError(DomainError):
    """A store was configured with something it cannot use (DSN key, name, size)."""

    code = "invalid_store_config"


def check_region_name(region: str) -> str:
    """Region names become file and schema names: lower-case letters, digits and `_` only."""
    if not isinstance(region, str) or not _REGION_NAME.fullmatch(region):
        raise StoreConfigError(
            f"region name {region!r} must be 1-40 characters of a-z, 0-9 and '_' "
            "(it becomes a file or schema name)")
    return region


# --------------------------------------------------------------------------- SQLite


def sqlite_settings(path: Path, *, lock_timeout_s: int) -> dict[str, str]:
    """The library's settings for one region's SQLite file."""
    if lock_timeout_s < 1:
        raise StoreConfigError(f"SQLite lock timeout must be at least 1 s, got {lock_timeout_s}")
    return {
        LEDGER_PREFIX + "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        LEDGER_PREFIX + "SQLITE_DBNAME": str(path),
        LEDGER_PREFIX + "SQLITE_LOCK_TIMEOUT": str(lock_timeout_s),
        LEDGER_PREFIX + "APPLICATION_RECORDER_TOPIC": "",
        LEDGER_PREFIX + "CREATE_TABLE": "y",
    }


class SqliteStore:
    """One SQLite file per region under `directory`; opening again is a restart.

    A store object stands for one node process: `open()` closes the event store it opened
    before for the same region (that incarnation is dead). Another process — or a second store
    object on the same directory — is another writer, kept honest by optimistic concurrency.
    """

    def __init__(self, directory: Path | str, *, lock_timeout_s: int = 5,
                 poll_interval_s: float = 0.2, cipher_key: str = "") -> None:
        self.directory = Path(directory)
        self.cipher_key = cipher_key
        self.lock_timeout_s = lock_timeout_s
        self.poll_interval_s = poll_interval_s
        sqlite_settings(self.directory, lock_timeout_s=lock_timeout_s)  # validate early
        self._opened: dict[str, EventStore] = {}

    def path_for(self, region: str) -> Path:
        return self.directory / f"{check_region_name(region)}.sqlite"

    def settings_for(self, region: str) -> dict[str, str]:
        return {**sqlite_settings(self.path_for(region), lock_timeout_s=self.lock_timeout_s),
                **cipher_settings(self.cipher_key, LEDGER_PREFIX)}

    def open(self, region: str) -> EventStore:
        settings = self.settings_for(region)
        self.directory.mkdir(parents=True, exist_ok=True)
        _close_quietly(self._opened.pop(region, None))
        app = EventStore(env=settings)
        self._opened[region] = app
        return app

    def waker(self, region: str, on_commit: Callable[[], None] | None = None
              ) -> SqlitePollingWaker:
        """SQLite has no notifications: a reader polls the newest notification id instead."""
        return SqlitePollingWaker(self.path_for(region), on_commit,
                                  interval_s=self.poll_interval_s)

    def close(self) -> None:
        while self._opened:
            _close_quietly(self._opened.popitem()[1])


# --------------------------------------------------------------------------- PostgreSQL


def parse_dsn(dsn: str) -> dict[str, str]:
    """A libpq DSN or URL as a dict, refusing keys the library's pool would silently drop."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise StoreConfigError(f"not a libpq DSN or URL: {exc}") from exc
    unsupported = sorted(set(params) - SUPPORTED_DSN_KEYS)
    if unsupported:
        raise StoreConfigError(
            f"DSN parameters {unsupported} cannot be passed on by eventsourcing's pool; "
            f"use only {sorted(SUPPORTED_DSN_KEYS)}")
    timeout = str(params.get("connect_timeout", "1"))
    if not timeout.isdigit():
        raise StoreConfigError(f"connect_timeout must be whole seconds, got {timeout!r}")
    return {key: str(value) for key, value in params.items()}


@dataclass(frozen=True)
class ConnectionTarget:
    """Where the library connects: libpq's resolved values (defaults and PG* variables applied)."""

    host: str
    port: int
    dbname: str
    user: str
    password: str

    @classmethod
    def of(cls, conn: psycopg.Connection[Any]) -> ConnectionTarget:
        info = conn.info
        return cls(host=info.host, port=info.port, dbname=info.dbname, user=info.user,
                   password=info.password or "")


def region_channel(schema: str, events_table: str = EVENTS_TABLE) -> str:
    """The NOTIFY channel of one region's events table: unique within the database."""
    return f"{schema}_{events_table}"


def postgres_settings(target: ConnectionTarget, *, schema: str, pool_size: int,
                      max_overflow: int, lock_timeout_s: int, connect_timeout_s: int,
                      pre_ping: bool = False) -> dict[str, str]:
    """The library's settings for one region's schema. Never enables the DB functions.

    Pre-ping is off by default: it costs a round trip per checkout (13-15 % of a node's CPU in
    the bench profile) and buys nothing here, because the library's recorders already retry
    `OperationalError`/`InterfaceError` (10 attempts, 0.2 s apart) and the node's loops retry
    whatever still fails after a database restart.
    """
    if pool_size < 1 or max_overflow < 0:
        raise StoreConfigError(
            f"pool_size must be >= 1 and max_overflow >= 0, got {pool_size} and {max_overflow}")
    if lock_timeout_s < 1:
        raise StoreConfigError(f"lock timeout must be at least 1 s (0 waits forever), "
                               f"got {lock_timeout_s}")
    if connect_timeout_s < 1:
        raise StoreConfigError(f"connect timeout must be at least 1 s, got {connect_timeout_s}")
    channel = region_channel(schema)
    if len(channel.encode()) > MAX_IDENTIFIER:
        raise StoreConfigError(f"schema {schema!r} is too long: channel {channel!r} would exceed "
                               f"{MAX_IDENTIFIER} bytes")
    values = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": get_topic(RegionChannelRecorder),
        "POSTGRES_DBNAME": target.dbname,
        "POSTGRES_HOST": target.host,
        "POSTGRES_PORT": str(target.port),
        "POSTGRES_USER": target.user,
        "POSTGRES_PASSWORD": target.password,
        "POSTGRES_GET_PASSWORD_TOPIC": "",
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(max_overflow),
        "POSTGRES_LOCK_TIMEOUT": str(lock_timeout_s),
        "POSTGRES_CONNECT_TIMEOUT": str(connect_timeout_s),
        "POSTGRES_PRE_PING": "y" if pre_ping else "n",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "ORIGINATOR_ID_TYPE": "uuid",
        "CREATE_TABLE": "y",
    }
    return {LEDGER_PREFIX + key: value for key, value in values.items()}


class RegionChannelRecorder(OneStatementRecorder):
    """The event store's recorder (`pg_recorder`: one statement per insert, binary arrays),
    notifying on `<schema>_<table>` so regions don't wake each other. The library's own recorder
    tests run on this class (tests/integration/test_postgres_recorder_contract.py).
    """

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.channel_name = region_channel(datastore.schema, events_table_name)
        self.check_identifier_length(self.channel_name)


class PostgresStore:
    """One schema per region (`<schema_prefix><region>`) in the database the DSN names.

    As with `SqliteStore`, a store object is one node process: `open()` again is a restart and
    closes the event store it opened before for that region.
    """

    def __init__(self, dsn: str, *, schema_prefix: str = "tb_", pool_size: int = 2,
                 max_overflow: int = 2, lock_timeout_s: int = 5, connect_timeout_s: int = 10,
                 pre_ping: bool = False, schema_names: Mapping[str, str] | None = None,
                 cipher_key: str = "") -> None:
        self._dsn_params = parse_dsn(dsn)
        self.cipher_key = cipher_key
        if not _SCHEMA_PREFIX.fullmatch(schema_prefix):
            raise StoreConfigError(f"schema prefix {schema_prefix!r} must be a lower-case SQL "
                                   "identifier start (a-z, 0-9, '_', not starting with a digit)")
        self.dsn = dsn
        self.schema_prefix = schema_prefix
        self.pool_size = pool_size
        self.max_overflow = max_overflow
        self.lock_timeout_s = lock_timeout_s
        # The DSN's own connect_timeout, if it has one, wins (it is what the operator wrote).
        self.connect_timeout_s = int(self._dsn_params.get("connect_timeout") or connect_timeout_s)
        self.pre_ping = pre_ping
        self.schema_names = dict(schema_names or {})
        for schema in self.schema_names.values():
            if not _SCHEMA_PREFIX.fullmatch(schema):
                raise StoreConfigError(f"schema name {schema!r} must be a lower-case identifier")
        self._target: ConnectionTarget | None = None
        self._opened: dict[str, EventStore] = {}
        # Validate sizes, timeouts and name lengths now rather than at the first open().
        postgres_settings(ConnectionTarget("", 0, "", "", ""), schema=schema_prefix,
                          pool_size=pool_size, max_overflow=max_overflow,
                          lock_timeout_s=lock_timeout_s, connect_timeout_s=self.connect_timeout_s)

    def schema_for(self, region: str) -> str:
        return self.schema_names.get(region) or self.schema_prefix + check_region_name(region)

    def channel_for(self, region: str) -> str:
        return region_channel(self.schema_for(region))

    def settings_for(self, region: str) -> dict[str, str]:
        if self._target is None:
            with self._admin() as conn:
                self._target = ConnectionTarget.of(conn)
        return self._settings(self._target, region)

    def _settings(self, target: ConnectionTarget, region: str) -> dict[str, str]:
        return {**postgres_settings(
            target, schema=self.schema_for(region), pool_size=self.pool_size,
            max_overflow=self.max_overflow, lock_timeout_s=self.lock_timeout_s,
            connect_timeout_s=self.connect_timeout_s, pre_ping=self.pre_ping),
            **cipher_settings(self.cipher_key, LEDGER_PREFIX)}

    @contextmanager
    def _admin(self) -> Iterator[psycopg.Connection[Any]]:
        """A short-lived connection from the DSN itself (every libpq parameter applies)."""
        with psycopg.connect(self.dsn, autocommit=True,
                             connect_timeout=self.connect_timeout_s) as conn:
            yield conn

    def open(self, region: str) -> EventStore:
        schema = self.schema_for(region)
        with self._admin() as conn:
            self._target = self._target or ConnectionTarget.of(conn)
            settings = self._settings(self._target, region)
            # Held until this connection closes: set-up of one schema runs one at a time.
            conn.execute("SELECT pg_advisory_lock(%s)", (_setup_lock_key(schema),))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            _close_quietly(self._opened.pop(region, None))
            app = EventStore(env=settings)
        self._opened[region] = app
        return app

    def waker(self, region: str, on_commit: Callable[[], None] | None = None) -> PostgresWaker:
        """LISTEN on the region's channel on a connection of its own (outside the pool)."""
        return PostgresWaker(self.dsn, self.channel_for(region), on_commit)

    def drop(self, region: str) -> None:
        """Remove a region's schema and everything in it (tests and benchmarks only)."""
        _close_quietly(self._opened.pop(region, None))
        self._drop_schemas([self.schema_for(region)])

    def drop_all(self) -> list[str]:
        """Remove every schema whose name starts with this store's prefix; returns their names."""
        for region in list(self._opened):
            _close_quietly(self._opened.pop(region))
        with self._admin() as conn:
            rows = conn.execute(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) ORDER BY 1",
                (self.schema_prefix,)).fetchall()
        names = [str(row[0]) for row in rows]
        self._drop_schemas(names)
        return names

    def _drop_schemas(self, schemas: list[str]) -> None:
        if not schemas:
            return
        with self._admin() as conn:
            conn.execute("SET lock_timeout = '10s'")
            for schema in schemas:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(schema)))

    def close(self) -> None:
        while self._opened:
            _close_quietly(self._opened.popitem()[1])


def datastore_of(app: EventStore) -> PostgresDatastore | SQLiteDatastore | None:
    """The event store's datastore (connection pool), for components that must share it."""
    datastore = getattr(app.factory, "datastore", None)
    return datastore if isinstance(datastore, PostgresDatastore | SQLiteDatastore) else None


def _setup_lock_key(schema: str) -> int:
    """A stable signed 64-bit advisory-lock key for setting up one schema."""
    digest = hashlib.sha256(f"tongban:store-setup:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _close_quietly(app: EventStore | None) -> None:
    """Close a previous incarnation; its pool may already be broken, which is what a crash is."""
    if app is None:
        return
    with contextlib.suppress(Exception):
        app.close()
