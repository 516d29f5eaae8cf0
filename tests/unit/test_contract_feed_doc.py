"""asyncapi.yaml tells a back-end what the feed really sends (issue 18, findings 9, 10, 11, 14).

An outside team read the document and found: the feed's `Nats-Msg-Id` documented as
`<id>:<destination>` (it is `<id>`); `feedseq` documented as "increasing" without saying it has
gaps, so no way to detect a lost message; register events listed as feed types though never on the
feed; descriptions that point at Python modules instead of stating behaviour.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

from domain.deadlines import DeadlineCleared
from domain.kernel import Actor, to_payload
from projections.records import SideEvent
from regions.contract.asyncapi import all_domain_event_types, build_document
from regions.wire import feed
from tests.unit.test_asyncapi import committed

MODULE_NAME = re.compile(r"`?\b(?:regions|projections|domain|tests)\.[a-z_]+(?:\.[A-Za-z_]+)*")


def feed_message() -> dict[str, Any]:
    return committed()["components"]["messages"]["FeedEvent"]


def test_the_feed_headers_are_documented_as_sent() -> None:
    document = committed()
    headers = feed_message()["headers"]
    if "$ref" in headers:
        name = headers["$ref"].rsplit("/", 1)[-1]
        headers = document["components"]["schemas"][name]
    msg_id = headers["properties"]["Nats-Msg-Id"]["description"]
    assert "destination" not in msg_id, msg_id
    sent = feed.encode([SideEvent(
        position=7, region="150600", case_id="00000000-0000-0000-0000-000000000001",
        case_number="150600-20260302-00000000000000000000000000000001",
        process="pension_transfer", side_id="00000000-0000-0000-0000-000000000002", version=3,
        type="DeadlineCleared", schema_version=1,
        payload=to_payload(DeadlineCleared(at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
                                           actor=Actor("system", "timer", "150600"),
                                           step="intake")))])
    [event] = json.loads(sent.data)
    digest = hashlib.sha256(sent.data).hexdigest()[:16]
    assert sent.headers["Nats-Msg-Id"] == f"{event['id']}:{digest}"
    assert "first event's CloudEvents id" in msg_id and "SHA-256" in msg_id
    assert set(sent.headers) <= set(headers["properties"])


def test_the_feed_lists_only_types_that_can_be_on_it() -> None:
    types = feed_message()["payload"]["items"]["allOf"][1]["properties"]["type"]["enum"]
    for register_event in ("RelationshipOpened", "RelationshipEnded", "MoveOutBegun",
                           "MoveOutCancelled", "RelationshipReinstated"):
        assert f"cn.tongban.{register_event}" not in types
    assert "cn.tongban.InfoSheetReceived" in types
    assert all(f"cn.tongban.{n}" in types for n, c in all_domain_event_types().items()
               if c.__module__ != "domain.registers")


def test_feedseq_says_it_has_gaps_and_how_to_detect_a_lost_message() -> None:
    document = build_document()
    envelope = document["components"]["schemas"]["FeedEnvelope"]
    feedseq = envelope["properties"]["feedseq"]["description"]
    assert "gap" in feedseq
    version = envelope["properties"]["originatorversion"]["description"]
    assert "lost" in version and "originatorid" in version
    assert "not feedseq" in version and "case query's `version`" in version  # the last message
    consume = document["operations"]["consumeFeed"]
    assert "originatorversion" in consume["summary"] or "originatorversion" in str(
        consume["x-jetstream"])


def test_a_repeat_is_recognised_by_the_events_id_never_by_feedseq() -> None:
    """feedseq is one store's position: a rebuilt, restored or replaced store numbers its
    events from the same positions again, so a back-end that took a seen feedseq for a repeat
    acked new events unhandled (the SDK did, until it keyed on the event)."""
    document = build_document()
    feedseq = document["components"]["schemas"]["FeedEnvelope"]["properties"]["feedseq"]
    assert "nor to recognise a repeat" in feedseq["description"]
    assert "never by `feedseq`" in document["info"]["description"]
    pending = document["operations"]["consumeFeed"]["x-jetstream"]["max_ack_pending"]
    assert "by id, not feedseq" in pending
    assert "by feedseq" not in json.dumps(document)


def test_descriptions_state_behaviour_not_module_names() -> None:
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("description", "summary", "title") and isinstance(value, str):
                    found.extend(f"{path}/{key}: {m}" for m in MODULE_NAME.findall(value))
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}/{i}")

    walk(committed(), "")
    assert not found, "\n".join(found)
    assert "BackendClient" not in json.dumps(committed())
