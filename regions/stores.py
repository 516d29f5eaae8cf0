"""Event-store choices for a node: in memory (simulator), SQLite and PostgreSQL (`stores_sql`).

A store opens one region's ledger; opening it again is a restart and must see everything that
was committed. Durable stores also hand out a commit waker, so the relay can wait for commits
made by other processes (API workers) instead of polling the notification log tightly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from eventsourcing.persistence import ApplicationRecorder

from regions.commit_wakers import CommitWaker
from regions.config import RegionConfig
from regions.ledger import RegionLedger
from regions.stores_sql import PostgresStore, SqliteStore, StoreConfigError


class Store(Protocol):
    """Opens a region's ledger; opening again after a crash sees everything committed before."""

    def open(self, region: str) -> RegionLedger: ...


@runtime_checkable
class DurableStore(Store, Protocol):
    """A store other processes can write to: it wakes the relay and releases its connections."""

    def waker(self, region: str, on_commit: Callable[[], None] | None = None) -> CommitWaker: ...

    def close(self) -> None: ...


class MemoryStore:
    """One in-memory (POPO) store per region that survives the node's simulated restarts."""

    def __init__(self) -> None:
        self._recorders: dict[str, ApplicationRecorder] = {}

    def open(self, region: str) -> RegionLedger:
        recorder = self._recorders.get(region)
        app = RegionLedger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, recorder=recorder)
        self._recorders[region] = app.recorder
        return app


def store_for(config: RegionConfig) -> Store:
    """The store a node's settings name (`--store`, `--dsn`, `--schema`, `--sqlite-dir`)."""
    if config.store == "memory":
        return MemoryStore()
    if config.store == "sqlite":
        return SqliteStore(config.sqlite_dir)
    if not config.dsn:
        raise StoreConfigError("--store postgres needs --dsn (or TONGBAN_DSN)")
    names = {config.region: config.schema_name} if config.schema_name else None
    return PostgresStore(config.dsn, schema_names=names)
