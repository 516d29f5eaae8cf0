"""Integration events on the wire: the CloudEvents envelope, link control, schemas, AsyncAPI.

Why a separate layer: the wire carries versioned *integration* events between regions, not the
event store's records. `envelope` maps one shared domain event plus its link fields to
CloudEvents bytes and back (refusing anything doubtful with a specific reason), `control` does the
same for high-water marks and resend requests, `schemas` derives JSON Schemas from the Python
types, and `asyncapi` publishes the contract as `asyncapi.yaml` for back-ends in any language.
"""

from __future__ import annotations

from regions.core.messages import HighWaterMark, ResendRequest
from regions.wire.control import ControlMessage, decode_any, decode_control, encode_control
from regions.wire.envelope import (
    CONTENT_TYPE,
    LinkPosition,
    NewerSchema,
    WireError,
    WireMessage,
    WireReason,
    decode,
    encode,
    event_id,
)

__all__ = [
    "CONTENT_TYPE",
    "ControlMessage",
    "HighWaterMark",
    "LinkPosition",
    "NewerSchema",
    "ResendRequest",
    "WireError",
    "WireMessage",
    "WireReason",
    "decode",
    "decode_any",
    "decode_control",
    "encode",
    "encode_control",
    "event_id",
]
