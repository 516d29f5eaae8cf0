"""What travels, as bytes: the CloudEvents envelope and one codec per kind of message.

Why a separate layer: the wire carries versioned *integration* events between regions, not the
event store's records. `envelope` maps one shared domain event plus its link fields to
CloudEvents bytes and back (refusing anything doubtful with a specific reason); `link` turns the
relay's link items into broker messages and back, with `control` for high-water marks and
resend requests; `feed` does the same for the back-end feed, `commands` and `documents` for the
two request/reply contracts; `subjects` is the subject grammar; `schemas` derives JSON Schemas
from the Python types, from which `regions.contract` publishes `asyncapi.yaml`.
"""

from __future__ import annotations

from regions.wire.control import ControlMessage, decode_any, decode_control, encode_control
from regions.wire.envelope import CONTENT_TYPE, WireMessage, decode, encode, event_id
from regions.wire.errors import LinkPosition, NewerSchema, WireError, WireReason

__all__ = [
    "CONTENT_TYPE",
    "ControlMessage",
    "LinkPosition",
    "NewerSchema",
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
