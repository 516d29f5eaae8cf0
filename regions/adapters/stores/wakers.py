"""Commit wakers (`regions.core.ports.CommitWaker`): tell the outbox relay that *some* process
committed to a region's event store.

Why: the relay publishes whatever the store has committed. Inside one process the decision core
already tells the driver after each commit, but API processes scale out and write to the same
store, and their commits must reach the relay too. Rather than polling the notification log
tightly, the node's relay waits on a waker (`on_commit` = the driver's thread-safe
`wake_tailers`, or `wait()` on the `committed` event) with a slow fallback poll as a safety net:
a waker shortens latency, it is never what correctness rests on.

- PostgreSQL: the library runs `NOTIFY <channel>` inside every insert transaction, so listeners
  hear of it at commit. `PostgresWaker` LISTENs on a connection of its own (outside the pool,
  which it would otherwise hold forever). If that connection dies it reconnects with backoff and
  fires once, since commits may have happened while nobody listened.
- SQLite has no notifications: `SqlitePollingWaker` reads the newest notification id (`MAX(rowid)`,
  O(1)) on a read-only connection every `interval_s` and fires when it grows.

Threads live only here: each waker runs one daemon thread, started by `start()` (which returns
once the waker is listening, so no commit after `start()` goes unseen) and joined by `stop()`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg
from psycopg import sql

log = logging.getLogger("tongban.store.waker")


class _WakerThread:
    """The shared lifecycle: one daemon thread, a `ready` event, a `committed` event."""

    def __init__(self, on_commit: Callable[[], None] | None, name: str) -> None:
        self.on_commit = on_commit
        self.committed = threading.Event()
        self.ready = threading.Event()
        self.fired = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run_guarded, name=name, daemon=True)

    def start(self, timeout_s: float = 10.0) -> None:
        """Start, and return once the waker watches (raises `TimeoutError` if it cannot)."""
        self._thread.start()
        if not self.ready.wait(timeout_s):
            self.stop()
            raise TimeoutError(f"{self._thread.name}: not watching after {timeout_s} s")

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def wait(self, timeout_s: float) -> bool:
        """Wait for a commit; True if one came. Read the store *after* this returns."""
        fired = self.committed.wait(timeout_s)
        self.committed.clear()
        return fired

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _fire(self) -> None:
        self.fired += 1
        self.committed.set()
        if self.on_commit is not None:
            try:
                self.on_commit()
            except Exception:
                log.exception("%s: on_commit callback failed", self._thread.name)

    def _run_guarded(self) -> None:
        try:
            self._run()
        except Exception:
            log.exception("%s stopped", self._thread.name)

    def _run(self) -> None:
        raise NotImplementedError


class PostgresWaker(_WakerThread):
    """LISTEN on a region's NOTIFY channel; reconnect and fire once if the connection drops."""

    def __init__(self, dsn: str, channel: str, on_commit: Callable[[], None] | None = None, *,
                 poll_s: float = 0.2, max_backoff_s: float = 2.0) -> None:
        super().__init__(on_commit, name=f"waker-{channel}")
        self.dsn = dsn
        self.channel = channel
        self.poll_s = poll_s
        self.max_backoff_s = max_backoff_s
        self.connections = 0
        self.backend_pid: int | None = None

    def _run(self) -> None:
        backoff = 0.05
        while not self._stopping.is_set():
            try:
                self._listen()
                backoff = 0.05
            except psycopg.Error as exc:
                log.warning("%s: %s; reconnecting in %.2f s", self._thread.name, exc, backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)

    def _listen(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self.backend_pid = conn.info.backend_pid
            self.connections += 1
            if self.connections > 1:
                self._fire()  # commits while we were away went unheard
            self.ready.set()
            while not self._stopping.is_set():
                for _ in conn.notifies(timeout=self.poll_s):
                    self._fire()


class SqlitePollingWaker(_WakerThread):
    """Poll a region's SQLite file for a larger newest notification id."""

    def __init__(self, path: Path, on_commit: Callable[[], None] | None = None, *,
                 interval_s: float = 0.2, table: str = "stored_events") -> None:
        super().__init__(on_commit, name=f"waker-{path.name}")
        self.path = path
        self.interval_s = interval_s
        self._query = f"SELECT MAX(rowid) FROM {table}"  # the library's fixed table name

    def _newest(self, conn: sqlite3.Connection | None) -> tuple[sqlite3.Connection | None, int]:
        """(connection, newest id); 0 while the file or table does not exist yet."""
        if conn is None:
            if not self.path.exists():
                return None, 0
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                   isolation_level=None)
        try:
            row = conn.execute(self._query).fetchone()
        except sqlite3.OperationalError:  # no table yet, or briefly locked: try again later
            return conn, 0
        return conn, int(row[0] or 0)

    def _run(self) -> None:
        conn, last = self._newest(None)
        self.ready.set()
        try:
            while not self._stopping.wait(self.interval_s):
                conn, newest = self._newest(conn)
                if newest > last:
                    self._fire()
                last = max(last, newest)
        finally:
            if conn is not None:
                conn.close()
