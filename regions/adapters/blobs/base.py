"""The blob store port, the configured limits, and the in-memory store (simulator, tests).

Why content addressing: an event is immutable, so the bytes it names must be too. The store
keys bytes by their SHA-256 and the `doc_id` is derived from it ("sha256:<hex>"), so the same
scan stored twice is one blob, a reference can never come to mean other bytes, and whoever
fetches a document can check it against the `sha256` its own recorded event carries.

Limits are checked before anything is written: a scan over the configured size, a media type
the region does not accept, or bytes that do not look like the type they claim (a "PDF" that
does not start with `%PDF-`) is refused with `MaterialRefused` and a stable code.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

from domain.kernel import DomainError
from domain.values import MaterialRef

DOC_ID_PREFIX: Final = "sha256:"
DEFAULT_MAX_BYTES: Final = 20 * 1024 * 1024
#: What windows scan to: PDF, OFD (GB/T 33190, the national e-document format), JPEG, PNG, TIFF.
DEFAULT_MEDIA_TYPES: Final = (
    "application/pdf", "application/ofd", "image/jpeg", "image/png", "image/tiff")
MAX_TITLE: Final = 200
#: Leading bytes of the types we can recognise; a type not listed here is not sniffed.
MAGIC: Final[dict[str, tuple[bytes, ...]]] = {
    "application/pdf": (b"%PDF-",),
    "application/ofd": (b"PK\x03\x04",),  # an OFD document is a ZIP container
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")


class MaterialRefused(DomainError):
    """A document the store will not take (too big, wrong type, empty, no title)."""

    code = "material_refused"


class BlobNotFound(LookupError):
    """The store holds no bytes under this hash."""


def check_sha256(value: str) -> str:
    if not isinstance(value, str) or not _SHA256_HEX.fullmatch(value):
        raise ValueError(f"sha256 must be 64 lowercase hex characters, got {value!r}")
    return value


def doc_id_for(sha256: str) -> str:
    """The content-addressed document id: "sha256:<hex>"."""
    return DOC_ID_PREFIX + check_sha256(sha256)


@dataclass(frozen=True)
class MaterialLimits:
    """What a region accepts: at most `max_bytes` per document, of one of `media_types`."""

    max_bytes: int = DEFAULT_MAX_BYTES
    media_types: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_MEDIA_TYPES))

    def __post_init__(self) -> None:
        if isinstance(self.max_bytes, bool) or not isinstance(self.max_bytes, int) \
                or self.max_bytes < 1:
            raise ValueError(f"max_bytes must be a positive integer, got {self.max_bytes!r}")
        bad = sorted(t for t in self.media_types if not _MEDIA_TYPE.fullmatch(t))
        if bad or not self.media_types:
            raise ValueError(f"media types must be lower-case type/subtype names, got "
                             f"{sorted(self.media_types)!r}")

    @classmethod
    def of(cls, max_bytes: int, media_types: Iterable[str]) -> MaterialLimits:
        return cls(max_bytes, frozenset(media_types))

    def check(self, data: bytes, media_type: str) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MaterialRefused(f"a document is bytes, got {type(data).__name__}",
                                  code="invalid_document")
        size = len(data)
        if size == 0:
            raise MaterialRefused("the document is empty", code="empty_document")
        if size > self.max_bytes:
            raise MaterialRefused(f"the document has {size} bytes; this region accepts at most "
                                  f"{self.max_bytes}", code="document_too_large")
        if media_type not in self.media_types:
            raise MaterialRefused(
                f"media type {media_type!r} is not accepted here; allowed: "
                f"{', '.join(sorted(self.media_types))}", code="media_type_not_allowed")
        magic = MAGIC.get(media_type, ())
        if magic and not any(bytes(data[:len(m)]) == m for m in magic):
            raise MaterialRefused(f"the bytes are not {media_type} (they do not start like one)",
                                  code="media_type_mismatch")


@runtime_checkable
class BlobStore(Protocol):
    """A region's document bytes, keyed by SHA-256. `put` checks the limits first."""

    limits: MaterialLimits

    def put(self, data: bytes, media_type: str, title: str, *, kind: str = "") -> MaterialRef: ...

    def read(self, sha256: str, offset: int = 0, length: int = -1) -> bytes:
        """Bytes `offset…offset+length` (all the rest for -1); `BlobNotFound` if absent."""
        ...

    def size(self, sha256: str) -> int:
        """The stored length; `BlobNotFound` if absent."""
        ...


class BlobStoreBase:
    """`put` for every store: check, hash, build the reference, then `_write` the bytes."""

    def __init__(self, limits: MaterialLimits | None = None) -> None:
        self.limits = limits or MaterialLimits()

    def put(self, data: bytes, media_type: str, title: str, *, kind: str = "") -> MaterialRef:
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
            raise MaterialRefused(f"a document needs a title of 1-{MAX_TITLE} characters, got "
                                  f"{title!r}", code="invalid_title")
        if not isinstance(kind, str):
            raise MaterialRefused(f"material kind must be a string, got {kind!r}",
                                  code="invalid_kind")
        self.limits.check(data, media_type)
        blob = bytes(data)
        sha = hashlib.sha256(blob).hexdigest()
        self._write(sha, blob)
        return MaterialRef(doc_id=doc_id_for(sha), sha256=sha, media_type=media_type,
                           size=len(blob), title=title.strip(), kind=kind)

    def _write(self, sha256: str, data: bytes) -> None:
        raise NotImplementedError


def check_range(offset: int, length: int) -> None:
    if offset < 0 or length < -1:
        raise ValueError(f"bad range: offset {offset}, length {length}")


class MemoryBlobStore(BlobStoreBase):
    """Bytes in a dict: the simulator's store, gone with the process."""

    def __init__(self, limits: MaterialLimits | None = None) -> None:
        super().__init__(limits)
        self.blobs: dict[str, bytes] = {}

    def _write(self, sha256: str, data: bytes) -> None:
        self.blobs[sha256] = data

    def read(self, sha256: str, offset: int = 0, length: int = -1) -> bytes:
        check_range(offset, length)
        try:
            blob = self.blobs[check_sha256(sha256)]
        except KeyError:
            raise BlobNotFound(sha256) from None
        return blob[offset:] if length == -1 else blob[offset:offset + length]

    def size(self, sha256: str) -> int:
        try:
            return len(self.blobs[check_sha256(sha256)])
        except KeyError:
            raise BlobNotFound(sha256) from None
