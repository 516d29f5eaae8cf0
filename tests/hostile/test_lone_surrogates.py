"""A lone surrogate (`"\\ud800"` in JSON) in a peer's message or a back-end's command is refused
with a clear reason, and no reason, reply or record carries it raw.

Why it matters: JSON may escape a UTF-16 half that no UTF-8 text can hold, and Python decodes it
into a `str` that every encoder of the node then refuses — the store's transcoder, PostgreSQL's
`text` and `jsonb`, a NATS reply, a log file. A value that got past the gate would be decided and
then fail at the save (a back-end told `internal_error`, retry, for ever); a reason or field path
that echoed it would fail where it is answered or kept.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest

from domain.payloads import from_payload
from regions.core.commands import CommandResult, InvalidRequest
from regions.core.documents import DocError
from regions.core.store import Quarantined, stable_id
from regions.wire import documents, link
from regions.wire.commands import decode_request, encode_reply
from tests.hostile.test_hostile_inbox import (  # noqa: F401 (the fixture)
    HOME,
    T0,
    TARGET,
    assert_contained,
    incoming,
    parked,
    ping,
    raw,
    sent,
    side_status,
    world,
)
from tests.property.test_command_batch import T0 as T_BATCH
from tests.property.test_command_batch import opening
from tests.property.test_command_batch import service as batch_service
from tests.unit import toy_protocol as toy
from tests.unit.test_command_endpoint_batches import request_bytes

LONE = "\ud800"
#: An extension attribute CloudEvents refuses: the envelope is unread, so its position is unknown.
LONE_ATTRIBUTE = "x" + LONE

def utf8(text: str) -> bool:
    """Whether `text` can be written anywhere: UTF-8, PostgreSQL, NATS, a log file."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refusal(body: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        decode_request(json.dumps(body).encode(), "backend:window")
    exc = caught.value
    assert utf8(str(exc)) and utf8(exc.field), (str(exc).encode("utf-8", "backslashreplace"))
    json.loads(encode_reply(CommandResult.refusing(exc)))  # the reply is sent, not lost
    return exc


def command() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request_bytes(opening(1, 1, "k1")))
    return body


def test_a_lone_surrogate_in_any_string_of_a_payload_is_refused_naming_its_field() -> None:
    body = command()
    body["command"]["actor"]["role"] += LONE
    exc = refusal(body)
    assert (exc.code, exc.field) == ("invalid_field", "command.actor.role")
    assert "surrogate" in str(exc)
    with pytest.raises(ValueError, match="surrogate"):
        from_payload(toy.Pinged, {"actor": {"kind": "staff", "id": "s", "region": HOME,
                                            "role": "r"}, "at": "2026-03-02T01:00:00Z",
                                  "to_region": TARGET, "case_id": "c", "n": 1,
                                  "home": HOME + LONE})


@pytest.mark.parametrize("name", ["command_id", "case_number",
                                  "process"])
def test_a_lone_surrogate_in_a_request_key_is_refused_naming_it(name: str) -> None:
    body = command()
    body[name] += LONE
    assert refusal(body).field == name


@pytest.mark.parametrize("where", ["request", "command", "details", "actor"])
def test_a_lone_surrogate_in_a_field_name_is_refused_and_the_reply_is_sent(where: str) -> None:
    body = command()
    target = {"request": body, "command": body["command"],
              "details": body["command"]["details"], "actor": body["command"]["actor"]}[where]
    target["x" + LONE] = "1"
    assert refusal(body).code == "unknown_field"


@pytest.mark.parametrize("where", ["value", "key", "attribute"])
def test_a_peer_message_with_a_lone_surrogate_is_quarantined_with_a_storable_reason(
        world, where: str) -> None:  # noqa: F811 (the fixture)
    home, target = world[HOME], world[TARGET]
    first, second = ping(home), ping(home)
    one, two = sent(home)
    envelope = json.loads(link.encode(one).data)
    if where == "value":
        envelope["data"]["home"] = HOME + LONE
    elif where == "key":
        envelope["data"]["x" + LONE] = "1"
    else:
        envelope[LONE_ATTRIBUTE] = "1"
    hostile = json.dumps(envelope).encode()  # ASCII: JSON escapes the half
    result = target.inbox.handle([raw(HOME, hostile, "bad"), incoming(two, "h2")], T0)
    if where == "attribute":  # an unread envelope's position is unknown: a gap, as for any
        assert result.quarantined == 1 and "bad" in result.ack, result
    else:
        assert_contained(result, target, ["bad"], ["h2"], "")
    [entry] = parked(target)
    assert utf8(entry.reason), entry.reason.encode("utf-8", "backslashreplace")
    assert where != "value" or "surrogate" in entry.reason, entry.reason
    assert bytes(entry.data) == hostile  # kept byte for byte
    assert side_status(target, first) is None
    assert side_status(target, second) == (None if where == "attribute" else "ponged")


def test_a_quarantine_record_whose_texts_hold_a_lone_surrogate_is_kept_escaped(
        world) -> None:  # noqa: F811 (the fixture)
    """Whatever builds a reason (an exception's text, an operator's) cannot wedge the inbox."""
    target = world[TARGET]
    record = Quarantined.park(stable_id("quarantine", TARGET, "x"), "reason " + LONE, "s" + LONE,
                              b"\xff", {"h": LONE}, T0)
    target.node.app.save(record)
    record.discarded("op" + LONE, "why " + LONE, T0)
    target.node.app.save(record)
    kept: Quarantined = target.node.app.repository.get(record.id)
    assert kept.reason == "reason \\ud800" and kept.subject == "s\\ud800"
    assert kept.headers == {"h": "\\ud800"} and kept.raw == b"\xff"
    assert kept.state == "discarded"


@pytest.mark.parametrize("change", ["key", "doc_id"])
def test_a_document_request_with_a_lone_surrogate_is_refused_and_the_refusal_sent(
        change: str) -> None:
    body: dict[str, Any] = {"requester": HOME, "case_id": str(uuid.uuid4()), "doc_id": "d"}
    if change == "key":
        body["x" + LONE] = 1
    else:
        body["doc_id"] += LONE
    with pytest.raises(DocError) as caught:
        documents.decode_request(json.dumps(body).encode())
    assert caught.value.code == ("unknown_field" if change == "key" else "invalid_field")
    json.loads(documents.encode_error(caught.value))  # the refusal is sent, not lost


def test_a_command_built_in_process_with_a_lone_surrogate_is_refused_not_retried() -> None:
    service = batch_service()
    good = opening(1, 1, "k1")
    actor = good.command.actor
    bad = replace(good, command=replace(good.command, actor=replace(actor, window="W" + LONE)))
    result = service.handle(bad, T_BATCH)
    assert result.error is not None and (result.error.code, result.kind) == (
        "invalid_field", "invalid"), result
    assert utf8(result.error.message)
    assert service.handle(good, T_BATCH).ok  # nothing stored: the corrected one goes through
