"""The case query (issue 18, finding 7): a back-end asks its region for a case on its command
subject; a bad query is refused naming the field, and the answer is what the document says."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from regions.contract.asyncapi import DEFAULT_PATH
from regions.core.case_query import case_state
from regions.core.commands import InvalidRequest
from regions.wire import case_query
from tests.unit.test_refusals import HERE, T0, opened, send, service  # noqa: F401


def reply_schema() -> Draft7Validator:
    document = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    payload = document["components"]["messages"]["CaseStateReply"]["payload"]
    return Draft7Validator({**payload, "components": document["components"]})


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"query": "cases", "case_id": str(uuid.uuid4())}, "invalid_field", "query"),
    ({"query": "case"}, "missing_field", "case_id"),
    ({"query": "case", "case_id": "42"}, "invalid_field", "case_id"),
    ({"query": "case", "case_id": str(uuid.uuid4()), "command": {}}, "unknown_field",
     "command"),
])
def test_a_bad_query_is_refused_naming_the_field(body: dict[str, Any], code: str,
                                                  field: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        case_query.query_of(json.dumps(body).encode())
    assert (refused.value.code, refused.value.field) == (code, field)


def test_a_command_request_is_not_a_query() -> None:
    assert case_query.query_of(b'{"command_id": "c-1", "command": {}}') is None
    assert case_query.query_of(b"not json") is None


def test_the_answer_is_the_sides_state_as_the_document_describes_it(service: Any) -> None:  # noqa: F811
    case_id = opened(service)
    assert send(service, {"type": "AcceptIntake", "actor": {
        "kind": "staff", "id": "0451", "region": HERE}}, case_id=case_id, command_id="a").ok
    state = case_state(service.node, case_id)
    assert state is not None
    side = service.node.side(case_id)
    assert (state.status, state.version, state.role) == (
        service.node.protocols[state.process].decider.status(side.state), side.version,
        "destination")
    assert all(d.due_at > T0 - dt.timedelta(days=1) for d in state.deadlines)
    answer = json.loads(case_query.encode_state(state))
    assert list(reply_schema().iter_errors(answer)) == []
    assert case_query.decode_answer(case_query.encode_state(state)) == state
    assert case_state(service.node, str(uuid.uuid4())) is None
