"""The event store a node's settings name (`--store`, `--dsn`, `--schema`, `--sqlite-dir`)."""

from __future__ import annotations

from regions.adapters.stores.memory import MemoryStore
from regions.adapters.stores.sql import PostgresStore, SqliteStore, StoreConfigError
from regions.core.config import RegionConfig
from regions.core.ports import Store


def store_for(config: RegionConfig) -> Store:
    """The store a node's settings name (`--store`, `--dsn`, `--schema`, `--sqlite-dir`)."""
    if config.store == "memory":
        return MemoryStore(cipher_key=config.cipher_key)
    if config.store == "sqlite":
        return SqliteStore(config.sqlite_dir, cipher_key=config.cipher_key)
    if not config.dsn:
        raise StoreConfigError("--store postgres needs --dsn (or TONGBAN_DSN)")
    names = {config.region: config.schema_name} if config.schema_name else None
    return PostgresStore(config.dsn, schema_names=names, cipher_key=config.cipher_key)
