"""The back-end feed message: one side's events of one commit, a JSON array of CloudEvents 1.0
envelopes (structured JSON each; the CloudEvents batched JSON format).

Why one message per side and commit rather than per event: the feed was ~11 of a case's ~23
messages, each a publish, an ack and a stored JetStream message; a side's commit writes 1-5
events at once, and a back-end handles them in order anyway. The message's `Nats-Msg-Id` is
`<originatorid>:<first version>-<last version>` (the event id when it carries one event); the
subject `tb.v1.feed.<region>.<process>.events` names the process (a back-end's filter) but no
type, since a message carries several.

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
one per event, `encode_all` publishes them in runs, and a back-end's `decode` gets the same records
back (their payloads at the current schema version), so in-process readers and back-ends read one
type. A stored payload already at the current schema goes out as stored (one conversion per
event: no decode into the event and encode again).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Sequence
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
from regions.wire.envelope import (
    DATA_CONTENT_TYPE,
    REGION_CODE_PATTERN,
    SPECVERSION,
    TYPE_PREFIX,
    WireError,
    WireReason,
    check_attributes,
    check_depth,
    read,
    source_of,
    write,
)

NonEmpty = Annotated[str, Field(min_length=1)]

#: The last token of every feed subject (`tb.v1.feed.<region>.<process>.events`): a message
#: carries several event types, so the subject names the side's process, not a type.
BATCH_TOKEN: Final = "events"
#: The CloudEvents JSON batch format: a message is an array of structured events.
BATCH_CONTENT_TYPE: Final = "application/cloudevents-batch+json"
#: At most this many events per message (a side's one commit holds a handful).
MAX_BATCH: Final = 100


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
    "order and to recognise a repeat, not to detect a loss (see originatorversion)")


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
    """`items` (the tailer's commit order) cut into runs of one side's consecutive events: one
    feed message each. A side's events of one commit are written together, so a run is a side's
    share of one commit (or of a few, when they follow each other in the log); the order across
    runs is the log's, so the feed stays in commit order."""
    runs: list[list[SideEvent]] = []
    for item in items:
        if runs and runs[-1][-1].side_id == item.side_id and len(runs[-1]) < MAX_BATCH:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def encode_all(items: Sequence[SideEvent]) -> list[Outgoing]:
    """What the driver publishes for one tailer batch: one message per run (`batches`)."""
    return [encode(run) for run in batches(items)]


def encode(run: Sequence[SideEvent]) -> Outgoing:
    """One run of a side's consecutive events as one feed message: a JSON array of CloudEvents
    (the batched format), each payload upcast to the current schema, the bytes canonical (a
    republish of the same run is byte-identical and carries the same `Nats-Msg-Id`)."""
    if not run:
        raise ValueError("a feed message carries at least one event")
    first, last = run[0], run[-1]
    for before, after in itertools.pairwise(run):
        if after.side_id != first.side_id or after.version != before.version + 1:
            raise ValueError("a feed message carries one side's consecutive versions")
    body = b"[" + b",".join(_element(item) for item in run) + b"]"
    headers = {MSG_ID_HEADER: subjects.feed_msg_id(batch_id(first.side_id, first.version,
                                                            last.version))}
    return Outgoing(subjects.feed_subject(first.region, first.process, BATCH_TOKEN), body,
                    headers)


def batch_id(side_id: str, first: int, last: int) -> str:
    """A feed message's `Nats-Msg-Id`: its side and the versions it carries."""
    return f"{side_id}:{first}" if first == last else f"{side_id}:{first}-{last}"


def _element(item: SideEvent) -> bytes:
    if item.schema_version == _current_schema(item.type):
        event_at = dt.datetime.fromisoformat(item.payload["at"])
        payload, schema = item.payload, item.schema_version
    else:  # an older payload: upcast once, through the event
        event = event_from_payload(item.type, item.payload, item.schema_version)
        event_at, payload, schema = event.at, to_payload(event), type(event).SCHEMA_VERSION
    attributes: dict[str, Any] = {
        "specversion": SPECVERSION, "id": item.event_id, "source": source_of(item.region),
        "type": TYPE_PREFIX + item.type, "subject": item.case_number, "time": event_at,
        "datacontenttype": DATA_CONTENT_TYPE, "region": item.region, "caseid": item.case_id,
        "process": item.process, "originatorid": item.side_id,
        "originatorversion": item.version, "schemaversion": schema,
        "feedseq": item.position,
    }
    check_attributes(FEED_ENVELOPE, attributes)
    return write(attributes, payload)


def _current_schema(type_name: str) -> int:
    return event_type(type_name).SCHEMA_VERSION


def decode(data: bytes | str) -> list[SideEvent]:
    """Bytes -> the `SideEvent`s the node published in one message, in order; `WireError` with
    a stable reason when it is not a feed message (one side's consecutive versions)."""
    check_depth(data)
    try:
        elements = json.loads(data)
    except (ValueError, TypeError) as exc:
        raise WireError(WireReason.NOT_JSON, f"not JSON: {exc}") from None
    if not isinstance(elements, list) or not elements:
        raise WireError(WireReason.INCONSISTENT_ENVELOPE,
                        "a feed message is a non-empty JSON array of CloudEvents")
    events = [decode_event(json.dumps(element)) for element in elements]
    for before, after in itertools.pairwise(events):
        if after.side_id != before.side_id or after.version != before.version + 1:
            raise WireError(WireReason.INCONSISTENT_ENVELOPE,
                            "a feed message carries one side's consecutive versions")
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
