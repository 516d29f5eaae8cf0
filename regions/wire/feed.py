"""The back-end feed message: one side event in a CloudEvents 1.0 envelope (structured JSON).

Why CloudEvents again: a region's back-ends are written in any language; the feed uses the same
envelope as the links (`regions.wire.envelope`), the same canonical bytes and the same refusal
reasons, so one reader serves both. The attributes (lower-case, as CloudEvents requires):

    id                  "<originatorid>:<originatorversion>" — the event's identity; also the
                        `Nats-Msg-Id`, so a relay that republishes is deduplicated
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
one, `encode` publishes it, and a back-end's `decode` gets the same record back (its payload at
the current schema version), so in-process readers and back-ends read one type.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, NotRequired

from pydantic import AwareDatetime, ConfigDict, Field, TypeAdapter
from typing_extensions import TypedDict

from domain.kernel import (
    InvalidValue,
    event_from_payload,
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
    read,
    source_of,
    write,
)

NonEmpty = Annotated[str, Field(min_length=1)]


#: How a back-end detects a lost feed message (issue 18, finding 10): not by `feedseq`, whose
#: positions are shared with records that are not on the feed, but per side, whose versions have
#: no gap.
ORIGINATOR_VERSION: Final = (
    "the event's version in its side (originatorid): 1, 2, 3 … with no gap, every version on the "
    "feed. A back-end detects a lost message per originatorid: a version above the last it "
    "handled + 1 means the ones between are missing (or still to be redelivered after ack_wait); "
    "a version at or below it is a repeat")
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


def encode(item: SideEvent) -> Outgoing:
    """A side event as the feed message the driver publishes; the payload is upcast to the current
    schema, and the bytes are canonical (a republish is byte-identical)."""
    event = event_from_payload(item.type, item.payload, item.schema_version)
    attributes: dict[str, Any] = {
        "specversion": SPECVERSION, "id": item.event_id, "source": source_of(item.region),
        "type": TYPE_PREFIX + item.type, "subject": item.case_number, "time": event.at,
        "datacontenttype": DATA_CONTENT_TYPE, "region": item.region, "caseid": item.case_id,
        "process": item.process, "originatorid": item.side_id,
        "originatorversion": item.version, "schemaversion": type(event).SCHEMA_VERSION,
        "feedseq": item.position,
    }
    check_attributes(FEED_ENVELOPE, attributes)
    headers = {MSG_ID_HEADER: subjects.feed_msg_id(item.event_id)}
    return Outgoing(subjects.feed_subject(item.region, item.process, item.type),
                    write(attributes, to_payload(event)), headers)


def decode(data: bytes | str) -> SideEvent:
    """Bytes -> `SideEvent` (the record the node published); `WireError` with a stable reason
    when it is not a feed message."""
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
