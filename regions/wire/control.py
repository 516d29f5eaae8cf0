"""Link control messages: high-water marks and resend requests, as CloudEvents.

Why they exist: a gap on a link is only visible when a later message arrives, so a lost *tail*
would go unnoticed. Each relay therefore announces, after every publish batch and on a heartbeat,
the last `link_seq` it sent (`HighWaterMark`); a receiver below the mark knows what it misses.
A receiver whose gap outlives the bound asks the origin to re-send that range from its own store
(`ResendRequest`, anti-entropy). Both travel on the same subjects as events, so a mark never
overtakes the events it announces on its link.

Fields always name the *link* concerned (origin → destination); the CloudEvents `source` is the
sender: the origin for a mark, the destination (the asking receiver) for a resend request, which
travels on the reverse link `tb.v1.evt.<origin>.<destination>`. The fields travel in `data`
(schema in asyncapi.yaml); `origin` and `destination` are also attributes so that routers can
filter without reading data. Control messages carry no `linkseq`: they are not part of the
sequence they describe. Ids are derived from the content (re-encoding is byte-identical; a
heartbeat at a new instant is a new message) and use only `[A-Za-z0-9._-]`, which the broker's
`Nats-Msg-Id` grammar accepts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from domain.kernel import InvalidValue, from_payload, to_payload
from domain.values import RegionCode
from regions.wire.envelope import (
    CONTROL_ENVELOPE,
    CONTROL_TYPE_PREFIX,
    DATA_CONTENT_TYPE,
    SPECVERSION,
    WireError,
    WireMessage,
    WireReason,
    as_utc_text,
    check_attributes,
    check_link,
    event_from,
    read,
    source_of,
    write,
)


def _check_link(origin: str, destination: str) -> None:
    for code in (origin, destination):
        RegionCode.parse(code)
    if origin == destination:
        raise InvalidValue(f"a link joins two regions, got {origin} → {destination}")


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

    @property
    def id(self) -> str:
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

    @property
    def id(self) -> str:
        return (f"resend.{self.origin}.{self.destination}.{self.from_seq}-{self.to_seq}."
                f"{as_utc_text(self.at)}")


ControlMessage = HighWaterMark | ResendRequest
CONTROL_TYPES: Final[dict[str, type[HighWaterMark] | type[ResendRequest]]] = {
    CONTROL_TYPE_PREFIX + cls.NAME: cls for cls in (HighWaterMark, ResendRequest)
}


def control_type(message: ControlMessage) -> str:
    return CONTROL_TYPE_PREFIX + message.NAME


def encode_control(message: ControlMessage) -> bytes:
    """Canonical structured-mode bytes of a control message."""
    attributes: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": message.id,
        "source": source_of(message.sender),
        "type": control_type(message),
        "time": message.at,
        "datacontenttype": DATA_CONTENT_TYPE,
        "origin": message.origin,
        "destination": message.destination,
    }
    check_attributes(CONTROL_ENVELOPE, attributes)
    return write(attributes, to_payload(message))


def decode_control(data: bytes | str) -> ControlMessage:
    """Bytes -> control message, or `WireError` with a specific reason."""
    return _control_from(*read(data))


def decode_any(data: bytes | str) -> WireMessage | ControlMessage:
    """What the inbox calls on every delivery: an event or a control message, by `type`."""
    attributes, payload = read(data)
    ce_type = attributes.get("type")
    if isinstance(ce_type, str) and ce_type.startswith(CONTROL_TYPE_PREFIX):
        return _control_from(attributes, payload)
    return event_from(attributes, payload)


def _control_from(attributes: dict[str, Any], payload: Any) -> ControlMessage:
    cls = CONTROL_TYPES.get(str(attributes.get("type")))
    if cls is None:
        raise WireError(WireReason.UNKNOWN_TYPE,
                        f"no control message type {attributes.get('type')!r}")
    check_attributes(CONTROL_ENVELOPE, attributes)
    check_link(attributes["origin"], attributes["destination"])
    if not isinstance(payload, dict):
        raise WireError(WireReason.PAYLOAD_MISMATCH, "data must be a JSON object")
    try:
        message: ControlMessage = from_payload(cls, payload)
    except (InvalidValue, TypeError, ValueError, KeyError) as exc:
        raise WireError(WireReason.PAYLOAD_MISMATCH, f"{cls.NAME}: {exc}") from exc
    consistent = (
        attributes["origin"] == message.origin
        and attributes["destination"] == message.destination
        and attributes["source"] == source_of(message.sender)
        and attributes["time"] == message.at
        and attributes["id"] == message.id
    )
    if not consistent:
        raise WireError(WireReason.INCONSISTENT_ENVELOPE,
                        f"{cls.NAME} attributes disagree with its data")
    return message
