"""The document request/reply on `tb.v1.doc.<owner>` as JSON, for a fetcher in any language.

Request::

    {"requester": "<region code>", "case_id": "<uuid>", "doc_id": "sha256:<hex>", "offset": 0}

Reply: `{"ok": true, "doc_id", "sha256", "media_type", "size", "offset", "data"}` with `data`
the base64 of the bytes `offset…` (one chunk; `size` is the whole document's length, so the
fetcher asks again from `offset + len(chunk)` until it has `size` bytes), or `{"ok": false,
"error": {"code", "message", "field"}}`.

Whose inbox: the reply subject must lie under an inbox prefix of the requester's region — its
node's `_INBOX_<requester>.` or one of its back-ends' `_INBOX_<requester>_<backend>.` (a NATS
client sets it with its inbox prefix, e.g. nats-py `connect(inbox_prefix="_INBOX_610800_pension")`,
`regions.wire.subjects.inbox_prefix`). The shipped `nats.conf` lets each NATS user subscribe
only under its own prefix, so a region that names another as the requester never sees the
reply — the owner neither serves nor answers such a request (`foreign_reply_subject`).

Why chunks: NATS refuses a message over the server's `max_payload` (1 MiB by default) and scans
are often larger. The owner sizes each chunk to the connection's `max_payload` (at most
`MAX_CHUNK` bytes, base64 included), so a document of any allowed size travels in pieces of a
few hundred KiB and nothing needs raising `max_payload`, which costs every client memory. JSON
with base64 (a third larger than raw) keeps the contract one schema that any NATS client reads.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any, Final

from domain.payloads import encodable
from regions.core.documents import DocError, DocRequest
from regions.wire import subjects

#: Largest chunk of raw bytes one reply carries, whatever the server allows.
MAX_CHUNK: Final = 512 * 1024
#: Room left in a reply for everything but the base64 data (keys, ids, hash, media type).
REPLY_OVERHEAD: Final = 2048
MAX_DOC_ID: Final = 128
REQUEST_FIELDS: Final = frozenset({"requester", "case_id", "doc_id", "offset"})

@dataclass(frozen=True)
class DocChunk:
    doc_id: str
    sha256: str
    media_type: str
    size: int
    offset: int
    data: bytes


def inbox_prefix(region: str, backend: str | None = None) -> str:
    """The reply-subject prefix reserved to `region`'s node (or to one of its back-ends)."""
    return subjects.inbox_prefix(region, backend)


def check_reply_subject(reply: str, requester: str) -> None:
    owner = subjects.inbox_owner(reply)
    if owner is None or owner[0] != requester:
        raise DocError("foreign_reply_subject", f"the reply subject {reply!r} is not under an "
                       f"inbox prefix of region {requester} ({inbox_prefix(requester)}[_<backend>]"
                       f".): region {requester}'s replies go to its own inboxes", "requester")


def chunk_size(max_payload: int) -> int:
    """Raw bytes per reply so that the base64 reply fits `max_payload`."""
    room = (max_payload - REPLY_OVERHEAD) // 4 * 3
    if room < 1:
        raise ValueError(f"max_payload {max_payload} leaves no room for a chunk")
    return min(MAX_CHUNK, room)


def encode_request(request: DocRequest) -> bytes:
    return json.dumps(asdict(request)).encode()


def decode_request(raw: bytes) -> DocRequest:
    """Parse and validate; `DocError` names the field at fault."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise DocError("malformed_json", f"the request is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise DocError("invalid_request", "the request must be a JSON object")
    for key in body:
        if key not in REQUEST_FIELDS:
            raise DocError("unknown_field", f"unknown request field {key!r}", key)
    for key in ("requester", "case_id", "doc_id"):
        if body.get(key) is None:
            raise DocError("missing_field", f"{key} is required", key)
        if not isinstance(body[key], str):
            raise DocError("invalid_field", f"{key} must be a string, got {body[key]!r}", key)
    try:
        requester = subjects.region_code(body["requester"])
    except ValueError as exc:
        raise DocError("invalid_field", str(exc), "requester") from None
    case_id = body["case_id"]
    if not _is_uuid(case_id):
        raise DocError("invalid_field", f"case_id must be a UUID string, got {case_id!r}",
                       "case_id")
    doc_id = body["doc_id"]
    if not doc_id or len(doc_id) > MAX_DOC_ID or encodable(doc_id) != doc_id:
        raise DocError("invalid_field", f"doc_id must be 1-{MAX_DOC_ID} characters of UTF-8 "
                       "text", "doc_id")
    offset = body.get("offset", 0)
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise DocError("invalid_field", f"offset must be a non-negative integer, got {offset!r}",
                       "offset")
    return DocRequest(requester, case_id, doc_id, offset)


def encode_chunk(chunk: DocChunk) -> bytes:
    body = {"ok": True, "doc_id": chunk.doc_id, "sha256": chunk.sha256,
            "media_type": chunk.media_type, "size": chunk.size, "offset": chunk.offset,
            "data": base64.b64encode(chunk.data).decode("ascii")}
    return json.dumps(body, ensure_ascii=False).encode()


def encode_error(error: DocError) -> bytes:
    body = {"ok": False, "error": {"code": error.code, "message": str(error),
                                   "field": error.field}}
    return json.dumps(body, ensure_ascii=False).encode()


def decode_reply(raw: bytes) -> DocChunk:
    """A chunk, or the owner's refusal raised as `DocError`; `ValueError` if not a reply."""
    try:
        body: Any = json.loads(raw)
        if body["ok"] is not True:
            error = body["error"]
            raise DocError(error["code"], str(error["message"]), str(error.get("field") or ""))
        chunk = DocChunk(str(body["doc_id"]), str(body["sha256"]), str(body["media_type"]),
                         body["size"], body["offset"],
                         base64.b64decode(body["data"], validate=True))
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise ValueError(f"not a document reply: {exc!r}") from None
    for name in ("size", "offset"):
        value = getattr(chunk, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"not a document reply: {name} {value!r}")
    return chunk


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False
