"""One active worker per region: the lock a node must hold before its relay, inbox and timer run.

Why a lock at all: two relays of one region would publish the same events twice over (harmless,
deduplicated) but two inboxes and timers would race each other for every decision, each losing
half of its commits to optimistic-concurrency conflicts. So a second `tongban node` for the same
region waits as a standby and takes over when the first one dies.

- PostgreSQL: a session advisory lock (key from the schema and region) on a dedicated connection.
  The session *is* the lock: SIGKILL, a crash or a lost network ends the session and PostgreSQL
  releases the lock. The standby polls `pg_try_advisory_lock` rather than blocking in
  `pg_advisory_lock`, so its connection stays usable for health probes and SIGTERM is immediate.
- SQLite: an OS file lock (`flock`, via `filelock`, never its "soft" fallback, which a dead process
  would leave behind) on `<region>.sqlite.lock` next to the region's file; the OS drops it when the
  process dies.
- `watch()` returns as soon as the lock can no longer be trusted (the PostgreSQL session stops
  answering; the lock file was deleted or replaced, so someone else could lock a new one). The node
  then stops working at once: better no active worker for a moment than two.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Protocol

import filelock
import psycopg

log = logging.getLogger("tongban.worker_lock")

#: How often a standby retries and an active worker checks its lock (s).
POLL_SECONDS = 0.5
#: A lock check that takes longer than this counts as a lost lock (s).
CHECK_TIMEOUT = 5.0


class WorkerLock(Protocol):
    """What the node needs of a region's lock; `describe` names it in logs and /readyz."""

    held: bool

    def describe(self) -> str: ...

    async def acquire(self, stopped: asyncio.Event) -> bool:
        """Wait until the lock is held (True) or `stopped` is set (False)."""
        ...

    async def watch(self, stopped: asyncio.Event) -> None:
        """Return when the lock is lost or `stopped` is set (`held` says which)."""
        ...

    async def probe(self) -> None:
        """Raise if the store behind the lock does not answer (for a standby's readiness)."""
        ...

    async def release(self) -> None: ...


def advisory_key(schema: str, region: str) -> int:
    """A stable signed 64-bit advisory-lock key for one region's worker."""
    digest = hashlib.sha256(f"tongban:worker:{schema}:{region}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresWorkerLock:
    """The lock is one PostgreSQL session: it is used by one coroutine at a time, and once the
    lock is held it is never silently replaced — a new session would not hold the lock."""

    def __init__(self, dsn: str, schema: str, region: str, *,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.dsn = dsn
        self.key = advisory_key(schema, region)
        self.schema = schema
        self.poll_seconds = poll_seconds
        self.held = False
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._pid: int | None = None  # the session that holds the lock
        self._guard = asyncio.Lock()

    def describe(self) -> str:
        return f"PostgreSQL advisory lock {self.key} (schema {self.schema})"

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        """The session, opened if there is none (only while the lock is not held)."""
        if self._conn is None or self._conn.closed:
            # Keepalives: a half-open connection (server gone, no RST) is found within seconds.
            self._conn = await psycopg.AsyncConnection.connect(
                self.dsn, autocommit=True, connect_timeout=int(CHECK_TIMEOUT),
                keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2,
                application_name="tongban-worker-lock")
        return self._conn

    async def acquire(self, stopped: asyncio.Event) -> bool:
        said_standby = False
        while not stopped.is_set():
            try:
                async with self._guard:
                    conn = await self._connection()
                    row = await (await conn.execute(
                        "SELECT pg_try_advisory_lock(%s), pg_backend_pid()",
                        (self.key,))).fetchone()
                    if row is not None and row[0]:
                        self.held, self._pid = True, int(row[1])
                        log.info("worker lock held: %s, session pid %s", self.describe(),
                                 self._pid)
                        return True
                if not said_standby:
                    log.info("standby: another node holds %s; waiting", self.describe())
                    said_standby = True
            except (psycopg.Error, OSError) as exc:
                log.warning("worker lock: cannot reach PostgreSQL: %r; retrying", exc)
                await self._drop()
            await _sleep(stopped, self.poll_seconds)
        return False

    async def watch(self, stopped: asyncio.Event) -> None:
        while not stopped.is_set():
            try:
                await asyncio.wait_for(self.probe(), CHECK_TIMEOUT)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                self.held = False
                log.error("worker lock LOST (%r): this node stops working", exc)
                await self._drop()
                return
            await _sleep(stopped, self.poll_seconds)

    async def probe(self) -> None:
        """The store answers; while the lock is held, on the very session that holds it."""
        async with self._guard:
            if not self.held:
                await (await self._connection()).execute("SELECT 1")
                return
            conn = self._conn
            if conn is None or conn.closed:
                raise psycopg.OperationalError("the session holding the lock is closed")
            row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
            if row is None or row[0] != self._pid:
                raise psycopg.OperationalError(f"the lock's session {self._pid} was replaced")

    async def release(self) -> None:
        self.held = False
        await self._drop()  # closing the session releases the lock

    async def _drop(self) -> None:
        conn, self._conn, self._pid = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


class FileWorkerLock:
    def __init__(self, path: Path, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.path = path
        self.poll_seconds = poll_seconds
        self.held = False
        self._lock = filelock.FileLock(path, thread_local=False, fallback_to_soft=False,
                                       preserve_lock_file=True)
        self._inode: int | None = None

    def describe(self) -> str:
        return f"file lock {self.path}"

    async def acquire(self, stopped: asyncio.Event) -> bool:
        said_standby = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while not stopped.is_set():
            try:
                self._lock.acquire(timeout=0)
            except filelock.Timeout:
                if not said_standby:
                    log.info("standby: another node holds %s; waiting", self.describe())
                    said_standby = True
                await _sleep(stopped, self.poll_seconds)
                continue
            self._inode = self.path.stat().st_ino
            self.held = True
            log.info("worker lock held: %s", self.describe())
            return True
        return False

    async def watch(self, stopped: asyncio.Event) -> None:
        while not stopped.is_set():
            try:
                same = self.path.stat().st_ino == self._inode
            except OSError:
                same = False
            if not same:
                self.held = False
                log.error("worker lock LOST (%s was deleted or replaced): this node stops "
                          "working", self.path)
                return
            await _sleep(stopped, self.poll_seconds)

    async def probe(self) -> None:
        if not os.access(self.path.parent, os.W_OK):
            raise OSError(f"{self.path.parent} is not writable")

    async def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)
        self.held = False


class ProcessLocalLock:
    """An in-memory store lives and dies with its process: there is nothing to share."""

    def __init__(self) -> None:
        self.held = False

    def describe(self) -> str:
        return "no lock (in-memory store)"

    async def acquire(self, stopped: asyncio.Event) -> bool:
        self.held = True
        return True

    async def watch(self, stopped: asyncio.Event) -> None:
        await stopped.wait()

    async def probe(self) -> None:
        return None

    async def release(self) -> None:
        self.held = False


async def _sleep(stopped: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopped.wait(), seconds)


def worker_lock_for(region: str, store: object, dsn: str = "") -> WorkerLock:
    """The lock that fits a node's store: advisory (PostgreSQL), file (SQLite), none (memory)."""
    from regions.adapters.stores.sql import PostgresStore, SqliteStore

    if isinstance(store, PostgresStore):
        return PostgresWorkerLock(dsn or store.dsn, store.schema_for(region), region)
    if isinstance(store, SqliteStore):
        path = store.path_for(region)
        return FileWorkerLock(path.with_name(path.name + ".lock"))
    return ProcessLocalLock()
