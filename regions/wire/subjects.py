"""The subject grammar: who may publish where, and which stream and consumer hold what.

Why fixed tokens: the destination and the origin are always the 4th and 5th token of an event
subject, so one stream per destination (`tb.v1.evt.<dest>.*`) carries only the traffic of cases
that region takes part in, and one NATS permission pattern per region (publish
`tb.v1.evt.*.<self>`) stops a region from forging another's events. Region codes are the 6-digit
GB/T 2260 codes (鄂尔多斯 150600, 榆林 610800).

| what | subject | stream | consumer |
|---|---|---|---|
| events origin → dest | `tb.v1.evt.<dest>.<origin>` | `TB_EVT_<dest>` | `inbox_<dest>` |
| dead letters of dest | `tb.v1.dlq.<dest>` | `TB_DLQ_<dest>` | — |
| commands of a back-end (request/reply) | `tb.v1.cmd.<region>.<backend>` | — | — |
| materials (request/reply) | `tb.v1.doc.<region>` | — | — |
| back-end feed of region | `tb.v1.feed.<region>.<process>.events` | `TB_FEED_<region>` | `<backend>` |
| replies to a node | `_INBOX_<region>.…` | — | — |
| replies to a back-end | `_INBOX_<region>_<backend>.…` | — | — |

`TB_EVT_<dest>` holds `tb.v1.evt.<dest>.*`, `TB_DLQ_<dest>` holds `tb.v1.dlq.<dest>`,
`TB_FEED_<region>` holds `tb.v1.feed.<region>.>`: every event committed on the region's case sides,
for its own back-ends, one message per commit and process (`regions.wire.feed`); the process
token lets a back-end filter (`tb.v1.feed.150600.pension_transfer.*`) and a permission allow only
its region's feed. A feed message's `Nats-Msg-Id` is `"<first event id>:<digest of its
bytes>"` (one stream per region).

`Nats-Msg-Id` is `"<event id>:<dest>"`: the destination is part of it because one event may
be published to several destinations, and JetStream deduplicates per stream anyway.

A command subject names its sender: only back-end `<backend>` of `<region>` may publish on
`tb.v1.cmd.<region>.<backend>` (one NATS permission), so the node takes the command's principal
(`backend:<backend>`) from the subject and never from the body. Reply subjects are per NATS
user: each user connects with its own inbox prefix (nats-py `inbox_prefix`) and may subscribe
only under it, so no user reads another's replies, pull deliveries or publish acks; a node
answers only on a reply subject under the asker's own prefix (`inbox_owner`).

Every builder validates its tokens and every parser refuses what the grammar does not produce;
bad input raises `ValueError` naming the offending value.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

PREFIX = "tb.v1"

_REGION = re.compile(r"[0-9]{6}")
_EVENT_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")  # "<originator_id>:<version>" holds a colon
_TOKEN = re.compile(r"[^\s.*>]+")

_PROCESS = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")

_BACKEND = re.compile(r"[A-Za-z0-9_-]{1,64}")
_INBOX_TOKEN = re.compile(r"_INBOX_([0-9]{6})(?:_([A-Za-z0-9_-]{1,64}))?")

AddressKind = Literal["evt", "dlq", "cmd", "doc", "feed"]
_SINGLE_REGION_KINDS: dict[str, AddressKind] = {"dlq": "dlq", "doc": "doc"}


@dataclass(frozen=True)
class Address:
    """A parsed subject: its kind, the region it is addressed to, and (events only) the origin."""

    kind: AddressKind
    region: str
    origin: str | None = None
    process: str | None = None  # feed only
    type: str | None = None  # feed only
    backend: str | None = None  # cmd only: the sender


def region_code(code: str) -> str:
    """The code itself when it is six ASCII digits; a subject token must never be anything else."""
    if not isinstance(code, str) or not _REGION.fullmatch(code):
        raise ValueError(f"region code must be 6 digits (GB/T 2260), got {code!r}")
    return code


def event_subject(dest: str, origin: str) -> str:
    if region_code(dest) == region_code(origin):
        raise ValueError(f"an event subject needs two different regions, got {dest} twice")
    return f"{PREFIX}.evt.{dest}.{origin}"


def event_stream_name(dest: str) -> str:
    return f"TB_EVT_{region_code(dest)}"


def event_stream_subjects(dest: str) -> list[str]:
    return [f"{PREFIX}.evt.{region_code(dest)}.*"]


def outbound_stream_name(dest: str) -> str:
    """Multi-site: the stream on *this* JetStream domain that holds events to `dest`, a region
    homed on another domain, until `dest`'s `TB_EVT_` sources it (`regions.adapters.brokers.domains`)."""
    return f"TB_OUT_{region_code(dest)}"


def inbox_consumer_name(dest: str) -> str:
    return f"inbox_{region_code(dest)}"


def dead_letter_subject(dest: str) -> str:
    return f"{PREFIX}.dlq.{region_code(dest)}"


def dead_letter_stream_name(dest: str) -> str:
    return f"TB_DLQ_{region_code(dest)}"


def backend_name(name: str) -> str:
    """A back-end's name: a subject token, a durable consumer name and part of a NATS user name,
    so 1-64 of `[A-Za-z0-9_-]` (JetStream allows no `.`, `*`, `>` or spaces in a consumer name).
    """
    if not isinstance(name, str) or not _BACKEND.fullmatch(name):
        raise ValueError(f"back-end name must be 1-64 of [A-Za-z0-9_-], got {name!r}")
    return name


def command_subject(region: str, backend: str) -> str:
    """Where back-end `backend` of `region` sends its commands; the subject is its identity."""
    return f"{PREFIX}.cmd.{region_code(region)}.{backend_name(backend)}"


def command_filter(region: str) -> str:
    """What a region's command endpoint subscribes to: every back-end's command subject."""
    return f"{PREFIX}.cmd.{region_code(region)}.*"


def materials_subject(region: str) -> str:
    return f"{PREFIX}.doc.{region_code(region)}"


def feed_subject(region: str, process: str, type_: str) -> str:
    """Where one event of `region`'s side of a `process` case goes to the region's back-ends."""
    if not isinstance(process, str) or not _PROCESS.fullmatch(process):
        raise ValueError(f"process must be lower_snake_case (pension_transfer), got {process!r}")
    if not isinstance(type_, str) or not _TYPE.fullmatch(type_):
        raise ValueError(f"event type must be an identifier (InfoSheetReceived), got {type_!r}")
    return f"{PREFIX}.feed.{region_code(region)}.{process}.{type_}"


def feed_filter(region: str, process: str | None = None) -> str:
    """The subject filter of a back-end's consumer: a region's whole feed, or one process."""
    if process is None:
        return f"{PREFIX}.feed.{region_code(region)}.>"
    feed_subject(region, process, "Any")  # validates both
    return f"{PREFIX}.feed.{region}.{process}.*"


def feed_stream_name(region: str) -> str:
    return f"TB_FEED_{region_code(region)}"


def feed_stream_subjects(region: str) -> list[str]:
    return [feed_filter(region)]


def feed_consumer_name(backend: str) -> str:
    """A back-end's durable consumer on its region's feed: its own name (provisioned by the
    admin, `tongban nats provision --backend NAME`; the back-end may only read, pull and ack it).
    """
    return backend_name(backend)


def inbox_prefix(region: str, backend: str | None = None) -> str:
    """The reply prefix of a region's node (`_INBOX_<region>`) or of one of its back-ends
    (`_INBOX_<region>_<backend>`): the only reply subjects that NATS user may subscribe to."""
    code = region_code(region)
    return f"_INBOX_{code}" if backend is None else f"_INBOX_{code}_{backend_name(backend)}"


def inbox_owner(reply: str) -> tuple[str, str | None] | None:
    """`(region, back-end or None)` whose inbox prefix `reply` lies under; None for any other
    subject (the default `_INBOX.`, a stream subject, an API subject...)."""
    head, dot, rest = reply.partition(".") if isinstance(reply, str) else ("", "", "")
    found = _INBOX_TOKEN.fullmatch(head)
    if found is None or not dot or not rest:
        return None
    try:
        check_publish_subject(reply)
    except ValueError:
        return None
    return found.group(1), found.group(2)


def feed_msg_id(event_id: str) -> str:
    """The `Nats-Msg-Id` of one feed message: what it carries (one stream per region)."""
    if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
        raise ValueError(f"event id must be 1-128 of [A-Za-z0-9._:-], got {event_id!r}")
    return event_id


def parse_subject(subject: str) -> Address:
    """Any subject of the grammar back into its parts; anything else is a `ValueError`."""
    tokens = subject.split(".") if isinstance(subject, str) else []
    if len(tokens) < 4 or ".".join(tokens[:2]) != PREFIX:
        raise ValueError(f"not a {PREFIX} subject: {subject!r}")
    kind, rest = tokens[2], tokens[3:]
    try:
        if kind == "evt" and len(rest) == 2:
            dest, origin = rest
            event_subject(dest, origin)
            return Address("evt", dest, origin)
        if kind == "feed" and len(rest) == 3:
            region, process, type_ = rest
            feed_subject(region, process, type_)
            return Address("feed", region, process=process, type=type_)
        if kind == "cmd" and len(rest) == 2:
            region, backend = rest
            command_subject(region, backend)
            return Address("cmd", region, backend=backend)
        if kind in _SINGLE_REGION_KINDS and len(rest) == 1:
            return Address(_SINGLE_REGION_KINDS[kind], region_code(rest[0]))
    except ValueError as exc:
        raise ValueError(f"bad subject {subject!r}: {exc}") from None
    raise ValueError(f"bad subject {subject!r}: unknown kind or wrong number of tokens")


def parse_event_subject(subject: str) -> tuple[str, str]:
    """`(dest, origin)` of an event subject (memoised: a node sees a few subjects, each on
    every delivery)."""
    if not isinstance(subject, str):
        return _parse_event_subject(subject)
    return _parse_event_subject_cached(subject)


@functools.lru_cache(maxsize=4096)
def _parse_event_subject_cached(subject: str) -> tuple[str, str]:
    return _parse_event_subject(subject)


def _parse_event_subject(subject: str) -> tuple[str, str]:
    address = parse_subject(subject)
    if address.kind != "evt" or address.origin is None:
        raise ValueError(f"not an event subject: {subject!r}")
    return address.region, address.origin


def msg_id(event_id: str | UUID, dest: str) -> str:
    """The `Nats-Msg-Id` of one event sent to one destination."""
    text = str(event_id)
    if not _EVENT_ID.fullmatch(text):
        raise ValueError(f"event id must be 1-128 of [A-Za-z0-9._:-], got {text!r}")
    return f"{text}:{region_code(dest)}"


def parse_msg_id(value: str) -> tuple[str, str]:
    """`(event id, dest)` of a `Nats-Msg-Id` built by `msg_id`."""
    event_id, sep, dest = value.rpartition(":") if isinstance(value, str) else ("", "", "")
    if not sep:
        raise ValueError(f"Nats-Msg-Id must be '<event id>:<dest>', got {value!r}")
    msg_id(event_id, dest)  # validates both parts
    return event_id, dest


def check_publish_subject(subject: str) -> str:
    """A concrete NATS subject: non-empty tokens, no whitespace, no wildcards (memoised: a
    broker sees a few subjects, each on every publish)."""
    if not isinstance(subject, str) or not _publishable(subject):
        raise ValueError(f"not a publishable subject (empty token, space or wildcard): {subject!r}")
    return subject


@functools.lru_cache(maxsize=4096)
def _publishable(subject: str) -> bool:
    return all(_TOKEN.fullmatch(t) for t in subject.split("."))


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: `*` is exactly one token, a final `>` is one or more tokens."""
    want, have = pattern.split("."), subject.split(".")
    for index, token in enumerate(want):
        if token == ">":
            return index == len(want) - 1 and len(have) > index
        if index >= len(have) or (token != "*" and token != have[index]):
            return False
    return len(have) == len(want)
