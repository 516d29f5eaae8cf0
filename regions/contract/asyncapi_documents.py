"""The document request/reply (`tb.v1.doc.<owner>`) in the AsyncAPI document.

Kept apart from `regions.contract.asyncapi` so the materials contract sits next to nothing else;
`build_document` merges it in. The payload schemas are self-contained (no `$ref`), so a test can
validate what `regions.wire.documents` really encodes against them.
"""

from __future__ import annotations

from typing import Any, Final

from regions.core.documents import ERROR_CODES
from regions.wire.documents import MAX_CHUNK, MAX_DOC_ID

DOCUMENTS_CHANNEL: Final = "regionDocuments"
DOCUMENT_REPLIES_CHANNEL: Final = "documentReplies"
DOCUMENT_REQUEST: Final = "DocumentRequest"
DOCUMENT_REPLY: Final = "DocumentReply"

_REGION = {"type": "string", "pattern": "^[0-9]{6}$"}
_SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}

REQUEST_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["requester", "case_id", "doc_id"],
    "properties": {
        "requester": {**_REGION, "description": "The asking region; the reply subject must lie "
                                                 "under one of its inbox prefixes, "
                                                 "`_INBOX_<requester>_<backend>.` (a back-end) "
                                                 "or `_INBOX_<requester>.` (its node)"},
        "case_id": {"type": "string", "format": "uuid",
                    "description": "The joint case whose recorded events name the document."},
        "doc_id": {"type": "string", "minLength": 1, "maxLength": MAX_DOC_ID,
                   "description": "As in the case's `MaterialRef` (\"sha256:<hex>\")."},
        "offset": {"type": "integer", "minimum": 0, "default": 0,
                   "description": "First byte wanted; ask again from offset + chunk length "
                                  "until `size` bytes have arrived."},
    },
}

REPLY_SCHEMA: Final[dict[str, Any]] = {"oneOf": [
    {"type": "object", "additionalProperties": False,
     "required": ["ok", "doc_id", "sha256", "media_type", "size", "offset", "data"],
     "properties": {
         "ok": {"const": True},
         "doc_id": {"type": "string"},
         "sha256": {**_SHA256, "description": "As the owner recorded it; the fetcher checks the "
                                              "bytes against its *own* record instead."},
         "media_type": {"type": "string"},
         "size": {"type": "integer", "minimum": 0, "description": "The whole document's bytes."},
         "offset": {"type": "integer", "minimum": 0},
         "data": {"type": "string", "contentEncoding": "base64",
                  "description": f"At most {MAX_CHUNK} bytes (fewer if the server's "
                                 "max_payload is small), base64."},
     }},
    {"type": "object", "additionalProperties": False, "required": ["ok", "error"],
     "properties": {
         "ok": {"const": False},
         "error": {"type": "object", "additionalProperties": False,
                   "required": ["code", "message", "field"],
                   "properties": {"code": {"type": "string", "enum": list(ERROR_CODES)},
                                  "message": {"type": "string"},
                                  "field": {"type": "string"}}},
     }},
]}

_DESCRIPTION: Final = (
    "A counterpart fetches a scanned document of a joint case from the region that holds it "
    "(plain JSON request/reply, not CloudEvents). The owner serves it only to a region that "
    "takes part in a case whose recorded events name the `doc_id`; anyone else gets "
    "`forbidden`, whether or not the case exists. Replies go only to the requester's own "
    "inbox prefixes `_INBOX_<requester>[_<backend>]` (each NATS user may subscribe only under "
    "its own); a request pointing elsewhere is neither served nor answered; "
    "requests are not yet signed. Documents travel in chunks that fit the server's "
    "`max_payload`. The fetcher checks `size` and the SHA-256 of the assembled bytes against "
    "the `MaterialRef` in its own store and refuses a mismatch.")


def add_materials(document: dict[str, Any]) -> dict[str, Any]:
    """Add the channels, operations and messages of the document request/reply."""
    request_ref = [{"$ref": f"#/channels/{DOCUMENTS_CHANNEL}/messages/{DOCUMENT_REQUEST}"}]
    reply = {"channel": {"$ref": f"#/channels/{DOCUMENT_REPLIES_CHANNEL}"},
             "messages": [{"$ref": f"#/channels/{DOCUMENT_REPLIES_CHANNEL}/messages/"
                                   f"{DOCUMENT_REPLY}"}]}
    document["channels"][DOCUMENTS_CHANNEL] = {
        "address": "tb.v1.doc.{region}",
        "title": "Documents of a region",
        "description": _DESCRIPTION,
        "parameters": {"region": {"description": "the region holding the document: six-digit "
                                                 "GB/T 2260 code"}},
        "messages": {DOCUMENT_REQUEST: {"$ref": f"#/components/messages/{DOCUMENT_REQUEST}"}},
    }
    document["channels"][DOCUMENT_REPLIES_CHANNEL] = {
        "address": None,
        "title": "Reply with a document chunk",
        "description": "The requester's NATS inbox, under `_INBOX_<requester>_<backend>.` "
                       "(nats-py: `connect(inbox_prefix=\"_INBOX_610800_pension\")`).",
        "messages": {DOCUMENT_REPLY: {"$ref": f"#/components/messages/{DOCUMENT_REPLY}"}},
    }
    document["operations"]["requestDocument"] = {
        "action": "send",
        "channel": {"$ref": f"#/channels/{DOCUMENTS_CHANNEL}"},
        "summary": "A counterpart asks for one chunk of a document of a joint case.",
        "messages": request_ref,
        "reply": reply,
    }
    document["operations"]["serveDocuments"] = {
        "action": "receive",
        "channel": {"$ref": f"#/channels/{DOCUMENTS_CHANNEL}"},
        "summary": "The region's document endpoints (a queue group) check the case in the "
                   "store, then reply with the chunk from the region's blob store.",
        "messages": request_ref,
        "reply": reply,
        "bindings": {"nats": {"queue": "tb_doc_{region}", "bindingVersion": "0.1.0"}},
    }
    document["components"]["messages"][DOCUMENT_REQUEST] = {
        "name": DOCUMENT_REQUEST, "title": "Document request",
        "summary": "One chunk of one document, for one case.",
        "contentType": "application/json", "payload": REQUEST_SCHEMA}
    document["components"]["messages"][DOCUMENT_REPLY] = {
        "name": DOCUMENT_REPLY, "title": "Document reply",
        "summary": "A chunk of the document, or why it is refused.",
        "contentType": "application/json", "payload": REPLY_SCHEMA}
    return document
