"""Why a message on the wire is refused: `WireReason`, `WireError` (and `NewerSchema`), with
where on its link a refused message sat.

Why a module of its own: every codec of the wire refuses with these — the link envelope, the
control messages, the feed — and the inbox quarantines or parks by `reason`; the attributes'
checks (`regions.wire.attributes`) raise them too, beneath the envelope.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.kernel import DomainError
from domain.payloads import encodable


class WireReason(StrEnum):
    """Why a message was refused; stable strings the inbox records with a quarantined message."""

    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_ATTRIBUTE = "missing_attribute"
    BAD_ATTRIBUTE = "bad_attribute"
    UNSUPPORTED_SPECVERSION = "unsupported_specversion"
    UNKNOWN_TYPE = "unknown_type"
    NOT_WIRE_TYPE = "not_wire_type"
    BAD_REGION_CODE = "bad_region_code"
    INCONSISTENT_ENVELOPE = "inconsistent_envelope"
    PAYLOAD_MISMATCH = "payload_mismatch"
    NEWER_SCHEMA = "newer_schema"
    TOO_DEEP = "too_deep"


@dataclass(frozen=True)
class LinkPosition:
    """Where a refused message sat on its link, when the envelope said so: the inbox still
    needs it to hold the sequence (a parked message is not a lost one)."""

    origin: str
    destination: str
    link_seq: int


class WireError(DomainError):
    """A message that cannot be accepted as it is; `reason` is stable, `str(exc)` explains."""

    code = "wire_error"

    def __init__(
        self, reason: WireReason, detail: str, *, position: LinkPosition | None = None,
    ) -> None:
        detail = encodable(detail)  # it echoes the sender's text, and is stored as a reason
        super().__init__(f"{reason}: {detail}", code=f"wire_{reason}")
        self.reason = reason
        self.detail = detail
        self.position = position


class NewerSchema(WireError):
    """The payload was written by a newer schema version than this node knows: park, don't drop."""

    def __init__(
        self, event_type: str, schema_version: int, known_version: int, *,
        position: LinkPosition | None = None,
    ) -> None:
        super().__init__(
            WireReason.NEWER_SCHEMA,
            f"{event_type} schema version {schema_version} is newer than this node's "
            f"{known_version}",
            position=position,
        )
        self.event_type = event_type
        self.schema_version = schema_version
        self.known_version = known_version
