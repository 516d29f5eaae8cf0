"""The case query's JSON: `{"query": "case", "case_id": ...}` in, the case's state out.

Why on the back-end's command subject (`tb.v1.cmd.<region>.<backend>`) and not a subject of its
own: the subject is already the back-end's identity and its only request permission, so a query
needs no new NATS user rights, and the node answers it on the same reply prefix check. A body
with a `query` member is a query; any other body is a command request (`regions.wire.commands`).

The reply is `{"ok": true, "case": CaseState}` or `{"ok": false, "error": CommandError}` with
the command table's codes (`missing_field`, `invalid_field`, `unknown_field`, `unknown_case`).
The schema in asyncapi.yaml is generated from the same `TypeAdapter` that encodes the answer.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any, Final

from pydantic import TypeAdapter

from regions.core.case_query import CaseState
from regions.core.commands import CommandError, InvalidRequest

#: The one query there is so far; the member that makes a request a query.
CASE: Final = "case"
QUERY: Final = "query"
STATE: Final[TypeAdapter[CaseState]] = TypeAdapter(CaseState)


def query_of(raw: bytes) -> str | None:
    """The case id a query asks for; None when `raw` is not a query (a command, or not JSON:
    the command codec answers those); `InvalidRequest` naming the field for a bad query."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or QUERY not in body:
        return None
    if body[QUERY] != CASE:
        raise InvalidRequest(f"query must be {CASE!r}, got {body[QUERY]!r}",
                             code="invalid_field", field=QUERY)
    for name in sorted(set(body) - {QUERY, "case_id"}):
        raise InvalidRequest(f"a case query has no field {name!r}", code="unknown_field",
                             field=name)
    case_id = body.get("case_id")
    if case_id is None:
        raise InvalidRequest("case_id is required", code="missing_field", field="case_id")
    try:
        if not isinstance(case_id, str) or str(uuid.UUID(case_id)) != case_id.lower():
            raise ValueError
    except ValueError:
        raise InvalidRequest(f"case_id must be a UUID string, got {case_id!r}",
                             code="invalid_field", field="case_id") from None
    return case_id.lower()


def encode_query(case_id: str) -> bytes:
    return json.dumps({QUERY: CASE, "case_id": case_id}).encode()


def encode_state(state: CaseState) -> bytes:
    return b'{"ok":true,"case":' + STATE.dump_json(state) + b"}"


def encode_refusal(error: CommandError) -> bytes:
    return json.dumps({"ok": False, "error": dataclasses.asdict(error)},
                      ensure_ascii=False).encode()


def decode_answer(raw: bytes) -> CaseState | CommandError:
    """An answer as a client reads it; `ValueError` when it is not one."""
    body: Any = json.loads(raw)
    if body.get("ok") is True:
        return STATE.validate_python(body["case"])
    return CommandError(**body["error"])
