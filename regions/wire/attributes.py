"""The CloudEvents attributes of a link message: their names, their schemas, their checks.

Why a module of its own: the attributes are the contract a back-end or a peer reads first, and
three places hold to the same schemas — the envelope checks received messages with them
(`regions.wire.envelope`), `regions.wire.schemas` and `regions.contract` publish them in
asyncapi.yaml, and `regions.wire.plain`'s fast checks are derived from them; here they import
nothing of the wire's codecs, so each of those can import them.

CloudEvents attribute names must be lower-case alphanumerics, so the design's names map as:

    design name         CloudEvents attribute    value
    event id            id                       "<originator_id>:<version>" (origin identity)
    origin region       source                   "/tongban/regions/<origin>"
    event type          type                     "cn.tongban.<Event.TYPE>"
    case number         subject                  the human case number
    event instant       time                     the event's `at`, stored (never "now")
    link_seq            linkseq                  1, 2, 3… per origin → destination link
    prev_hash           prevhash                 reserved for trust (absent for now)
    key_id              keyid                    reserved for trust (absent for now)
    sig                 sig                      reserved for trust (absent for now)
    receipt_of          receiptof                "<originator_id>:<version>" of the event receipted
    traceparent         traceparent              W3C trace context (CloudEvents tracing extension)
    schema_version      schemaversion            the payload's schema version
    originator_id       originatorid             the origin side's aggregate id
    originator_version  originatorversion        the event's version in that aggregate
    origin/destination  origin, destination      GB/T 2260 region codes of the link
    process             process                  the catalogue process (e.g. "pension_transfer")
    case id             caseid                   the case's UUID
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, NotRequired

from pydantic import AwareDatetime, ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from domain.kernel import InvalidValue
from domain.values import RegionCode
from regions.wire.errors import LinkPosition, WireError, WireReason

SPECVERSION: Final = "1.0"
TYPE_PREFIX: Final = "cn.tongban."
CONTROL_TYPE_PREFIX: Final = "cn.tongban.link."
DATA_CONTENT_TYPE: Final = "application/json"
SOURCE_PREFIX: Final = "/tongban/regions/"
#: Shape of a GB/T 2260 region code in the schema; `domain.values.RegionCode` checks the rest.
REGION_CODE_PATTERN: Final = r"^[1-9][0-9]{5}$"
EVENT_ID_PATTERN: Final = r"^[^:\s]+:[1-9][0-9]*$"
TRACEPARENT_PATTERN: Final = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


# --------------------------------------------------------------------------- attributes

RegionCodeText = Annotated[str, Field(pattern=REGION_CODE_PATTERN, description="GB/T 2260 code")]
NonEmpty = Annotated[str, Field(min_length=1)]


class LinkEnvelope(TypedDict):
    """CloudEvents attributes every message on a link carries (events and control messages)."""

    __pydantic_config__ = ConfigDict(strict=True)  # type: ignore[misc]

    specversion: Literal["1.0"]
    id: NonEmpty
    source: Annotated[str, Field(
        pattern=r"^/tongban/regions/[1-9][0-9]{5}$",
        description="/tongban/regions/<sending region>")]
    type: Annotated[str, Field(pattern=r"^cn\.tongban\.[A-Za-z0-9_.]+$")]
    time: Annotated[AwareDatetime, Field(description="the fact's instant, never the send time")]
    datacontenttype: NotRequired[Literal["application/json"]]
    origin: Annotated[RegionCodeText, Field(description="the link's origin region")]
    destination: Annotated[RegionCodeText, Field(description="the link's destination region")]


class EventEnvelope(LinkEnvelope):
    """CloudEvents attributes of a shared domain event on a link (lower-case, as CloudEvents requires)."""

    subject: Annotated[NonEmpty, Field(description="the case number")]
    linkseq: Annotated[int, Field(ge=1, description=(
        "design `link_seq`: contiguous per link and never reused — a region restored from a "
        "backup numbers on after what its peers recorded (`tongban links restored`); a receiver "
        "quarantines a linkseq it recorded for another event (`reused_link_seq`)"))]
    schemaversion: Annotated[int, Field(ge=1, description="design `schema_version`")]
    originatorid: Annotated[NonEmpty, Field(description="design `originator_id`")]
    originatorversion: Annotated[int, Field(ge=1, description="design `originator_version`")]
    process: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", description="catalogue process")]
    caseid: Annotated[NonEmpty, Field(description="the case's UUID")]
    prevhash: NotRequired[Annotated[NonEmpty, Field(description="design `prev_hash` (trust)")]]
    keyid: NotRequired[Annotated[NonEmpty, Field(description="design `key_id` (trust)")]]
    sig: NotRequired[Annotated[NonEmpty, Field(description="design `sig` (trust)")]]
    receiptof: NotRequired[Annotated[str, Field(
        pattern=EVENT_ID_PATTERN, description="design `receipt_of`: id of the receipted event")]]
    traceparent: NotRequired[Annotated[str, Field(
        pattern=TRACEPARENT_PATTERN, description="W3C trace context")]]


class ControlEnvelope(LinkEnvelope):
    """CloudEvents attributes of a link control message: the link's only (fields are in `data`)."""


EVENT_ENVELOPE: Final = TypeAdapter(EventEnvelope)
CONTROL_ENVELOPE: Final = TypeAdapter(ControlEnvelope)


def source_of(region: str) -> str:
    return SOURCE_PREFIX + region


def check_link(origin: str, destination: str, position: LinkPosition | None = None) -> None:
    """Both ends are real region codes and differ (a side's id is per case *and* region)."""
    for name, code in (("origin", origin), ("destination", destination)):
        try:
            RegionCode.parse(code)
        except InvalidValue as exc:
            raise WireError(WireReason.BAD_REGION_CODE, f"{name}: {exc}",
                            position=position) from None
    if origin == destination:
        raise WireError(WireReason.INCONSISTENT_ENVELOPE,
                        f"a link joins two regions, got {origin} → {destination}",
                        position=position)


def check_attributes(adapter: TypeAdapter[Any], attributes: dict[str, Any]) -> None:
    """Validate envelope attributes, turning the first problem into a specific `WireError`."""
    try:
        adapter.validate_python(attributes)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "?"
        detail = f"attribute {name!r}: {error['msg']}"
        if error["type"] == "missing":
            raise WireError(WireReason.MISSING_ATTRIBUTE, detail) from None
        if name == "specversion":
            raise WireError(WireReason.UNSUPPORTED_SPECVERSION, detail) from None
        if name in ("origin", "destination"):
            raise WireError(WireReason.BAD_REGION_CODE, detail) from None
        raise WireError(WireReason.BAD_ATTRIBUTE, detail) from None
