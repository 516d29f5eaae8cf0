"""Link control messages (`regions.core.messages`): high-water marks and resend requests, as
CloudEvents.

Why they exist: a gap on a link is only visible when a later message arrives, so a lost *tail*
would go unnoticed. Each relay therefore announces on a heartbeat the last `link_seq` it sent
(`HighWaterMark`: a mark a batch moved at the next beat, an unchanged one at a doubling
interval); a receiver below the mark knows what it misses.
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

from typing import Any, Final

from domain.kernel import InvalidValue, from_payload, to_payload
from regions.core.messages import HighWaterMark, ResendRequest
from regions.wire import marks
from regions.wire.attributes import (
    CONTROL_ENVELOPE,
    CONTROL_TYPE_PREFIX,
    DATA_CONTENT_TYPE,
    SPECVERSION,
    check_attributes,
    check_link,
    source_of,
)
from regions.wire.envelope import WireMessage, event_from, read, write
from regions.wire.errors import WireError, WireReason

ControlMessage = HighWaterMark | ResendRequest
CONTROL_TYPES: Final[dict[str, type[HighWaterMark] | type[ResendRequest]]] = {
    CONTROL_TYPE_PREFIX + cls.NAME: cls for cls in (HighWaterMark, ResendRequest)
}


def control_type(message: ControlMessage) -> str:
    return CONTROL_TYPE_PREFIX + message.NAME


def encode_control(message: ControlMessage) -> bytes:
    """Canonical structured-mode bytes of a control message."""
    if isinstance(message, HighWaterMark):
        fast = marks.encode(message)  # the same bytes, without the SDK: most link messages
        if fast is not None:
            return fast
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
    return marks.decode(data) or _control_from(*read(data))


def decode_any(data: bytes | str) -> WireMessage | ControlMessage:
    """What the inbox calls on every delivery: an event or a control message, by `type`."""
    mark = marks.decode(data)  # a canonical high-water mark, or None: the generic way
    if mark is not None:
        return mark
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
