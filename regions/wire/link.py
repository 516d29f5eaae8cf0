"""Link items <-> broker messages: subjects, `Nats-Msg-Id`, CloudEvents bytes.

The store keeps a shared event as a `LinkMessage` (payload as recorded); on the way out it is
decoded into its domain event and put into the CloudEvents envelope of `regions.wire.envelope` (which
upcasts payloads written by an older schema version); on the way in the envelope is checked and
decoded back. Anything that fails becomes a `DecodeError` with the wire's reason, which the inbox
keeps with the quarantined message.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from domain.kernel import DomainError, EventRef, event_from_payload, event_type, to_payload
from regions.core.errors import DecodeError
from regions.core.messages import HighWaterMark, LinkMessage, ResendRequest, WireItem
from regions.core.ports import MSG_ID_HEADER, Outgoing
from regions.wire import control, envelope, subjects


def encode(item: WireItem) -> Outgoing:
    """A link item as the broker message its relay publishes (envelope bytes, subject, msg id)."""
    if isinstance(item, LinkMessage):
        return event_message(dest=item.destination, origin=item.origin,
                             event_id=item.event_id, data=_envelope(item))
    return event_message(dest=item.recipient, origin=item.sender, event_id=item.id,
                         data=control.encode_control(item))


def _envelope(item: LinkMessage) -> bytes:
    """A stored shared event's envelope. A payload stored at its type's current schema is the
    envelope's data as it is (`to_payload` wrote it; decoding it into the event and encoding it
    again gave the same data back: `tests/unit/test_link_codec_stored.py`); an older one is
    upcast through the event."""
    ref = EventRef(item.originator_id, item.originator_version)
    if item.schema_version == event_type(item.type).SCHEMA_VERSION:
        return envelope.encode_payload(
            item.type, item.schema_version, item.at, item.payload, origin=item.origin,
            destination=item.destination, link_seq=item.link_seq, ref=ref,
            case_number=item.case_number, case_id=item.case_id, process=item.process,
            traceparent=item.traceparent)
    event = event_from_payload(item.type, item.payload, item.schema_version)
    return envelope.encode(envelope.WireMessage(
        event=event, ref=ref, origin=item.origin, destination=item.destination,
        link_seq=item.link_seq, case_number=item.case_number, case_id=item.case_id,
        process=item.process, traceparent=item.traceparent))


def event_message(*, dest: str, origin: str, event_id: str | UUID, data: bytes,
                  headers: Mapping[str, str] | None = None) -> Outgoing:
    """A message on the link `origin` -> `dest`, its subject and msg id by the grammar."""
    return Outgoing(subjects.event_subject(dest, origin), data,
                    {**(headers or {}), MSG_ID_HEADER: subjects.msg_id(event_id, dest)})


def resent(out: Outgoing, request: ResendRequest) -> Outgoing:
    """`out` as a re-send answering `request`: its own `Nats-Msg-Id`. Why: the receiver may have
    acknowledged and dropped the original (beyond its hold window, `regions.core.inbox`), and
    under the original id JetStream would discard the re-send as a duplicate for the whole
    dedup window — the link would wait for a message that never comes. The receiver recognises
    a repeat by its link sequence, not by the broker's dedup."""
    original = out.headers.get(MSG_ID_HEADER, "")
    tag = f"{request.from_seq}-{request.to_seq}.{request.at.timestamp():.6f}"
    return Outgoing(out.subject, out.data, {**out.headers, MSG_ID_HEADER: f"{original}~r{tag}"})


def decode(data: bytes, headers: dict[str, str] | None = None) -> WireItem:
    """A delivery's bytes as the link item they carry; `DecodeError` with the reason if not."""
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
    # The payload as received when it is at the current schema: the event was decoded from it
    # (strictly: no unknown field, every value converted), and it is what `to_payload` gives
    # back for what our writers write; encoding the event again only to get it cost ~15 % of a
    # decode. An upcast payload is the event's, encoded at the current schema.
    payload = decoded.data if decoded.data is not None else to_payload(decoded.event)
    return LinkMessage(
        origin=decoded.origin, destination=decoded.destination, link_seq=decoded.link_seq,
        case_id=decoded.case_id, case_number=decoded.case_number, process=decoded.process,
        originator_id=decoded.ref.originator_id, originator_version=decoded.ref.version,
        type=decoded.event.TYPE, schema_version=type(decoded.event).SCHEMA_VERSION,
        payload=payload, at=decoded.event.at, traceparent=decoded.traceparent,
        event=decoded.event)


def _position(exc: envelope.WireError) -> tuple[str, str, int] | None:
    p = exc.position
    return None if p is None else (p.origin, p.destination, p.link_seq)
