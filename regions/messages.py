"""What travels between two regions, before it is put into a CloudEvents envelope.

`LinkMessage` is one shared domain event of one side, addressed to its counterpart: the origin
identity (`originator_id`, `originator_version`) is what exactly-once is keyed on, and `link_seq`
is its place in the contiguous per-link sequence (origin -> destination). `HighWaterMark` and
`ResendRequest` are the link's control messages (tail-loss detection and anti-entropy).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LinkMessage:
    origin: str
    destination: str
    link_seq: int
    case_id: str
    case_number: str
    process: str
    originator_id: str
    originator_version: int
    type: str
    schema_version: int
    payload: dict[str, Any]
    at: dt.datetime
    traceparent: str = ""
    trust: dict[str, str] = field(default_factory=dict)  # prev_hash, key_id, sig, receipt_of

    @property
    def event_id(self) -> str:
        return f"{self.originator_id}:{self.originator_version}"

    def to_record(self) -> dict[str, Any]:
        """The form kept in the store (`OutLink.Sent.message`); link_seq is the OutLink version."""
        return {
            "origin": self.origin, "destination": self.destination, "case_id": self.case_id,
            "case_number": self.case_number, "process": self.process,
            "originator_id": self.originator_id, "originator_version": self.originator_version,
            "type": self.type, "schema_version": self.schema_version, "payload": self.payload,
            "at": self.at.isoformat(), "traceparent": self.traceparent,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], link_seq: int) -> LinkMessage:
        return cls(
            origin=record["origin"], destination=record["destination"], link_seq=link_seq,
            case_id=record["case_id"], case_number=record["case_number"],
            process=record["process"], originator_id=record["originator_id"],
            originator_version=record["originator_version"], type=record["type"],
            schema_version=record["schema_version"], payload=record["payload"],
            at=dt.datetime.fromisoformat(record["at"]), traceparent=record.get("traceparent", ""),
        )


# The link's control messages are defined with their wire form.
from regions.wire.control import HighWaterMark, ResendRequest  # noqa: E402

WireItem = LinkMessage | HighWaterMark | ResendRequest
__all__ = ["HighWaterMark", "LinkMessage", "ResendRequest", "WireItem"]
