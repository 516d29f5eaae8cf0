"""Blobs in PostgreSQL: a `materials` table (bytea) in the region's schema.

Why this shape: the region's events and its documents then share one backup and one set of
credentials. Set-up (`setup()`, run by the node at start) creates the schema and table if they
are missing, under the same kind of advisory lock the event store takes, because concurrent
`CREATE … IF NOT EXISTS` races in PostgreSQL's catalogue. The column is stored `EXTERNAL`
(out of line, uncompressed): scans are compressed already, and `substring()` then reads only
the pages of the chunk asked for. Each call takes a short-lived connection of its own, outside
the event store's pool, so a slow download never holds a connection the inbox needs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import psycopg
from psycopg import sql

from regions.adapters.blobs.base import (
    BlobNotFound,
    BlobStoreBase,
    MaterialLimits,
    check_range,
    check_sha256,
)

TABLE: Final = "materials"


class PostgresBlobStore(BlobStoreBase):
    def __init__(self, dsn: str, schema: str, limits: MaterialLimits | None = None, *,
                 connect_timeout_s: int = 10) -> None:
        super().__init__(limits)
        self.dsn = dsn
        self.schema = schema
        self.connect_timeout_s = connect_timeout_s
        self._table = sql.Identifier(schema, TABLE)

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection[Any]]:
        with psycopg.connect(self.dsn, autocommit=True,
                             connect_timeout=self.connect_timeout_s) as conn:
            yield conn

    def setup(self) -> PostgresBlobStore:
        """Create the schema and the table if missing (idempotent; safe to race)."""
        with self._connect() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_setup_lock_key(self.schema),))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                sql.Identifier(self.schema)))
            conn.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                " sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{{64}}$'),"
                " data bytea NOT NULL,"
                " stored_at timestamptz NOT NULL DEFAULT now())").format(self._table))
            conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN data SET STORAGE EXTERNAL").format(
                self._table))
        return self

    def _write(self, sha256: str, data: bytes) -> None:
        # A stored row whose bytes no longer hash to its key is replaced by the fresh upload.
        with self._connect() as conn:
            conn.execute(sql.SQL(
                "INSERT INTO {t} (sha256, data) VALUES (%s, %s) ON CONFLICT (sha256) DO UPDATE"
                " SET data = EXCLUDED.data, stored_at = now()"
                " WHERE encode(sha256({t}.data), 'hex') <> {t}.sha256").format(t=self._table),
                (sha256, data))

    def read(self, sha256: str, offset: int = 0, length: int = -1) -> bytes:
        check_range(offset, length)
        check_sha256(sha256)
        with self._connect() as conn:
            if length == -1:
                row = conn.execute(sql.SQL("SELECT substring(data FROM %s) FROM {} "
                                           "WHERE sha256 = %s").format(self._table),
                                   (offset + 1, sha256)).fetchone()
            else:
                row = conn.execute(sql.SQL("SELECT substring(data FROM %s FOR %s) FROM {} "
                                           "WHERE sha256 = %s").format(self._table),
                                   (offset + 1, length, sha256)).fetchone()
        if row is None:
            raise BlobNotFound(sha256)
        return bytes(row[0])

    def size(self, sha256: str) -> int:
        check_sha256(sha256)
        with self._connect() as conn:
            row = conn.execute(sql.SQL("SELECT octet_length(data) FROM {} WHERE sha256 = %s")
                               .format(self._table), (sha256,)).fetchone()
        if row is None:
            raise BlobNotFound(sha256)
        return int(row[0])


def _setup_lock_key(schema: str) -> int:
    digest = hashlib.sha256(f"tongban:store-setup:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
