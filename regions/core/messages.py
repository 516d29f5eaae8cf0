"""What travels between two regions, before it is put into a CloudEvents envelope.

`LinkMessage` is one shared domain event of one side, addressed to its counterpart: the origin
identity (`originator_id`, `originator_version`) is what exactly-once is keyed on, and `link_seq`
is its place in the contiguous per-link sequence (origin -> destination). `HighWaterMark` and
`ResendRequest` are the link's control messages (tail-loss detection and anti-entropy); why they
exist and how they travel is in `regions.wire.control`, which encodes them.

Fields always name the *link* concerned (origin → destination), whoever sends the message. Ids
of control messages are derived from their content (a heartbeat at a new instant is a new
message) and use only `[A-Za-z0-9._-]`, which the broker's `Nats-Msg-Id` grammar accepts.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar

from domain.kernel import Event, InvalidValue
from domain.values import RegionCode


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
    #: The domain event `payload` holds, when the codec that made this message had decoded it
    #: (`regions.wire.link.decode`): the node takes it rather than decoding the payload a second
    #: time (`RegionNode.stage_receive`). Neither the message's identity nor its stored form.
    event: Event | None = field(default=None, compare=False, repr=False)

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


#: Links already found valid: a node has a few, and every control message names one (a mark
#: is most of a link's traffic), so each is checked once. Bounded: a flood of invalid or
#: distinct pairs only stops it remembering.
_VALID_LINKS: set[tuple[str, str]] = set()


def _check_link(origin: str, destination: str) -> None:
    if (origin, destination) in _VALID_LINKS:
        return
    for code in (origin, destination):
        RegionCode.parse(code)
    if origin == destination:
        raise InvalidValue(f"a link joins two regions, got {origin} → {destination}")
    if type(origin) is str and type(destination) is str and len(_VALID_LINKS) < 1024:
        _VALID_LINKS.add((origin, destination))


def _check_instant(at: dt.datetime) -> None:
    if at.tzinfo is None:
        raise InvalidValue("control message instants must be aware")


@dataclass(frozen=True)
class HighWaterMark:
    """Sent by the origin's relay: "the last link_seq I sent you is `link_seq`" (0: none yet)."""

    NAME: ClassVar[str] = "HighWaterMark"
    origin: str
    destination: str
    link_seq: int
    at: dt.datetime

    def __post_init__(self) -> None:
        _check_link(self.origin, self.destination)
        _check_instant(self.at)
        if isinstance(self.link_seq, bool) or self.link_seq < 0:
            raise InvalidValue(f"high-water mark must be a count >= 0, got {self.link_seq!r}")

    @property
    def sender(self) -> str:
        return self.origin

    @property
    def recipient(self) -> str:
        return self.destination

    @functools.cached_property
    def id(self) -> str:  # asked for several times per message (ids, msg id, checks): once
        return f"hwm.{self.origin}.{self.destination}.{self.link_seq}.{as_utc_text(self.at)}"


@dataclass(frozen=True)
class ResendRequest:
    """Sent by the destination to the origin: re-send link_seq `from_seq`..`to_seq` (inclusive)."""

    NAME: ClassVar[str] = "ResendRequest"
    origin: str
    destination: str
    from_seq: int
    to_seq: int
    at: dt.datetime

    def __post_init__(self) -> None:
        _check_link(self.origin, self.destination)
        _check_instant(self.at)
        if isinstance(self.from_seq, bool) or self.from_seq < 1 or self.to_seq < self.from_seq:
            raise InvalidValue(
                "resend range must satisfy 1 <= from_seq <= to_seq, "
                f"got {self.from_seq}..{self.to_seq}")

    @property
    def sender(self) -> str:
        return self.destination

    @property
    def recipient(self) -> str:
        return self.origin

    @functools.cached_property
    def id(self) -> str:  # asked for several times per message (ids, msg id, checks): once
        return (f"resend.{self.origin}.{self.destination}.{self.from_seq}-{self.to_seq}."
                f"{as_utc_text(self.at)}")


WireItem = LinkMessage | HighWaterMark | ResendRequest


def as_utc_text(instant: dt.datetime) -> str:
    """A compact, deterministic UTC rendering for ids built from instants.

    The text `strftime("%Y%m%dT%H%M%S.%fZ")` gives, formatted by hand: every high-water mark's
    id is one (its encoding, and its decoding's check), and `strftime` was most of that. Years
    before 1000 go through `strftime`, which does not pad them on every platform."""
    u = instant if instant.tzinfo is dt.UTC else instant.astimezone(dt.UTC)
    if u.year < 1000:
        return u.strftime("%Y%m%dT%H%M%S.%fZ")
    # printf style: half the time of an f-string's format specs here
    return "%04d%02d%02dT%02d%02d%02d.%06dZ" % (  # noqa: UP031
        u.year, u.month, u.day, u.hour, u.minute, u.second, u.microsecond)
