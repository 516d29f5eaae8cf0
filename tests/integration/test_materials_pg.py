"""The PostgreSQL blob store: a `materials` table in the region's own schema, same contract as the
memory and filesystem stores (tests/unit/test_materials.py), set up by the node's settings."""

from __future__ import annotations

import hashlib

import psycopg
import pytest
from psycopg import sql

from regions.adapters.blobs.base import BlobNotFound, MaterialLimits, MaterialRefused
from regions.adapters.blobs.pg import TABLE, PostgresBlobStore
from regions.adapters.blobs.setup import blob_store_for
from regions.adapters.stores.sql import PostgresStore
from regions.core.config import RegionConfig

pytestmark = pytest.mark.timeout(60)

REGION = "150600"
SCAN = b"%PDF-1.7\n" + bytes(range(256)) * 400


@pytest.fixture
def blobs(postgres_store: PostgresStore) -> PostgresBlobStore:
    """Set up as a node does, in the schema its event store uses for the region."""
    config = RegionConfig(region=REGION, store="postgres", dsn=postgres_store.dsn,
                          material_max_bytes=len(SCAN) + 10)
    store = blob_store_for(config, postgres_store)
    assert isinstance(store, PostgresBlobStore)
    return store


def test_the_table_lives_in_the_regions_schema_and_set_up_is_idempotent(
        blobs: PostgresBlobStore, postgres_store: PostgresStore) -> None:
    assert blobs.schema == postgres_store.schema_for(REGION)
    blobs.setup()
    ref = blobs.put(SCAN, "application/pdf", "申请表")
    blobs.setup()  # again, with data in it
    with psycopg.connect(postgres_store.dsn) as conn:
        count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(blobs.schema, TABLE))).fetchone()
    assert count == (1,)
    assert blobs.read(ref.sha256) == SCAN


def test_put_read_and_ranges(blobs: PostgresBlobStore) -> None:
    ref = blobs.put(SCAN, "application/pdf", "居民身份证", kind="居民身份证")
    assert ref.sha256 == hashlib.sha256(SCAN).hexdigest() and ref.size == len(SCAN)
    assert ref.doc_id == "sha256:" + ref.sha256
    assert blobs.size(ref.sha256) == len(SCAN)
    assert blobs.read(ref.sha256, 0, 5) == b"%PDF-"
    assert blobs.read(ref.sha256, 1000, 3000) == SCAN[1000:4000]
    assert blobs.read(ref.sha256, len(SCAN) - 7) == SCAN[-7:]
    assert blobs.read(ref.sha256, len(SCAN), 10) == b""
    assert blobs.put(SCAN, "application/pdf", "again").doc_id == ref.doc_id
    with pytest.raises(BlobNotFound):
        blobs.read("0" * 64)
    with pytest.raises(BlobNotFound):
        blobs.size("0" * 64)


def test_limits_refuse_before_anything_is_written(blobs: PostgresBlobStore) -> None:
    for data, media_type, code in [(SCAN + b"x" * 20, "application/pdf", "document_too_large"),
                                   (b"\x89PNG\r\n\x1a\n", "application/pdf",
                                    "media_type_mismatch"),
                                   (SCAN, "text/html", "media_type_not_allowed")]:
        with pytest.raises(MaterialRefused) as refused:
            blobs.put(data, media_type, "t")
        assert refused.value.code == code
        with pytest.raises(BlobNotFound):
            blobs.size(hashlib.sha256(data).hexdigest())


def test_a_row_whose_bytes_no_longer_match_is_replaced_by_a_fresh_upload(
        blobs: PostgresBlobStore, postgres_store: PostgresStore) -> None:
    ref = blobs.put(SCAN, "application/pdf", "t")
    with psycopg.connect(postgres_store.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("UPDATE {} SET data = %s WHERE sha256 = %s").format(
            sql.Identifier(blobs.schema, TABLE)), (b"%PDF-tampered", ref.sha256))
    assert blobs.read(ref.sha256) == b"%PDF-tampered"  # served as stored: the fetcher checks
    blobs.put(SCAN, "application/pdf", "t")
    assert blobs.read(ref.sha256) == SCAN


def test_a_store_built_without_the_event_store_uses_the_configured_schema(
        postgres_store: PostgresStore) -> None:
    schema = postgres_store.schema_prefix + "blobs_only"
    config = RegionConfig(region=REGION, store="postgres", dsn=postgres_store.dsn,
                          schema=schema)
    store = blob_store_for(config)
    assert isinstance(store, PostgresBlobStore) and store.schema == schema
    assert store.put(SCAN, "application/pdf", "t").size == len(SCAN)
    assert MaterialLimits() == store.limits
