"""The back-end feed's part of `asyncapi.yaml`: its channel, its two operations, its message
(`FeedEvent`: every domain event a case side records, in the batched CloudEvents form) and the
paragraph of the document's description that tells a back-end how to read it.

Why a module of its own: the feed is the contract's one stream for back-ends, generated from its
own envelope (`regions.wire.feed.FeedEnvelope`) and from every domain event type (local ones too),
where the links publish the shared ones only; `regions.contract.asyncapi` assembles it with the
links, the quarantine and the commands, and re-exports what its importers read from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import TypeAdapter

from domain.kernel import Event, event_types
from domain.protocols import PROTOCOLS
from domain.registers import RegisterEvent
from regions.wire.attributes import TYPE_PREFIX
from regions.wire.feed import BATCH_CONTENT_TYPE, MAX_BATCH, FeedEnvelope
from regions.wire.schemas import REF_TEMPLATE, load_domain

FEED_CHANNEL: Final = "regionFeed"
FEED_EVENT: Final = "FeedEvent"

#: The document description's paragraph on the feed (between the payload rules and the
#: streams' retention).
FEED_DESCRIPTION: Final = f"""\
Back-ends consume their region's feed `tb.v1.feed.<region>.<process>.events` (stream
`TB_FEED_<region>`): every event recorded on the region's sides of cases — its own decisions,
receipts of counterpart events, deadlines — in commit order, one message per commit and
process (`FeedEvent`: a JSON array of CloudEvents, the events one transaction recorded on any
number of the process's case sides, at most {MAX_BATCH}; a larger commit comes in several
messages, split the same way every time), each event's `feedseq` increasing with commit order
(with gaps: it is a store position), each side's `originatorversion`s consecutive within a
message. Handle a message's events one at a time, in order, and ack the message once all are
handled; recognise a repeat per event by its identity (`originatorversion` per `originatorid`,
the CloudEvents `id`), never per message and never by `feedseq`: that is one store's position,
and a store rebuilt, restored from a backup or replaced numbers its events from the same
positions again, so a new event can come with a `feedseq` already handled. A lost message
shows as a gap in `originatorversion` per `originatorid` (a case side's versions are 1, 2, 3 …
and every one is on the feed), a lost last message of a side as the case query's `version` above
the last one handled (`feedseq` is not gap-free and cannot show a loss). Register entries are
not on the feed. Each back-end reads with its own durable consumer (explicit acks, from the
start; created by the operator, `tongban nats provision --backend NAME`), so a restart resumes
where it stopped; delivery is at-least-once, so a back-end acts idempotently (deterministic
`command_id`s).
"""


def feed_channel(region_parameter: str) -> dict[str, Any]:
    """The feed's channel, `tb.v1.feed.{region}.{process}.{type}` on `TB_FEED_{region}`."""
    return {
        FEED_CHANNEL: {
            "address": "tb.v1.feed.{region}.{process}.{type}",
            "title": "A region's feed for its back-ends",
            "description": "Every event recorded on the region's sides of cases, in commit "
                           "order. Filter by process with `tb.v1.feed.{region}.{process}.*`.",
            "parameters": {
                "region": {"description": f"the recording region: {region_parameter}"},
                "process": {"description": "the case's catalogue process",
                            "enum": sorted(PROTOCOLS)},
                "type": {"description": "the event type (e.g. InfoSheetReceived)"},
            },
            "messages": {FEED_EVENT: {"$ref": f"#/components/messages/{FEED_EVENT}"}},
            "x-jetstream": {
                "stream": "TB_FEED_{region}",
                "subjects": ["tb.v1.feed.{region}.>"],
                "retention": "limits",
                "storage": "file",
                "discard": "new: a full stream refuses publishes; messages expire after "
                           "max_age 70 days; provisioned by `tongban nats provision`",
            },
        },
    }


def feed_operations(feed_ref: list[dict[str, str]]) -> dict[str, Any]:
    """`publishFeed` (the node's relay) and `consumeFeed` (a back-end), on `feed_ref`."""
    return {
        "publishFeed": {
            "action": "send",
            "channel": {"$ref": f"#/channels/{FEED_CHANNEL}"},
            "summary": "The node's feed relay publishes the recorded side events once their "
                       "transaction committed, in commit order, with its own cursor: one "
                       "message per commit and process (the events one transaction recorded "
                       "on the process's case sides, in log order; a commit beyond the "
                       "size limits is split, the same way every time).",
            "messages": feed_ref,
            "x-jetstream": {
                "dedup_header": "Nats-Msg-Id",
                "msg_id": "<first event's id>:<first 16 hex digits of the SHA-256 of "
                          "the message's bytes>",
            },
        },
        "consumeFeed": {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{FEED_CHANNEL}"},
            "summary": "A back-end handles the events of each message in order and acks "
                       "the message after handling them all. feedseq is not gap-free; "
                       "loss is detected by originatorversion: the back-end remembers, per "
                       "originatorid, the last originatorversion handled: a higher one "
                       "than the next is a loss (or a redelivery still to come after "
                       "ack_wait), a lower one a repeat to ack and skip; a lost last "
                       "message shows as the case query's version above the last handled.",
            "messages": feed_ref,
            "x-jetstream": {
                "durable": "one per back-end, named by it (e.g. pension), created by the "
                           "operator: `tongban nats provision --backend NAME[=PROCESS]`; "
                           "the back-end may read, pull and ack only its own",
                "consumer": "pull",
                "ack_policy": "explicit",
                "deliver_policy": "all",
                "filter_subject": "tb.v1.feed.{region}.> or tb.v1.feed.{region}.{process}.*",
                "ack_wait": "5 s: after a crash (of the back-end, or of nats-server losing "
                            "acks) the deliveries held count until ack_wait passes, so a "
                            "short ack_wait is a prompt drain; keep a slow handler's "
                            "deliveries alive with +WPI every third of it",
                "max_ack_pending": "64 messages (each one commit's events of a process, "
                                   "up to 100); "
                                   "fetch at most this many at a time. After a crash "
                                   "the deliveries a dead process held come back after "
                                   "ack_wait, possibly behind later events: remember "
                                   "which events you handled (by id, not feedseq), "
                                   "not the highest",
            },
        },
    }


def _feed_headers_schema() -> dict[str, Any]:
    """The feed's headers as `regions.wire.feed.encode` sends them (one stream per region, so
    the event's identity alone is the dedup key, without a destination)."""
    return {
        "type": "object",
        "required": ["Nats-Msg-Id"],
        "properties": {
            "Nats-Msg-Id": {
                "type": "string",
                "description": "JetStream dedup key: the first event's CloudEvents id "
                               "(`<originatorid>:<originatorversion>`), a colon, and the first "
                               "16 hex digits of the SHA-256 of the message's bytes; the same "
                               "id is the same message. "
                               "A republish after a crash carries the same commits in the same "
                               "messages and is dropped; if not (a commit read in two parts), "
                               "a repeat shows per event by its id (originatorversion per "
                               "originatorid; not feedseq, a store's position). Contract "
                               "2.0 nodes sent `<originatorid>:<first>-<last>`",
            },
        },
    }


def all_domain_event_types() -> dict[str, type[Event]]:
    """Every event type of `domain` (local ones too), sorted."""
    load_domain()
    return {name: cls for name, cls in sorted(event_types().items())
            if cls.__module__.startswith("domain.")}


def feed_event_types() -> dict[str, type[Event]]:
    """The types the feed can carry: events of case sides. Register entries (`RegisterEvent`)
    are streams of their own that the feed's tailer skips, so they are never on it."""
    return {name: cls for name, cls in all_domain_event_types().items()
            if not issubclass(cls, RegisterEvent)}


def feed_components(existing: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The feed envelope and every domain event's schema (local ones too), and the message.

    Generated like the commands' (`command_definitions`): a shared nested type must come out
    identical to the one the links already define.
    """
    classes = feed_event_types()
    inputs: list[tuple[str, Any]] = [("envelope:feed", FeedEnvelope),
                                     *((f"event:{n}", c) for n, c in classes.items())]
    refs, generated = TypeAdapter.json_schemas(
        [(key, "validation", TypeAdapter(tp)) for key, tp in inputs], ref_template=REF_TEMPLATE)
    by_key = {key: schema for (key, _mode), schema in refs.items()}
    definitions = dict(sorted(generated.get("$defs", {}).items()))
    for name, schema in definitions.items():
        if name in existing and existing[name] != schema:
            raise ValueError(f"schema {name!r} differs between the links and the feed")
    data_by_type = [
        {"if": {"properties": {"type": {"const": TYPE_PREFIX + name}}},
         "then": {"properties": {"data": by_key[f"event:{name}"]}}}
        for name in classes]
    message = {
        "name": FEED_EVENT,
        "title": "Feed events of one commit and process",
        "summary": "The events one commit recorded on the region's case sides of one process, "
                   "in log order (feedseq increasing): a JSON array (CloudEvents batched JSON) "
                   "of structured CloudEvents, of any number of originatorids, each one's "
                   "originatorversions consecutive. Older messages (contract 2.0) carry one "
                   "originatorid's events: a case of the same form.",
        "contentType": BATCH_CONTENT_TYPE,
        "headers": _feed_headers_schema(),
        "payload": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": {
            "allOf": [
                by_key["envelope:feed"],
                {"type": "object", "required": ["data"],
                 "properties": {"type": {"enum": [TYPE_PREFIX + n for n in classes]},
                                "data": {"type": "object"}}},
                *data_by_type,
            ],
        }},
    }
    return definitions, message
