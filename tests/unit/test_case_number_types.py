"""A case number that is not text (a JSON list or object where a string belongs) is refused at
the edge, naming its field, and never reaches `domain.values.case_id_of`.

`case_id_of` is memoised (`functools.lru_cache`), so an unhashable argument would raise
`TypeError` before its body runs. That needs a caller holding a non-`str` case number, and none
can: every case number a state folds comes from a command or an event decoded by the payload
rules (`domain.payloads`: a `str` field takes a `str` only), and the envelope's and the request's
own case fields are checked as text first. These tests keep it so; were one to slip through, the
inbox still quarantines its message (`test_hostile_inbox.py::test_any_other_error_…`) and the
command service answers `internal_error` instead of crashing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.payloads import PayloadError, from_payload
from domain.protocols.casework_events import CaseFacts
from regions.core.commands import InvalidRequest
from regions.wire import envelope
from regions.wire.commands import decode_request
from regions.wire.errors import WireError
from tests.fixtures.wire.events import FIXTURES
from tests.property.test_command_batch import opening
from tests.unit.test_command_endpoint_batches import request_bytes

CRAFTED = [[1], {"a": 1}, [], {}, 7, None]


@pytest.mark.parametrize("value", CRAFTED)
def test_case_facts_take_a_case_number_as_text_only(value: Any) -> None:
    facts = {"case_number": value, "process": "p", "item_id": "i", "mode": "m",
             "person_key": "k", "applicant_masked": "a"}
    with pytest.raises(PayloadError) as caught:
        from_payload(CaseFacts, facts)
    assert caught.value.field == "case_number"


@pytest.mark.parametrize("value", CRAFTED)
@pytest.mark.parametrize("where", ["request", "command"])
def test_a_request_with_a_crafted_case_number_is_refused_naming_it(where: str, value: Any) -> None:
    body = json.loads(request_bytes(opening(1, 1, "k1")))
    (body if where == "request" else body["command"])["case_number"] = value
    with pytest.raises(InvalidRequest) as caught:
        decode_request(json.dumps(body).encode(), "backend:window")
    assert caught.value.field in {"case_number", "command.case_number"}


@pytest.mark.parametrize("value", CRAFTED)
@pytest.mark.parametrize("where", ["payload", "envelope"])
def test_a_peer_message_with_a_crafted_case_number_is_refused(where: str, value: Any) -> None:
    message = json.loads((FIXTURES / "ContactLetterIssued.v2.cloudevent.json").read_text())
    if where == "payload":
        message["data"]["case_number"] = value
    else:
        message["subject"] = value
    with pytest.raises(WireError):
        envelope.decode(json.dumps(message).encode())
