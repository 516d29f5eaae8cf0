"""Blobs as files: one directory per region, one file per document, named by its SHA-256.

Why write through a temporary file, fsync and rename: a crash mid-write must never leave a
file under a hash whose bytes it does not hold, and a reader must never see half a document.
`os.replace` is atomic within a directory; the directory is fsynced too, so the new name
survives a power cut. A blob already present with the right bytes is not rewritten (content
addressing deduplicates); one whose bytes no longer match (disk corruption, tampering) is
replaced by the fresh upload.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from regions.adapters.blobs.base import (
    BlobNotFound,
    BlobStoreBase,
    MaterialLimits,
    check_range,
    check_sha256,
)

_HASH_BLOCK = 1024 * 1024


class FilesystemBlobStore(BlobStoreBase):
    """The region's directory (`--blob-dir/<region>`), created on first write."""

    def __init__(self, directory: Path | str, limits: MaterialLimits | None = None) -> None:
        super().__init__(limits)
        self.directory = Path(directory)

    def path_for(self, sha256: str) -> Path:
        return self.directory / check_sha256(sha256)

    def _write(self, sha256: str, data: bytes) -> None:
        path = self.path_for(sha256)
        if path.is_file() and _file_sha256(path) == sha256:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{sha256[:16]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_directory(self.directory)

    def read(self, sha256: str, offset: int = 0, length: int = -1) -> bytes:
        check_range(offset, length)
        try:
            with self.path_for(sha256).open("rb") as blob:
                blob.seek(offset)
                return blob.read(length)
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None

    def size(self, sha256: str) -> int:
        try:
            return self.path_for(sha256).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as blob:
        while chunk := blob.read(_HASH_BLOCK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
