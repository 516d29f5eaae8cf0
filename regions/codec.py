"""Link items <-> broker messages: subjects, `Nats-Msg-Id`, CloudEvents bytes.

The store keeps a shared event as a `LinkMessage` (payload as recorded); on the way out it is
decoded into its domain event and put into the CloudEvents envelope of `regions.wire` (which
upcasts payloads written by an older schema version); on the way in the envelope is checked and
decoded back. Anything that fails becomes a `DecodeError` with the wire's reason, which the inbox
keeps with the quarantined message.
"""

from __future__ import annotations

from domain.kernel import DomainError, EventRef, event_from_payload, to_payload
from regions.broker import subjects
from regions.broker.port import Outgoing
from regions.inbox import DecodeError
from regions.messages import HighWaterMark, LinkMessage, ResendRequest, WireItem
from regions.wire import control, envelope


def to_outgoing(item: WireItem) -> Outgoing:
    if isinstance(item, LinkMessage):
        event = event_from_payload(item.type, item.payload, item.schema_version)
        wire = envelope.WireMessage(
            event=event, ref=EventRef(item.originator_id, item.originator_version),
            origin=item.origin, destination=item.destination, link_seq=item.link_seq,
            case_number=item.case_number, case_id=item.case_id, process=item.process,
            traceparent=item.traceparent)
        data = envelope.encode(wire)
        return Outgoing(subjects.event_subject(item.destination, item.origin), data,
                        {"Nats-Msg-Id": subjects.msg_id(item.event_id, item.destination)})
    data = control.encode_control(item)
    return Outgoing(subjects.event_subject(item.recipient, item.sender), data,
                    {"Nats-Msg-Id": subjects.msg_id(item.id, item.recipient)})


def from_bytes(data: bytes, headers: dict[str, str] | None = None) -> WireItem:
    try:
        decoded = control.decode_any(data)
    except envelope.NewerSchema as exc:
        raise DecodeError(f"newer_schema: {exc} (parked until this node is upgraded)",
                          _position(exc)) from exc
    except envelope.WireError as exc:
        raise DecodeError(f"{exc.code}: {exc}", _position(exc)) from exc
    except DomainError as exc:
        raise DecodeError(f"{exc.code}: {exc}") from exc
    if isinstance(decoded, (HighWaterMark, ResendRequest)):
        return decoded
    return LinkMessage(
        origin=decoded.origin, destination=decoded.destination, link_seq=decoded.link_seq,
        case_id=decoded.case_id, case_number=decoded.case_number, process=decoded.process,
        originator_id=decoded.ref.originator_id, originator_version=decoded.ref.version,
        type=decoded.event.TYPE, schema_version=type(decoded.event).SCHEMA_VERSION,
        payload=to_payload(decoded.event), at=decoded.event.at, traceparent=decoded.traceparent)


def _position(exc: envelope.WireError) -> tuple[str, str, int] | None:
    p = exc.position
    return None if p is None else (p.origin, p.destination, p.link_seq)
