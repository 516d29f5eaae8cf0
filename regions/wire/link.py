"""Link items <-> broker messages: subjects, `Nats-Msg-Id`, CloudEvents bytes.

The store keeps a shared event as a `LinkMessage` (payload as recorded); on the way out it is
decoded into its domain event and put into the CloudEvents envelope of `regions.wire.envelope` (which
upcasts payloads written by an older schema version); on the way in the envelope is checked and
decoded back. Anything that fails becomes a `DecodeError` with the wire's reason, which the inbox
keeps with the quarantined message.

Several events to one destination travel as one message (`encode_many`): CloudEvents' batched
JSON format (`BATCH_CONTENT_TYPE`), a JSON array of the very structured events a single message
carries, consecutive on their link. Why: nats-server stores each JetStream message with an fsync
(`sync_interval: always`) and the relay waits for each ack, so one message per shared event
used ~80 % of the publish bound at burst (issue 17, docs/performance.md); the feed batches for
the same reason (`regions.wire.feed`). A batch holds at most `MAX_BATCH` events and `MAX_BYTES`
bytes; a lone event stays a single structured message (the form older nodes read), and control
messages always do. The receiver reads both forms (`decode_all`): an array is unpacked into its
members, each decoded as the single message it is — from the parse that found where it ends,
not parsed again from its bytes —, so a member that fails is quarantined alone
(with its link position, so its link steps over it) and the others are applied; an array that
does not parse, or holds nothing, is refused whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any, Final
from uuid import UUID

from domain.kernel import DomainError, Event, EventRef, event_from_payload, event_type, to_payload
from regions.core.errors import DecodeError
from regions.core.inbox_state import Packed
from regions.core.messages import HighWaterMark, LinkMessage, ResendRequest, WireItem
from regions.core.ports import MSG_ID_HEADER, Outgoing
from regions.wire import control, depth, envelope, plain, subjects
from regions.wire.attributes import (
    CONTROL_TYPE_PREFIX,
    DATA_CONTENT_TYPE,
    SOURCE_PREFIX,
    SPECVERSION,
    TYPE_PREFIX,
)
from regions.wire.errors import WireReason

#: The CloudEvents JSON batch format: a message is a JSON array of structured events.
BATCH_CONTENT_TYPE: Final = "application/cloudevents-batch+json"
CONTENT_TYPE_HEADER: Final = "Content-Type"
#: At most this many events, and this many bytes, in one link message (NATS refuses a message
#: over the server's `max_payload`, 1 MiB by default; the inbox applies a fetch in one
#: transaction, so a message's events are a bounded part of it).
MAX_BATCH: Final = 64
MAX_BYTES: Final = 512 * 1024


@dataclass(frozen=True)
class Packet:
    """One message a relay publishes and the link items it carries, in order (what a failed
    publish maps back to: the first item not known stored)."""

    out: Outgoing
    items: Sequence[WireItem]


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
        written = _written(item)
        if written is not None:
            return written
        data = envelope.encode_payload(
            item.type, item.schema_version, item.at, item.payload, origin=item.origin,
            destination=item.destination, link_seq=item.link_seq, ref=ref,
            case_number=item.case_number, case_id=item.case_id, process=item.process,
            traceparent=item.traceparent)
        _keep_kind(item)
        return data
    event = event_from_payload(item.type, item.payload, item.schema_version)
    return envelope.encode(envelope.WireMessage(
        event=event, ref=ref, origin=item.origin, destination=item.destination,
        link_seq=item.link_seq, case_number=item.case_number, case_id=item.case_id,
        process=item.process, traceparent=item.traceparent))


#: Per (origin, destination, process, event type, schema version) a link event was written
#: with (every check of `envelope.encode_payload` passed), the texts every event of that kind
#: shares (`_keep_kind`); at most `KINDS_KEPT`, then afresh.
_KINDS: Final[dict[tuple[str, str, str, str, int], tuple[str, str, str, str]]] = {}
KINDS_KEPT: Final = 4096


def _written(item: LinkMessage) -> bytes | None:
    """`_envelope(item)` for an event of a kind written before (`_KINDS`) whose own attributes
    are plainly ones the schema accepts (`plain.own_attributes_plain`, `plain_instant`), written
    out as `plain.event_written_out` writes them; None for any other (the long way decides).

    Why: of a link event's ~16 µs the payload's text is mostly kept already (`payload_text`);
    the rest was the attribute dict built, checked value by value and written again per event,
    though a link's ends, its process, type, schema and source are the same for every event of
    a kind (CPUREAD, docs/performance.md). The `id` is the `originatorid`'s text with
    `:<version>` inside its quotes (neither part needs escaping)."""
    schema = item.schema_version
    kind = _KINDS.get((item.origin, item.destination, item.process, item.type, schema)) \
        if type(schema) is int else None  # not a bool equal to a kept number
    payload, at, trace = item.payload, item.at, item.traceparent
    if kind is None or type(payload) is not dict \
            or payload.get("to_region") != item.destination \
            or not (plain.own_attributes_plain(item.case_id, item.case_number,
                                               item.originator_id, item.originator_version,
                                               item.link_seq, trace or plain.NO_TRACE)
                    and plain.plain_instant(at)):
        return None
    text, number = encode_basestring_ascii, int.__repr__
    side, version = text(item.originator_id), number(item.originator_version)
    traced = f'"traceparent": {text(trace)}, ' if trace else ""
    destination, origin, shared, type_ = kind
    return (f'{{"caseid": {text(item.case_id)}, "datacontenttype": "{DATA_CONTENT_TYPE}", '
            f'"destination": {destination}, "id": {side[:-1]}:{version}", '
            f'"linkseq": {number(item.link_seq)}, "origin": {origin}, '
            f'"originatorid": {side}, "originatorversion": {version}, {shared}'
            f'"subject": {text(item.case_number)}, "time": {text(plain.instant_text(at))}, '
            f'{traced}"type": {type_}, "data": {plain.payload_text(payload)}}}').encode()


def _keep_kind(item: LinkMessage) -> None:
    """Keep the texts of `item`'s kind: its event was just written, every check passed."""
    schema = item.schema_version
    if not (type(item.origin) is str and type(item.destination) is str
            and type(item.process) is str and type(item.type) is str
            and plain.plain_count(schema)):
        return
    text = encode_basestring_ascii
    plain.keep(_KINDS, (item.origin, item.destination, item.process, item.type, schema), (
        text(item.destination), text(item.origin),
        f'"process": {text(item.process)}, "schemaversion": {int.__repr__(schema)}, '
        f'"source": {text(SOURCE_PREFIX + item.origin)}, "specversion": "{SPECVERSION}", ',
        text(TYPE_PREFIX + item.type)), KINDS_KEPT)


def encode_many(items: Sequence[WireItem], most: int = MAX_BATCH) -> list[Packet]:
    """`items` (in order) as the messages their relay publishes: each run of events consecutive
    on one link in one message, up to `most` (at most `MAX_BATCH`) events and `MAX_BYTES` bytes,
    greedily in order — so the same items always pack the same way — and each control item
    alone. `most=1` writes only single events: what a peer older than batches reads."""
    most = min(most, MAX_BATCH)
    packets: list[Packet] = []
    run: list[LinkMessage] = []
    bodies: list[bytes] = []
    size = 0
    for item in items:
        if not isinstance(item, LinkMessage):
            if run:
                packets.append(_packet(run, bodies))
                run, bodies = [], []
            packets.append(Packet(encode(item), (item,)))
            continue
        body = _envelope(item)
        if run and (len(run) >= most or size + len(body) + 1 > MAX_BYTES
                    or item.link_seq != run[-1].link_seq + 1
                    or item.destination != run[0].destination or item.origin != run[0].origin):
            packets.append(_packet(run, bodies))
            run, bodies = [], []
        if not run:
            size = 1  # the array's brackets, with the commas between
        run.append(item)
        bodies.append(body)
        size += len(body) + 1
    if run:
        packets.append(_packet(run, bodies))
    return packets


def _packet(run: list[LinkMessage], bodies: list[bytes]) -> Packet:
    first = run[0]
    if len(run) == 1:
        return Packet(event_message(dest=first.destination, origin=first.origin,
                                    event_id=first.event_id, data=bodies[0]), tuple(run))
    data = b"[" + b",".join(bodies) + b"]"
    return Packet(event_message(dest=first.destination, origin=first.origin,
                                event_id=batch_id(first.event_id, data), data=data,
                                headers={CONTENT_TYPE_HEADER: BATCH_CONTENT_TYPE}), tuple(run))


def batch_id(first_event_id: str, data: bytes) -> str:
    """The event-id part of a batch's `Nats-Msg-Id`: its first event's id and the first 16 hex
    digits of the SHA-256 of its bytes. The bytes are canonical, so the same events packed the
    same way (a relay's republish after a crash) carry the same id, which JetStream drops within
    its dedup window; packed another way (a read cut elsewhere, a re-send) they are another
    message, and the inbox drops the events it has by their link sequence. A lone event keeps
    its own id (`<event id>:<destination>`), as before batches."""
    return f"{first_event_id}:{hashlib.sha256(data).hexdigest()[:16]}"


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
    a repeat by its link sequence, not by the broker's dedup. The same holds for a batch: the
    same events packed the same way carry the same id (`batch_id`), so a re-send of them would
    be discarded too."""
    original = out.headers.get(MSG_ID_HEADER, "")
    tag = f"{request.from_seq}-{request.to_seq}.{request.at.timestamp():.6f}"
    return Outgoing(out.subject, out.data, {**out.headers, MSG_ID_HEADER: f"{original}~r{tag}"})


def decode_all(data: bytes, headers: dict[str, str] | None = None) -> WireItem | Packed:
    """A delivery as what it carries: a single message's item (`decode`: a `DecodeError` if it
    does not decode), or a batch's members (`Packed`), each its own bytes and the item they
    decode to or the `DecodeError` refusing it alone. A batch is recognised by its bytes (a JSON
    array; a single message is an object), not its `Content-Type`, which a peer's older node
    never sent and which the bytes could contradict."""
    start = data[:1]
    if start != b"[" and not (start.isspace() and data.lstrip()[:1] == b"["):
        return decode(data, headers)
    return Packed(tuple((raw, _member(raw, value)) for raw, value in _split(data)))


#: Reads one JSON value at a position of a text (the members of a batch, one by one).
_VALUE: Final = json.JSONDecoder()
_SPACE: Final = " \t\n\r"


def members(data: bytes) -> list[bytes]:
    """A batch's members, each the bytes of one structured event as it stands in the array;
    `DecodeError` when the batch is not a JSON array of 1 to `MAX_BATCH` values (refused whole:
    a member count no relay sends would cost a decode and a quarantine record each)."""
    return [raw for raw, _ in _split(data)]


def _split(data: bytes) -> list[tuple[bytes, Any]]:
    """`members`, each with the value its parse gave (what finding its end costs: kept, so a
    member is not parsed again to decode it — `_member`).

    The nesting bound (`depth.check_depth`, the array one level above its members) is
    checked on the batch's bytes before the parse, as every other reader does: a parse-first
    split reached the interpreter's recursion limit on a batch nested thousands deep, and a
    finalizer the garbage collector ran at that depth failed (an unraisable exception; a dead
    weak key left behind — tests/unit/test_link_batch_depth.py). The check's count settles a
    small batch at once; a batch of hundreds of members costs a scan of its strings and
    brackets (~7 % of the inbox's CPU at burst, docs/performance.md), the price of never
    parsing what is too deep. That check bounds every member too (the array is one level above
    them: a member nested past `MAX_WIRE_DEPTH` makes the batch past `MAX_WIRE_DEPTH + 1`), so
    a member is not checked again after its parse (tests/unit/test_link_member_depth.py)."""
    try:
        depth.check_depth(data, depth.MAX_WIRE_DEPTH + 1)
        return _split_checked(data)
    except envelope.WireError as exc:
        raise DecodeError(f"{exc.code}: batch: {exc}") from exc
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError too
        raise DecodeError(f"{WireReason.NOT_JSON.value}: batch: {exc}"[:500]) from exc


def _split_checked(data: bytes) -> list[tuple[bytes, Any]]:
    """`_split` without its refusals' wording: `ValueError`, `RecursionError`."""
    text = data.decode("utf-8")
    index = _skip(text, 0)
    if text[index:index + 1] != "[":
        raise ValueError("not a JSON array")
    index = _skip(text, index + 1)
    found: list[tuple[bytes, Any]] = []
    if text[index:index + 1] == "]":
        raise ValueError("an empty batch")
    while True:
        if len(found) == MAX_BATCH:  # a sender's bound: beyond it, work for nothing
            raise ValueError(f"more than {MAX_BATCH} members")
        value, end = _VALUE.raw_decode(text, index)
        found.append((text[index:end].encode(), value))
        index = _skip(text, end)
        separator = text[index:index + 1]
        if separator == "]":
            break
        if separator != ",":
            raise ValueError(f"expected ',' or ']' at {index}")
        index = _skip(text, index + 1)
    if _skip(text, index + 1) != len(text):
        raise ValueError(f"extra data after the array at {index + 1}")
    return found


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _SPACE:
        index += 1
    return index


def _member(raw: bytes, value: Any) -> WireItem | DecodeError:
    """One member decoded alone: a refusal, or a failure no codec foresaw, refuses it alone.
    An event of the common form is read from `value`, the parse `_split` made of `raw`: what
    `decode(raw)` gives, without parsing `raw` again (the array's depth bound is its members',
    one level more); anything else — a control message, a form `plain` leaves to the SDK, a
    refusal — is decoded from `raw`, as alone."""
    try:
        found = plain.read_parsed(value)
        if found is None or str(found[0]["type"]).startswith(CONTROL_TYPE_PREFIX):
            return decode(raw)
        try:
            return _event_item(*found)
        except DomainError as exc:
            raise _refusal(exc) from exc
    except DecodeError as exc:
        return exc
    except Exception as exc:
        return DecodeError(f"undecodable: {type(exc).__name__}: {exc}"[:500])


def decode(data: bytes, headers: dict[str, str] | None = None) -> WireItem:
    """A delivery's bytes as the link item they carry; `DecodeError` with the reason if not."""
    try:
        decoded = control.decode_any(data)
    except DomainError as exc:
        raise _refusal(exc) from exc
    return _item(decoded)


def _refusal(exc: DomainError) -> DecodeError:
    """The inbox's refusal of what the envelope or the domain refused."""
    if isinstance(exc, envelope.NewerSchema):
        return DecodeError(f"newer_schema: {exc} (parked until this node is upgraded)",
                           _position(exc))
    if isinstance(exc, envelope.WireError):
        return DecodeError(f"{exc.code}: {exc}", _position(exc))
    return DecodeError(f"{exc.code}: {exc}")


def _item(decoded: envelope.WireMessage | HighWaterMark | ResendRequest) -> WireItem:
    if isinstance(decoded, (HighWaterMark, ResendRequest)):
        return decoded
    return _link_message(
        decoded.event, decoded.ref, decoded.data, decoded.origin, decoded.destination,
        decoded.link_seq, decoded.case_id, decoded.case_number, decoded.process,
        decoded.traceparent)


def _event_item(attributes: dict[str, Any], payload: Any) -> WireItem:
    """`_item(envelope.event_from(attributes, payload))` without the `WireMessage` between:
    building it and reading it back was ~4 us of a batched event. A `receiptof` attribute,
    which `event_from` parses, takes `_item`'s way."""
    if "receiptof" in attributes:
        return _item(envelope.event_from(attributes, payload))
    event, ref, version, current = envelope.checked_event(attributes, payload)
    return _link_message(
        event, ref, payload if version == current else None, attributes["origin"],
        attributes["destination"], attributes["linkseq"], attributes["caseid"],
        attributes["subject"], attributes["process"], attributes.get("traceparent", ""))


def _link_message(event: Event, ref: EventRef, received: dict[str, Any] | None,
                  origin: str, destination: str, link_seq: int, case_id: str,
                  case_number: str, process: str, traceparent: str) -> LinkMessage:
    """The inbox's item of a decoded event, whichever way it was decoded (`_item`,
    `_event_item`): one builder, so the two cannot drift apart.

    `received`: the payload as received when it is at the event type's current schema (None
    when upcast). It is kept as it is: the event was decoded from it (strictly: no unknown
    field, every value converted), and it is what `to_payload` gives back for what our writers
    write; encoding the event again only to get it cost ~15 % of a decode. An upcast payload is
    the event's, encoded at the current schema."""
    return LinkMessage(
        origin=origin, destination=destination, link_seq=link_seq, case_id=case_id,
        case_number=case_number, process=process, originator_id=ref.originator_id,
        originator_version=ref.version, type=event.TYPE,
        schema_version=type(event).SCHEMA_VERSION,
        payload=received if received is not None else to_payload(event), at=event.at,
        traceparent=traceparent, event=event)


def _position(exc: envelope.WireError) -> tuple[str, str, int] | None:
    p = exc.position
    return None if p is None else (p.origin, p.destination, p.link_seq)
