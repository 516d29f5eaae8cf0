"""The links' and the quarantine's messages in `asyncapi.yaml`: one per shared event type and
per control message (`HighWaterMark`, `ResendRequest`), each a structured CloudEvent whose `data`
is that type's schema, the batch of events (`LinkEventBatch`: CloudEvents batched JSON, an array
of those very event messages, consecutive on their link), the link headers (`Nats-Msg-Id` as the
dedup key), and the quarantined message an inbox diverts byte for byte.

Why a module of its own: these are the per-type message builders; `regions.contract.asyncapi`
assembles them with the channels and operations and keeps the document's shape in one place.
"""

from __future__ import annotations

from typing import Any, Final

from domain.kernel import Event
from regions.core.inbox_state import MEMBER_HEADER
from regions.wire.attributes import TYPE_PREFIX
from regions.wire.envelope import (
    CONTENT_TYPE,
    QUARANTINE_DETAIL_HEADER,
    QUARANTINE_REASON_HEADER,
    QUARANTINE_SUBJECT_HEADER,
)
from regions.wire.errors import WireReason
from regions.wire.link import BATCH_CONTENT_TYPE, CONTENT_TYPE_HEADER, MAX_BATCH, MAX_BYTES
from regions.wire.schemas import SchemaSet

QUARANTINED: Final = "QuarantinedMessage"
HEADERS_SCHEMA: Final = "LinkMessageHeaders"
LINK_BATCH: Final = "LinkEventBatch"
BATCH_HEADERS_SCHEMA: Final = "LinkBatchHeaders"


def _summary(schema_ref: dict[str, Any], schemas: SchemaSet, fallback: str) -> str:
    name = schema_ref["$ref"].rsplit("/", 1)[-1]
    description = str(schemas.definitions.get(name, {}).get("description", ""))
    return description.strip().splitlines()[0] if description.strip() else fallback


def _message(name: str, summary: str, envelope: dict[str, Any],
             properties: dict[str, Any]) -> dict[str, Any]:
    """A structured CloudEvent on a link: the envelope's schema and this type's properties."""
    return {
        "name": name,
        "title": name,
        "summary": summary,
        "contentType": CONTENT_TYPE,
        "headers": {"$ref": f"#/components/schemas/{HEADERS_SCHEMA}"},
        "payload": {
            "allOf": [
                envelope,
                {"type": "object", "required": ["data"], "properties": properties},
            ],
        },
    }


def event_message(name: str, cls: type[Event], schemas: SchemaSet) -> dict[str, Any]:
    data = schemas.events[name]
    message = _message(name, _summary(data, schemas, f"Shared event {name}."),
                       schemas.event_envelope,
                       {"type": {"const": TYPE_PREFIX + name},
                        "schemaversion": {"const": cls.SCHEMA_VERSION}, "data": data})
    message["x-schema-version"] = cls.SCHEMA_VERSION
    return message


def control_message(ce_type: str, name: str, schemas: SchemaSet) -> dict[str, Any]:
    data = schemas.controls[ce_type]
    return _message(name, _summary(data, schemas, f"Link control message {name}."),
                    schemas.control_envelope, {"type": {"const": ce_type}, "data": data})


def batch_message(event_names: list[str]) -> dict[str, Any]:
    """Several shared events of one link in one message: each member is the structured event
    a single message would carry (validated by its own message's schema)."""
    return {
        "name": LINK_BATCH,
        "title": LINK_BATCH,
        "summary": "Consecutive shared events of one link in one message.",
        "description": (
            "CloudEvents batched JSON: an array of 1 to "
            f"{MAX_BATCH} structured events (at most {MAX_BYTES} bytes), each exactly the "
            "message its type describes, in linkseq order and consecutive (each member's "
            "linkseq the one before it plus one). A receiver takes any such array; a relay "
            f"packs 2 to {MAX_BATCH} events of a run to one destination this way, and sends a "
            "lone event, and every control message, alone — send a lone event as a single "
            "message too: a node of a contract before 4.0.0 reads only that form, and "
            "quarantines any array. A receiver handles each member as if it had come alone (a "
            "member it cannot decode is quarantined alone, with its linkseq, and the others "
            "applied) and recognises a batch by its body, a JSON array: a node of an older "
            "contract sends no batches, and one that packs them reads single messages too."),
        "contentType": BATCH_CONTENT_TYPE,
        "headers": {"$ref": f"#/components/schemas/{BATCH_HEADERS_SCHEMA}"},
        "payload": {
            # what a receiver takes (`link.members`), not only what a relay sends (2 or more):
            # a document's bounds are what a peer built from it alone checks and sends
            "type": "array", "minItems": 1, "maxItems": MAX_BATCH,
            "items": {"oneOf": [{"$ref": f"#/components/messages/{name}/payload"}
                                for name in event_names]},
        },
    }


def batch_headers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["Nats-Msg-Id", CONTENT_TYPE_HEADER],
        "properties": {
            "Nats-Msg-Id": {
                "type": "string",
                "description": "JetStream dedup key: `<first event's CloudEvents id>:<first 16 "
                               "hex digits of the SHA-256 of the body>:<destination>` (the "
                               "same events packed the same way, the same key)",
            },
            CONTENT_TYPE_HEADER: {"type": "string", "const": BATCH_CONTENT_TYPE},
        },
    }


def headers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["Nats-Msg-Id"],
        "properties": {
            "Nats-Msg-Id": {
                "type": "string",
                "description": "JetStream dedup key: `<CloudEvents id>:<destination>`",
            },
            "Content-Type": {"type": "string", "const": CONTENT_TYPE},
        },
    }


def quarantined_message() -> dict[str, Any]:
    return {
        "name": QUARANTINED,
        "title": "Quarantined message",
        "summary": "A message an inbox refused, byte for byte, with the reason.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "required": [QUARANTINE_REASON_HEADER],
            "properties": {
                QUARANTINE_REASON_HEADER: {
                    "type": "string",
                    "description": "Why: a decoding reason (examples) or one the inbox adds, "
                                   "e.g. an unknown or unauthenticated sender, or "
                                   "`reused_link_seq`: a linkseq this region recorded for "
                                   "another event (its origin restored from a backup without "
                                   "`tongban links restored`; docs/operations.md).",
                    "examples": [reason.value for reason in WireReason],
                },
                QUARANTINE_DETAIL_HEADER: {"type": "string"},
                QUARANTINE_SUBJECT_HEADER: {"type": "string"},
                MEMBER_HEADER: {
                    "type": "string", "pattern": "^[1-9][0-9]*/[1-9][0-9]*$",
                    "description": "A batch's member quarantined alone: its place in the batch "
                                   "(`<n>/<of>`); the payload is that member's bytes, a single "
                                   "structured event. A batch that does not parse is kept whole, "
                                   "without it."},
            },
        },
        "payload": {"description": "The original message bytes, unchanged."},
    }
