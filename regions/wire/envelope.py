"""The CloudEvents 1.0 envelope (structured JSON mode) that carries one shared event over a link.

Why CloudEvents: region back-ends in any language consume the links by a documented contract,
and CloudEvents gives them a standard envelope with SDKs everywhere; the `cloudevents` SDK reads
and writes the format here, we only choose the attributes.

A *link* is the one-way path origin region → destination region. Each message on it carries the
origin's identity of the event (`originatorid`, `originatorversion`) — the key of exactly-once
effect — and a contiguous per-link sequence (`linkseq`), so the inbox can record in order and see
gaps (design §5).

The attributes, what the design calls them and their schemas: `regions.wire.attributes`.
An optional attribute with no value is *absent* (CloudEvents treats absent and null alike).
`data` is the event's payload itself (`domain.kernel.to_payload`), not wrapped: `type` and
`schemaversion` say which schema it follows, so a wrapper would add nothing (and `dataschema`
is not set for the same reason: the schema is `components.messages.<EventType>` of
asyncapi.yaml). Unknown extra attributes are ignored, so the envelope can grow compatibly.

Canonical bytes: attributes and payload keys are sorted and `time` comes from the event, so the
same message always encodes to the same bytes (relays may republish; later, `prevhash` and `sig`
will be computed over these bytes).

Decoding never guesses: anything wrong raises `WireError` with a stable `reason` (the inbox
quarantines the message with it), and a payload written by a *newer* schema raises
`NewerSchema`, which the inbox parks until this node is upgraded. Older payloads are upcast
through the kernel's upcasters.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from dateutil.parser import isoparse

from domain.kernel import (
    DomainError,
    Event,
    EventRef,
    event_from_payload,
    event_type,
    to_payload,
)
from regions.wire import plain
from regions.wire.attributes import (
    CONTROL_TYPE_PREFIX,
    DATA_CONTENT_TYPE,
    EVENT_ENVELOPE,
    SPECVERSION,
    TYPE_PREFIX,
    check_attributes,
    check_link,
    source_of,
)
from regions.wire.depth import MAX_WIRE_DEPTH as MAX_WIRE_DEPTH  # re-exported: the readers' bound
from regions.wire.depth import check_depth
from regions.wire.errors import LinkPosition, NewerSchema, WireError, WireReason

#: NATS `Content-Type` header of a structured-mode message (NATS protocol binding 1.0.2).
CONTENT_TYPE: Final = JSONFormat.CONTENT_TYPE
#: Headers a quarantined message carries on the dead-letter subject `tb.v1.dlq.<dest>`.
QUARANTINE_REASON_HEADER: Final = "Tongban-Quarantine-Reason"
QUARANTINE_DETAIL_HEADER: Final = "Tongban-Quarantine-Detail"
QUARANTINE_SUBJECT_HEADER: Final = "Tongban-Original-Subject"

_FORMAT: Final = JSONFormat()


def event_id(ref: EventRef) -> str:
    """The CloudEvents id of an event: its origin identity, unique without coordination."""
    return f"{ref.originator_id}:{ref.version}"


def _parse_event_id(text: str) -> EventRef:
    originator_id, _, version = text.rpartition(":")
    return EventRef(originator_id, int(version))


def check_event_attributes(attributes: dict[str, Any]) -> None:
    """`check_attributes(EVENT_ENVELOPE, attributes)`, without asking pydantic (~4 us) when
    the attributes are plainly ones it accepts (`plain.event_attributes_accepted`)."""
    if not plain.event_attributes_accepted(attributes):
        check_attributes(EVENT_ENVELOPE, attributes)  # the refusal, precisely
        plain.event_attributes_kept(attributes)


# --------------------------------------------------------------------------- format plumbing


def _canonical(value: Any) -> Any:
    """Sort object keys all the way down, so equal payloads give equal bytes."""
    if isinstance(value, dict):
        return {k: _canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def write(attributes: dict[str, Any], data: dict[str, Any]) -> bytes:
    """Structured-mode JSON, attributes and data keys sorted: byte for byte what the SDK's
    `JSONFormat.write` makes of the same event (`sdk_write`), written with `json`'s encoder alone.

    Why not through the SDK: every feed event and link message is written here (a dozen per
    case), and the SDK's constructor re-validates attributes our strict envelope schemas
    (`check_attributes`) have already checked, then a generic encoder walks a sorted copy of
    the payload: ~110 µs a message, most of a node's event-loop time at burst. The layout is
    the SDK's: the attributes in order, then `data`; instants as RFC 3339 with `Z` for UTC;
    `json.dumps`' default separators (`tests/unit/test_envelope_write.py` holds the two to the
    same bytes). Anything but a JSON payload goes through the SDK."""
    if not isinstance(data, dict) or attributes.get("datacontenttype",
                                                    DATA_CONTENT_TYPE) != DATA_CONTENT_TYPE:
        return sdk_write(attributes, data)
    head = plain.dumps(dict(sorted(attributes.items())), sort_keys=False)
    body = plain.dumps(data, sort_keys=True)
    return f'{head[:-1]}, "data": {body}}}'.encode() if len(head) > 2 else (
        f'{{"data": {body}}}'.encode())


def sdk_write(attributes: dict[str, Any], data: Any) -> bytes:
    """The same bytes through the CloudEvents SDK (its validation included): the reference
    `write` is held to, and the path for what `write` does not take."""
    event = CloudEvent(dict(sorted(attributes.items())), _canonical(data))
    return _FORMAT.write(event)


_REQUIRED: Final = ("specversion", "id", "source", "type", "time")


def _strict(attributes: dict[str, Any], data: Any) -> BaseCloudEvent:
    """SDK event factory that refuses a missing required attribute: the SDK's constructor would
    invent a missing id, time or specversion, which a receiver must never do."""
    for name in _REQUIRED:
        if name not in attributes:
            raise WireError(WireReason.MISSING_ATTRIBUTE, f"attribute {name!r} is missing")
    if attributes["specversion"] != SPECVERSION:
        raise WireError(WireReason.UNSUPPORTED_SPECVERSION,
                        f"specversion {attributes['specversion']!r}, expected {SPECVERSION!r}")
    return CloudEvent(attributes, data)


def read(data: bytes | str) -> tuple[dict[str, Any], Any]:
    """Bytes -> (attributes, data) via the SDK; structural failures become `WireError`s.

    A well-formed message (`plain.read`) is read without the SDK: the same attributes and data
    the SDK gives it, its checks made on the parsed values directly; anything else goes through
    the SDK, whose refusal is the refusal."""
    check_depth(data)
    found = plain.read(data)
    if found is not None:
        return found
    try:
        received = _FORMAT.read(_strict, data)
    except BaseCloudEventException as exc:
        raise WireError(WireReason.BAD_ATTRIBUTE, str(exc)) from exc
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        raise _diagnose(data, exc) from exc
    return dict(received.get_attributes()), received.get_data()


def _diagnose(data: bytes | str, exc: Exception) -> WireError:
    """Name what is wrong with a message the SDK could not read (only on the failure path)."""
    try:
        parsed = json.loads(data)
    except (ValueError, TypeError) as json_exc:
        return WireError(WireReason.NOT_JSON, str(json_exc))
    if not isinstance(parsed, dict):
        return WireError(WireReason.NOT_AN_OBJECT, f"a JSON {type(parsed).__name__}")
    if "time" in parsed:
        try:
            isoparse(parsed["time"])
        except (ValueError, TypeError, AttributeError, OverflowError):
            return WireError(WireReason.BAD_ATTRIBUTE, f"attribute 'time': {parsed['time']!r}")
    return WireError(WireReason.BAD_ATTRIBUTE, f"{type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- event messages


@dataclass(frozen=True)
class WireMessage:
    """One shared event on its link, with the origin identity and the link fields.

    `upcast_from` is set by `decode` when the payload was written by an older schema version;
    encoding always writes the current version.
    """

    event: Event
    ref: EventRef
    origin: str
    destination: str
    link_seq: int
    case_number: str
    case_id: str
    process: str
    traceparent: str = ""
    prev_hash: str = ""
    key_id: str = ""
    sig: str = ""
    receipt_of: EventRef | None = None
    upcast_from: int | None = None
    #: The payload as received, when it is at the event type's current schema (`decode` set
    #: it; None when upcast, or made to be encoded): what `to_payload(event)` would give back
    #: for a payload our writers wrote, without the walk (`regions.wire.link.decode`).
    data: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def id(self) -> str:
        return event_id(self.ref)

    @property
    def type(self) -> str:
        return TYPE_PREFIX + self.event.TYPE

    @property
    def position(self) -> LinkPosition:
        return LinkPosition(self.origin, self.destination, self.link_seq)


def encode(message: WireMessage) -> bytes:
    """The canonical structured-mode bytes of `message`; refuses what `decode` would refuse."""
    event = message.event
    check_link(message.origin, message.destination)
    _wire_class(event.TYPE)
    if type(event) is not event_type(event.TYPE):
        raise WireError(WireReason.UNKNOWN_TYPE, f"{type(event).__name__} is not registered")
    return encode_payload(
        event.TYPE, type(event).SCHEMA_VERSION, event.at, to_payload(event),
        origin=message.origin, destination=message.destination, link_seq=message.link_seq,
        ref=message.ref, case_number=message.case_number, case_id=message.case_id,
        process=message.process, traceparent=message.traceparent, prev_hash=message.prev_hash,
        key_id=message.key_id, sig=message.sig, receipt_of=message.receipt_of)


def encode_payload(type_name: str, schema_version: int, at: dt.datetime,
                   payload: dict[str, Any], *, origin: str, destination: str, link_seq: int,
                   ref: EventRef, case_number: str, case_id: str, process: str,
                   traceparent: str = "", prev_hash: str = "", key_id: str = "", sig: str = "",
                   receipt_of: EventRef | None = None) -> bytes:
    """`encode` of an event given as its payload at its type's current schema (what
    `to_payload` makes of it) and its instant: the same bytes, without decoding a stored
    payload into the event only to encode it again (the relay's one payload conversion)."""
    check_link(origin, destination)
    cls = _wire_class(type_name)
    if schema_version != cls.SCHEMA_VERSION:
        raise ValueError(f"{type_name} payload at schema {schema_version}, not the current "
                         f"{cls.SCHEMA_VERSION}: upcast it through the event")
    if payload.get("to_region") != destination:
        raise WireError(WireReason.INCONSISTENT_ENVELOPE,
                        f"event to_region {payload.get('to_region')!r} is not the destination "
                        f"{destination!r}")
    attributes: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": event_id(ref),
        "source": source_of(origin),
        "type": TYPE_PREFIX + type_name,
        "subject": case_number,
        "time": at,
        "datacontenttype": DATA_CONTENT_TYPE,
        "linkseq": link_seq,
        "schemaversion": schema_version,
        "originatorid": ref.originator_id,
        "originatorversion": ref.version,
        "origin": origin,
        "destination": destination,
        "process": process,
        "caseid": case_id,
    }
    optional = {
        "traceparent": traceparent, "prevhash": prev_hash, "keyid": key_id, "sig": sig,
        "receiptof": event_id(receipt_of) if receipt_of else "",
    }
    attributes.update({k: v for k, v in optional.items() if v})
    if prev_hash or key_id or sig or receipt_of or not isinstance(payload, dict):
        check_attributes(EVENT_ENVELOPE, attributes)
        return write(attributes, payload)
    check_event_attributes(attributes)
    return plain.event_written_out(attributes, payload)



def decode(data: bytes | str) -> WireMessage:
    """Bytes -> `WireMessage`, or `WireError` (quarantine) / `NewerSchema` (park)."""
    return event_from(*read(data))


def event_from(attributes: dict[str, Any], payload: Any) -> WireMessage:
    """A message whose format `read` already accepted -> `WireMessage` (see `decode`)."""
    event, ref, version, current = checked_event(attributes, payload)
    receipt_of = attributes.get("receiptof")
    return WireMessage(
        event=event, ref=ref, origin=attributes["origin"], destination=attributes["destination"],
        link_seq=attributes["linkseq"], case_number=attributes["subject"],
        case_id=attributes["caseid"], process=attributes["process"],
        traceparent=attributes.get("traceparent", ""), prev_hash=attributes.get("prevhash", ""),
        key_id=attributes.get("keyid", ""), sig=attributes.get("sig", ""),
        receipt_of=_parse_event_id(receipt_of) if receipt_of else None,
        upcast_from=version if version < current else None,
        data=payload if version == current else None,
    )


def checked_event(attributes: dict[str, Any],
                  payload: Any) -> tuple[Event, EventRef, int, int]:
    """`event_from`'s checks and what they give: the event, its origin identity, the schema
    version its payload was written at and its type's current one. Its own step so that a
    batch's member becomes the inbox's item without a `WireMessage` between
    (`regions.wire.link._event_item`)."""
    type_name = _event_type_name(attributes.get("type"))
    check_event_attributes(attributes)
    position = LinkPosition(attributes["origin"], attributes["destination"], attributes["linkseq"])
    check_link(position.origin, position.destination, position)
    cls = _wire_class(type_name, position)
    ref = EventRef(attributes["originatorid"], attributes["originatorversion"])
    # The refusals' texts are made only when refusing (they were ~10 % of a decode).
    if attributes["id"] != event_id(ref):
        _refuse(f"id {attributes['id']!r} is not originatorid:originatorversion", position)
    if attributes["source"] != source_of(attributes["origin"]):
        _refuse(f"source {attributes['source']!r} is not the origin's", position)
    version = attributes["schemaversion"]
    if version > cls.SCHEMA_VERSION:
        raise NewerSchema(type_name, version, cls.SCHEMA_VERSION, position=position)
    if not isinstance(payload, dict):
        raise WireError(WireReason.PAYLOAD_MISMATCH,
                        f"data must be a JSON object, got {type(payload).__name__}",
                        position=position)
    try:
        event = event_from_payload(type_name, payload, schema_version=version)
    except (DomainError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise WireError(WireReason.PAYLOAD_MISMATCH, str(exc), position=position) from exc
    if event.to_region != attributes["destination"]:
        _refuse(f"payload to_region {event.to_region!r} is not the destination", position)
    _check_case(attributes, event, position)
    if event.at != attributes["time"]:
        _refuse("time is not the event's `at`", position)
    return event, ref, version, cls.SCHEMA_VERSION


def _check_case(attributes: dict[str, Any], event: Event, position: LinkPosition) -> None:
    """What the payload says of its case, number and process is what the envelope says: a
    message naming two cases is refused before any side is looked up by either. (That the case
    id is the id of its number is the receiving node's check, with the case's parties.)"""
    for name, attribute in (("case_id", "caseid"), ("case_number", "subject"),
                            ("process", "process")):
        said = getattr(event, name, None)
        if said is not None and said != attributes[attribute]:
            _refuse(f"payload {name} {said!r} is not the envelope's {attributes[attribute]!r}",
                    position)


def _event_type_name(ce_type: Any) -> str:
    if not isinstance(ce_type, str) or not ce_type.startswith(TYPE_PREFIX):
        raise WireError(WireReason.UNKNOWN_TYPE, f"type {ce_type!r} is not {TYPE_PREFIX}<Event>")
    if ce_type.startswith(CONTROL_TYPE_PREFIX):
        raise WireError(WireReason.UNKNOWN_TYPE,
                        f"{ce_type} is a control message, not an event (use decode_any)")
    return ce_type.removeprefix(TYPE_PREFIX)


def _wire_class(type_name: str, position: LinkPosition | None = None) -> type[Event]:
    try:
        cls = event_type(type_name)
    except DomainError:
        raise WireError(WireReason.UNKNOWN_TYPE, f"no event type {type_name!r}",
                        position=position) from None
    if not cls.WIRE:
        raise WireError(WireReason.NOT_WIRE_TYPE, f"{type_name} is local, it never travels",
                        position=position)
    return cls


def _refuse(detail: str, position: LinkPosition) -> NoReturn:
    raise WireError(WireReason.INCONSISTENT_ENVELOPE, detail, position=position)
