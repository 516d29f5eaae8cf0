"""The blob store a node's settings name (`TONGBAN_BLOB_STORE`, `_BLOB_DIR`, `_MATERIAL_*`).

`auto` keeps documents next to the events: memory with the memory store (simulator, tests),
files beside SQLite, a table in the region's own schema with PostgreSQL (same schema name as
the event store, so one backup holds both). PostgreSQL set-up (schema and table) runs here,
at node start, like the event store's.
"""

from __future__ import annotations

from regions.adapters.blobs.base import BlobStore, MaterialLimits, MemoryBlobStore
from regions.adapters.blobs.fs import FilesystemBlobStore
from regions.adapters.blobs.pg import PostgresBlobStore
from regions.adapters.stores.sql import PostgresStore, StoreConfigError
from regions.core.config import RegionConfig

_AUTO = {"memory": "memory", "sqlite": "filesystem", "postgres": "postgres"}


def limits_of(config: RegionConfig) -> MaterialLimits:
    try:
        return MaterialLimits.of(config.material_max_bytes, config.material_media_types)
    except ValueError as exc:
        raise StoreConfigError(f"material limits: {exc}") from None


def blob_store_for(config: RegionConfig, store: object = None) -> BlobStore:
    """Build (and for PostgreSQL set up) the region's blob store; `store` is its event store."""
    kind = _AUTO[config.store] if config.blob_store == "auto" else config.blob_store
    limits = limits_of(config)
    if kind == "memory":
        return MemoryBlobStore(limits)
    if kind == "filesystem":
        return FilesystemBlobStore(config.blob_dir / config.region, limits)
    if not config.dsn:
        raise StoreConfigError("the postgres blob store needs --dsn (or TONGBAN_DSN)")
    schema = (store.schema_for(config.region) if isinstance(store, PostgresStore)
              else config.schema_name or f"tb_{config.region}")
    return PostgresBlobStore(config.dsn, schema, limits).setup()
