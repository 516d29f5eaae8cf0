"""Blob stores (memory, filesystem) and material limits: content-addressed, atomic, refusing.

The PostgreSQL store runs the same contract in tests/integration/test_materials_pg.py.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from domain.values import MaterialRef
from regions.adapters.blobs.base import (
    BlobNotFound,
    BlobStore,
    MaterialLimits,
    MaterialRefused,
    MemoryBlobStore,
)
from regions.adapters.blobs.fs import FilesystemBlobStore
from regions.adapters.blobs.setup import blob_store_for
from regions.adapters.stores.sql import StoreConfigError
from regions.core.config import RegionConfig

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def stores(tmp_path: Path) -> dict[str, Callable[[MaterialLimits | None], BlobStore]]:
    return {"memory": MemoryBlobStore,
            "filesystem": lambda limits: FilesystemBlobStore(tmp_path / "blobs" / "150600",
                                                             limits)}


@pytest.fixture(params=["memory", "filesystem"])
def make(request: pytest.FixtureRequest, tmp_path: Path
         ) -> Callable[[MaterialLimits | None], BlobStore]:
    return stores(tmp_path)[request.param]


def test_put_returns_a_content_addressed_reference_with_every_field(
        make: Callable[[MaterialLimits | None], BlobStore]) -> None:
    store = make(None)
    ref = store.put(PDF, "application/pdf", " 居民身份证（正反面） ", kind="居民身份证")
    digest = hashlib.sha256(PDF).hexdigest()
    assert ref == MaterialRef(doc_id=f"sha256:{digest}", sha256=digest,
                              media_type="application/pdf", size=len(PDF),
                              title="居民身份证（正反面）", kind="居民身份证")
    assert store.read(ref.sha256) == PDF
    assert store.size(ref.sha256) == len(PDF)


def test_the_same_bytes_are_one_blob_and_different_bytes_another(
        make: Callable[[MaterialLimits | None], BlobStore]) -> None:
    store = make(None)
    first = store.put(PDF, "application/pdf", "申请表")
    again = store.put(PDF, "application/pdf", "申请表（复印）")
    other = store.put(PDF + b"x", "application/pdf", "申请表")
    assert first.doc_id == again.doc_id and first.title != again.title
    assert other.doc_id != first.doc_id


def test_ranges_read_exactly_the_bytes_asked_for(
        make: Callable[[MaterialLimits | None], BlobStore]) -> None:
    store = make(None)
    sha = store.put(PDF, "application/pdf", "t").sha256
    assert store.read(sha, 0, 5) == b"%PDF-"
    assert store.read(sha, 100, 1000) == PDF[100:1100]
    assert store.read(sha, len(PDF) - 3) == PDF[-3:]
    assert store.read(sha, len(PDF), 10) == b""
    with pytest.raises(ValueError):
        store.read(sha, -1, 10)


def test_an_unknown_hash_is_not_found_and_a_malformed_one_refused(
        make: Callable[[MaterialLimits | None], BlobStore]) -> None:
    store = make(None)
    with pytest.raises(BlobNotFound):
        store.read("0" * 64)
    with pytest.raises(BlobNotFound):
        store.size("0" * 64)
    with pytest.raises(ValueError, match="64 lowercase hex"):
        store.read("../../etc/passwd")


@pytest.mark.parametrize(("data", "media_type", "code"), [
    (PDF + b"x" * 2000, "application/pdf", "document_too_large"),
    (b"", "application/pdf", "empty_document"),
    (b"GIF89a...", "image/gif", "media_type_not_allowed"),
    (PNG, "application/pdf", "media_type_mismatch"),
    (b"PK\x03\x04", "image/jpeg", "media_type_mismatch"),
])
def test_limits_refuse_with_a_stable_code_and_store_nothing(
        make: Callable[[MaterialLimits | None], BlobStore], data: bytes, media_type: str,
        code: str) -> None:
    store = make(MaterialLimits.of(len(PDF) + 1000, ["application/pdf", "image/jpeg"]))
    with pytest.raises(MaterialRefused) as refused:
        store.put(data, media_type, "扫描件")
    assert refused.value.code == code
    with pytest.raises(BlobNotFound):
        store.size(hashlib.sha256(data).hexdigest())


def test_a_document_of_exactly_the_maximum_size_is_taken(
        make: Callable[[MaterialLimits | None], BlobStore]) -> None:
    store = make(MaterialLimits.of(len(PDF), ["application/pdf"]))
    assert store.put(PDF, "application/pdf", "t").size == len(PDF)


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
def test_a_document_needs_a_title(make: Callable[[MaterialLimits | None], BlobStore],
                                  title: str) -> None:
    with pytest.raises(MaterialRefused) as refused:
        make(None).put(PDF, "application/pdf", title)
    assert refused.value.code == "invalid_title"


def test_limits_themselves_must_be_sane() -> None:
    with pytest.raises(ValueError):
        MaterialLimits.of(0, ["application/pdf"])
    with pytest.raises(ValueError):
        MaterialLimits.of(10, [])
    with pytest.raises(ValueError):
        MaterialLimits.of(10, ["PDF"])


def test_filesystem_files_are_named_by_hash_in_the_region_directory_and_no_temp_is_left(
        tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "150600")
    ref = store.put(PDF, "application/pdf", "t")
    assert sorted(os.listdir(tmp_path / "150600")) == [ref.sha256]
    assert (tmp_path / "150600" / ref.sha256).read_bytes() == PDF


def test_filesystem_put_heals_a_corrupted_blob_and_keeps_a_good_one(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "150600")
    ref = store.put(PDF, "application/pdf", "t")
    path = tmp_path / "150600" / ref.sha256
    before = path.stat().st_ino
    store.put(PDF, "application/pdf", "t")
    assert path.stat().st_ino == before  # intact: not rewritten
    path.write_bytes(b"%PDF-tampered")
    store.put(PDF, "application/pdf", "t")
    assert path.read_bytes() == PDF


def test_filesystem_write_failure_leaves_neither_a_blob_nor_a_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FilesystemBlobStore(tmp_path / "150600")

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        store.put(PDF, "application/pdf", "t")
    assert os.listdir(tmp_path / "150600") == []


def test_node_settings_choose_the_store_and_the_limits(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_MATERIAL_MEDIA_TYPES", "application/pdf, image/png")
    monkeypatch.setenv("TONGBAN_MATERIAL_MAX_BYTES", "5000")
    config = RegionConfig(region="150600", store="sqlite", blob_dir=tmp_path)
    store = blob_store_for(config)
    assert isinstance(store, FilesystemBlobStore)
    assert store.directory == tmp_path / "150600"
    assert store.limits == MaterialLimits.of(5000, ["application/pdf", "image/png"])
    assert isinstance(blob_store_for(RegionConfig(region="150600")), MemoryBlobStore)
    with pytest.raises(StoreConfigError, match="--dsn"):
        blob_store_for(RegionConfig(region="150600", blob_store="postgres"))
    monkeypatch.setenv("TONGBAN_MATERIAL_MEDIA_TYPES", "PDF")
    with pytest.raises(StoreConfigError, match="material limits"):
        blob_store_for(RegionConfig(region="150600"))
