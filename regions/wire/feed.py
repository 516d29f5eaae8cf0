"""The back-end feed message: one commit's events of one process, a JSON array of CloudEvents
1.0 envelopes (structured JSON each; the CloudEvents batched JSON format).

Why one message per commit and process: nats-server stores a JetStream message with one fsync
(`sync_interval: always`), and the node waits for each publish's ack, so the feed's message
count was what bounded the product at burst (~70 % of all publishes, docs/performance.md). A
commit writes the events of every case a unit of work decided — an inbox batch, a group of
back-end commands — and the back-ends of a process read them in order anyway; so the events of
one commit that go to one process's subject travel together. Before (8baee8c) a message was one
side's events of one commit, and before that one event.

What a message holds: in the log's order (`feedseq` strictly increasing), the events of one
process that one commit recorded (`SideEvent.committed`, the transaction's instant, shared by
every record of a commit), at most `MAX_BATCH` events and `MAX_BYTES` bytes; a commit beyond
either is split greedily in log order, so the same commit always splits the same way. Per
`originatorid`, a message's events are consecutive versions. Across processes a commit's
messages go out in the order of their first event.

Its `Nats-Msg-Id` is `<first event's id>:<digest>`, the digest the first 16 hex digits of the
SHA-256 of the message's bytes: the same id is the same message. Why not the positions: they
are unique in one store only — a store restored from a backup, or a test's fresh store on a
long-lived server, numbers from where it was again, and JetStream would drop the new messages
as duplicates of the old for its whole dedup window. The event id is unique everywhere (the
side is uuid5 of the case and region) and the bytes are canonical, so a republish after a crash
between publish and cursor, which reads the same commits, sends the same messages with the same
ids, which JetStream drops within its dedup window; a read cut inside a commit (the tailer
reads at most a batch of records a step) may group differently on the resend — other ids, so
the back-end sees those events again and recognises each by its `feedseq` or
`originatorversion` (at-least-once).
The subject `tb.v1.feed.<region>.<process>.events` names the process (a back-end's filter).

Older messages (one side's events of one commit, `Nats-Msg-Id` `<originatorid>:<first>-<last>`)
are a special case of this form, so a stream that still holds them reads on unchanged.

Why CloudEvents again: a region's back-ends are written in any language; the feed uses the same
envelope as the links (`regions.wire.envelope`), the same canonical bytes and the same refusal
reasons, so one reader serves both. The attributes (lower-case, as CloudEvents requires):

    id                  "<originatorid>:<originatorversion>" — the event's identity
    source              "/tongban/regions/<region>"
    type                "cn.tongban.<Event.TYPE>"
    subject             the case number
    time                the event's `at` (never the send time)
    region              the region whose side recorded the event
    caseid, process     the case's UUID and catalogue process
    originatorid        the side's aggregate id, uuid5(case id, region)
    originatorversion   the event's version in the side (1, 2, 3… with no gap, every one on the
                        feed): a back-end detects a lost message by a gap per originatorid
    schemaversion       the payload's schema version (older payloads are upcast before sending)
    feedseq             the event's position in the region's store: strictly increasing in
                        commit order, with gaps (records not on the feed), so a consumer can
                        order and recognise a repeat, but not detect a loss

`data` is the event's payload (`domain.kernel.to_payload`), the schema
`components.schemas.<EventType>` of asyncapi.yaml.

The record on both ends is `projections.records.SideEvent`: the node's side-event tailer makes
one per event, `encode_all` publishes them grouped, and a back-end's `decode` gets the same
records back (their payloads at the current schema version), so in-process readers and
back-ends read one type. A stored payload already at the current schema goes out as stored (one
conversion per event: no decode into the event and encode again).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from collections.abc import Sequence
from json.encoder import encode_basestring_ascii
from typing import Annotated, Any, Final, Literal, NotRequired

from pydantic import AwareDatetime, ConfigDict, Field, TypeAdapter
from typing_extensions import TypedDict

from domain.kernel import (
    InvalidValue,
    event_from_payload,
    event_type,
    to_payload,
)
from domain.values import RegionCode
from projections.records import SideEvent
from regions.core.ports import MSG_ID_HEADER, Outgoing
from regions.wire import subjects
from regions.wire.attributes import (
    DATA_CONTENT_TYPE,
    REGION_CODE_PATTERN,
    SOURCE_PREFIX,
    SPECVERSION,
    TYPE_PREFIX,
    check_attributes,
    source_of,
)
from regions.wire.envelope import check_depth, read, write
from regions.wire.errors import WireError, WireReason
from regions.wire.plain import (
    Accepted,
    instant_text,
    keep,
    own_attributes_plain,
    payload_text,
    plain_count,
    plain_instant,
)

NonEmpty = Annotated[str, Field(min_length=1)]

#: The last token of every feed subject (`tb.v1.feed.<region>.<process>.events`): a message
#: carries several event types, so the subject names the side's process, not a type.
BATCH_TOKEN: Final = "events"
#: The CloudEvents JSON batch format: a message is an array of structured events.
BATCH_CONTENT_TYPE: Final = "application/cloudevents-batch+json"
#: At most this many events per message (a commit of a large inbox batch is split beyond it).
MAX_BATCH: Final = 100
#: At most this many bytes per message, well under nats-server's default `max_payload` (1 MiB);
#: an event larger alone goes alone.
MAX_BYTES: Final = 256 * 1024


#: How a back-end detects a lost feed message (issue 18, finding 10): not by `feedseq`, whose
#: positions are shared with records that are not on the feed, but per side, whose versions have
#: no gap.
ORIGINATOR_VERSION: Final = (
    "the event's version in its side (originatorid): 1, 2, 3 … with no gap, every version on the "
    "feed. This, not feedseq, is how a back-end detects a lost feed message: per originatorid, a "
    "version above the last it handled + 1 means the ones between are missing (or still to be "
    "redelivered after ack_wait); a version at or below it is a repeat. A side's last (or only) "
    "message has no successor to show its loss: the case query's `version` (the side's last "
    "originatorversion) above the last one handled, once the feed is drained and ack_wait has "
    "passed, means it was lost; the query's answer is the side's state to act on")
FEEDSEQ: Final = (
    "the event's position in the region's store: strictly increasing in commit order, with gaps "
    "(positions of records that are not on the feed, such as register entries and the node's "
    "own bookkeeping, and of other processes when the consumer filters by process); use it to "
    "order, not to detect a loss (see originatorversion) nor to recognise a repeat (the id "
    "does: a rebuilt, restored or replaced store numbers its positions again)")


class FeedEnvelope(TypedDict):
    """CloudEvents attributes of a feed message (lower-case, as CloudEvents requires)."""

    __pydantic_config__ = ConfigDict(strict=True)  # type: ignore[misc]

    specversion: Literal["1.0"]
    id: NonEmpty
    source: Annotated[str, Field(pattern=r"^/tongban/regions/[1-9][0-9]{5}$",
                                 description="/tongban/regions/<region>")]
    type: Annotated[str, Field(pattern=r"^cn\.tongban\.[A-Za-z][A-Za-z0-9_]*$")]
    subject: Annotated[NonEmpty, Field(description="the case number")]
    time: Annotated[AwareDatetime, Field(description="the event's instant, never the send time")]
    datacontenttype: NotRequired[Literal["application/json"]]
    region: Annotated[str, Field(pattern=REGION_CODE_PATTERN,
                                 description="the region whose side recorded the event")]
    caseid: Annotated[NonEmpty, Field(description="the case's UUID")]
    process: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", description="catalogue process")]
    originatorid: Annotated[NonEmpty, Field(description="the side's id: uuid5(case id, region)")]
    originatorversion: Annotated[int, Field(ge=1, description=ORIGINATOR_VERSION)]
    schemaversion: Annotated[int, Field(ge=1, description="the payload's schema version")]
    feedseq: Annotated[int, Field(ge=1, description=FEEDSEQ)]


FEED_ENVELOPE: Final = TypeAdapter(FeedEnvelope)


def batches(items: Sequence[SideEvent]) -> list[list[SideEvent]]:
    """`items` (the tailer's commit order) as the feed's messages: see `encode_all`."""
    return [[items[i] for i in group] for group in _groups(items, [_element(i) for i in items])]


def encode_all(items: Sequence[SideEvent]) -> list[Outgoing]:
    """What the driver publishes for one tailer batch: one message per commit and process (a
    commit's events of one process, in log order, split beyond `MAX_BATCH` events or
    `MAX_BYTES`), in the order of each message's first event."""
    elements = [_element(item) for item in items]
    return [_message([items[i] for i in group], [elements[i] for i in group])
            for group in _groups(items, elements)]


def _groups(items: Sequence[SideEvent], elements: Sequence[bytes]) -> list[list[int]]:
    """Indexes of `items` per message. A commit is a run of items with the same `committed`
    instant; within it each process fills one message at a time, greedily in log order, so a
    commit (read whole) always comes out the same way."""
    groups: list[list[int]] = []
    filling: dict[str, tuple[list[int], list[int]]] = {}  # process -> (indexes, [bytes])
    commit: object = _NO_COMMIT
    for index, item in enumerate(items):
        if item.committed != commit or commit is None:
            filling.clear()  # a new commit (an unknown one is a commit per event)
            commit = item.committed
        size = len(elements[index]) + 1
        found = filling.get(item.process)
        if found is None or len(found[0]) >= MAX_BATCH or found[1][0] + size > MAX_BYTES:
            found = ([], [1])  # the array's brackets
            filling[item.process] = found
            groups.append(found[0])
        found[0].append(index)
        found[1][0] += size
    return groups


_NO_COMMIT: Final = object()


def encode(run: Sequence[SideEvent]) -> Outgoing:
    """Events of one region's process, in log order, as one feed message (whatever grouped
    them): a JSON array of CloudEvents (the batched format), each payload upcast to the current
    schema, the bytes canonical (a republish of the same events is byte-identical and carries
    the same `Nats-Msg-Id`)."""
    return _message(run, [_element(item) for item in run])


def _message(run: Sequence[SideEvent], elements: Sequence[bytes]) -> Outgoing:
    if not run:
        raise ValueError("a feed message carries at least one event")
    problem = _inconsistency(run)
    if problem:
        raise ValueError(problem)
    first = run[0]
    body = b"[" + b",".join(elements) + b"]"
    headers = {MSG_ID_HEADER: subjects.feed_msg_id(batch_id(first.event_id, body))}
    return Outgoing(subjects.feed_subject(first.region, first.process, BATCH_TOKEN), body,
                    headers)


def batch_id(first_event_id: str, body: bytes) -> str:
    """A feed message's `Nats-Msg-Id`: its first event's id and a digest of its bytes."""
    return f"{first_event_id}:{hashlib.sha256(body).hexdigest()[:16]}"


def _inconsistency(run: Sequence[SideEvent]) -> str:
    """Why `run` cannot be one feed message ('' if it can): one region and process, `feedseq`
    strictly increasing, and each side's versions consecutive."""
    first = run[0]
    last_version: dict[str, int] = {}
    for before, after in itertools.pairwise(run):
        if after.position <= before.position:
            return "a feed message carries its events in log order (feedseq increasing)"
    for item in run:
        if item.region != first.region or item.process != first.process:
            return "a feed message carries one region's events of one process"
        previous = last_version.get(item.side_id)
        if previous is not None and item.version != previous + 1:
            return "a feed message carries each side's consecutive versions"
        last_version[item.side_id] = item.version
    return ""


#: Regions, processes and event types the feed's schema accepted, with their JSON texts.
_REGIONS: Final = Accepted()
_PROCESSES: Final = Accepted()
_TYPES: Final = Accepted()
#: An event's stored `at` -> its `time` text, for instants the schema accepts (the events of
#: one decision share theirs); at most `TIMES_KEPT`, then afresh.
_TIMES: Final[dict[str, str]] = {}
TIMES_KEPT: Final = 4096


def _element(item: SideEvent) -> bytes:
    """One event of a feed message: `write(attributes, payload)` for the attributes below,
    written out (see the end). The attributes are validated by `FEED_ENVELOPE` unless each is
    plainly what it accepts (`regions.wire.plain.Accepted`): the same bytes, the same refusals
    (`tests/unit/test_wire_written_out.py`)."""
    payload, at, time = item.payload, None, None
    if item.schema_version == _current_schema(item.type):
        at = payload["at"]
        time = _TIMES.get(at) if type(at) is str else None
        event_at = None if time is not None else dt.datetime.fromisoformat(at)
        schema = item.schema_version
    else:  # an older payload: upcast once, through the event
        event = event_from_payload(item.type, payload, item.schema_version)
        event_at, payload, schema = event.at, to_payload(event), type(event).SCHEMA_VERSION
    kind = _KINDS.get((item.region, item.process, item.type, schema)) \
        if type(schema) is int else None  # not a bool equal to a kept number
    if kind is None:
        region, process, type_ = (_REGIONS.text(item.region), _PROCESSES.text(item.process),
                                  _TYPES.text(TYPE_PREFIX + item.type))
        if region is not None and process is not None and type_ is not None \
                and plain_count(schema):
            kind = _kind(item, schema, region, process, type_)
    if time is None and plain_instant(event_at):
        time = instant_text(event_at)
        if type(at) is str:
            keep(_TIMES, at, time, TIMES_KEPT)
    if kind is None or time is None \
            or not own_attributes_plain(item.case_id, item.case_number, item.side_id,
                                        item.version, item.position) \
            or type(payload) is not dict:
        if event_at is None:
            event_at = dt.datetime.fromisoformat(item.payload["at"])  # known, others not
        attributes: dict[str, Any] = {
            "specversion": SPECVERSION, "id": item.event_id, "source": source_of(item.region),
            "type": TYPE_PREFIX + item.type, "subject": item.case_number, "time": event_at,
            "datacontenttype": DATA_CONTENT_TYPE, "region": item.region,
            "caseid": item.case_id, "process": item.process, "originatorid": item.side_id,
            "originatorversion": item.version, "schemaversion": schema,
            "feedseq": item.position,
        }
        check_attributes(FEED_ENVELOPE, attributes)  # the refusal, precisely
        if not isinstance(payload, dict):
            return write(attributes, payload)  # never from the store; the SDK's way, as before
        kind = _kind(item, schema, _REGIONS.add(item.region), _PROCESSES.add(item.process),
                     _TYPES.add(attributes["type"]))
        time = instant_text(event_at)
    # `write(attributes, payload)`, written out: the attributes are these fourteen, in sorted
    # order, each value as `json`'s encoder writes it (strings escaped to ASCII by the same C
    # function, integers by `int.__repr__`, the instant by `instant_text`); the strict schema
    # has made them strings and integers. A dict sorted and encoded per event cost as much as
    # the payload's own encoding (docs/performance.md, WIRE). The `id` is the `originatorid`'s
    # text with `:<version>` inside its quotes (neither needs escaping), and the attributes an
    # event shares with its kind are written once per kind (`_kind`).
    text, number = encode_basestring_ascii, int.__repr__
    side, version = text(item.side_id), number(item.version)
    return (f'{{"caseid": {text(item.case_id)}, "datacontenttype": "{DATA_CONTENT_TYPE}", '
            f'"feedseq": {number(item.position)}, "id": {side[:-1]}:{version}", '
            f'"originatorid": {side}, "originatorversion": {version}, {kind[0]}'
            f'"subject": {text(item.case_number)}, "time": {text(time)}, '
            f'"type": {kind[1]}, "data": {payload_text(payload)}}}').encode()


#: Per (region, process, event type, schema version) the feed's schema accepted, the texts
#: every event of that kind shares (`_kind`); at most `KINDS_KEPT`, then afresh.
_KINDS: Final[dict[tuple[str, str, str, int], tuple[str, str]]] = {}
KINDS_KEPT: Final = 4096


def _kind(item: SideEvent, schema: int, region: str, process: str,
          type_: str) -> tuple[str, str]:
    """The texts of an accepted kind of event (`region`, `process` and `type_` its attributes'
    JSON texts): its attributes from `process` to `specversion`, in order, and its `type`.

    Why: these five attributes and the type are the same for every event of a kind, and
    writing them (three look-ups, the source's escape, the schema's number) was a sixth of an
    event's attributes (CPUREAD, docs/performance.md)."""
    texts = (f'"process": {process}, "region": {region}, '
             f'"schemaversion": {int.__repr__(schema)}, '
             f'"source": {encode_basestring_ascii(SOURCE_PREFIX + item.region)}, '
             f'"specversion": "{SPECVERSION}", ', type_)
    keep(_KINDS, (item.region, item.process, item.type, schema), texts, KINDS_KEPT)
    return texts


def _current_schema(type_name: str) -> int:
    return event_type(type_name).SCHEMA_VERSION


def decode(data: bytes | str) -> list[SideEvent]:
    """Bytes -> the `SideEvent`s the node published in one message, in order; `WireError` with
    a stable reason when it is not a feed message (one region's events of one process in log
    order, each side's versions consecutive). Reads the older messages (one side's events of
    one commit) too: they are a case of this form."""
    check_depth(data)
    try:
        elements = json.loads(data)
    except (ValueError, TypeError) as exc:
        raise WireError(WireReason.NOT_JSON, f"not JSON: {exc}") from None
    if not isinstance(elements, list) or not elements:
        raise WireError(WireReason.INCONSISTENT_ENVELOPE,
                        "a feed message is a non-empty JSON array of CloudEvents")
    events = [decode_event(json.dumps(element)) for element in elements]
    problem = _inconsistency(events)
    if problem:
        raise WireError(WireReason.INCONSISTENT_ENVELOPE, problem)
    return events


def decode_event(data: bytes | str) -> SideEvent:
    """One CloudEvent of a feed message -> its `SideEvent`."""
    attributes, payload = read(data)
    check_attributes(FEED_ENVELOPE, attributes)
    type_ = attributes["type"].removeprefix(TYPE_PREFIX)
    try:
        RegionCode.parse(attributes["region"])
    except InvalidValue as exc:
        raise WireError(WireReason.BAD_REGION_CODE, f"region: {exc}") from None
    if attributes["id"] != f"{attributes['originatorid']}:{attributes['originatorversion']}":
        raise WireError(WireReason.INCONSISTENT_ENVELOPE,
                        f"id {attributes['id']!r} is not originatorid:originatorversion")
    if attributes["source"] != source_of(attributes["region"]):
        raise WireError(WireReason.INCONSISTENT_ENVELOPE,
                        f"source {attributes['source']!r} is not region {attributes['region']}'s")
    if not isinstance(payload, dict):
        raise WireError(WireReason.PAYLOAD_MISMATCH,
                        f"data must be a JSON object, got {type(payload).__name__}")
    return SideEvent(
        region=attributes["region"], case_id=attributes["caseid"],
        case_number=attributes["subject"], process=attributes["process"],
        side_id=attributes["originatorid"], version=attributes["originatorversion"],
        type=type_, schema_version=attributes["schemaversion"], position=attributes["feedseq"],
        payload=payload)
