"""Commands to a region's back-end endpoint as JSON: requests in, replies out, any language.

It maps JSON to the command service's types (`regions.core.commands`: `CommandRequest` in,
`CommandResult` out); a request it cannot read is refused with `InvalidRequest`, whose codes are
in the service's one table of stable codes.

Why a codec of its own: the endpoint (`regions.runtime.commands`) and the Python client
(`regions.sdk.client`) must agree byte for byte, and a client written in another language needs a
refusal that says *which* field is wrong, not a stack trace. Decoding is `domain.payloads`
(typed fields only, ISO dates, bounded strings and lists, no unknown keys), whose refusals carry
their stable code and the path at fault (`command.sheet.years[0].months`), so nothing reaches
the node that the domain would not build.

A command that names a person (`Submit`) carries the applicant's 居民身份证号 as `applicant_id`
instead of `person_key` and `applicant_masked`: the node derives those with its own secret
(`regions.core.commands`), and a back-end cannot send them.

Request (`tb.v1.cmd.<region>.<backend>`)::

    {"command_id": "...",
     "case_id": "<uuid>" | null,              # null (or absent) opens a new case:
     "case_number": "...", "process": "...",  # ... then both are required (and only then allowed)
     "command": {"type": "<Command class name>", "actor": {"kind": ..., "id": ...}, ...}}

The principal — who is accountable, the key of the idempotency record — is not in the body: it
is the back-end the subject names (`backend:<backend>`), which the endpoint passes in. A body
that names a `principal` is refused (`unknown_field`), so an old client learns at once that its
claim is no longer read rather than having it silently ignored.

Reply: `{"ok": true, "outcome": {...}}` or `{"ok": false, "error": {"code", "message",
"field"}}`, plus the stored `outcome` when the domain refused the command (so a retry with the
same id gets the same refusal).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import uuid
from collections.abc import Mapping
from typing import Any, Final

from domain.kernel import Command, DomainError, from_payload, to_payload
from domain.payloads import PayloadError, encodable
from domain.values import CaseNumber
from regions.core.commands import CommandError, CommandRequest, CommandResult, InvalidRequest
from regions.core.outcome import Outcome
from regions.wire.schemas import load_domain

#: Longest command id accepted (it keys the idempotency record).
MAX_KEY_LENGTH: Final = 200
REQUEST_FIELDS: Final = frozenset({"command_id", "case_id", "case_number", "process", "command"})

# --------------------------------------------------------------------------- command types


@functools.cache
def command_types() -> dict[str, type[Command]]:
    """Every command a back-end may send, by class name: the `Command`s of `domain.protocols`."""
    load_domain()
    found: dict[str, type[Command]] = {}
    pending: list[type[Command]] = [Command]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if not cls.__module__.startswith("domain.protocols."):
            continue
        if cls.__name__ in found and found[cls.__name__] is not cls:
            raise TypeError(f"two commands are named {cls.__name__}: the wire name is ambiguous")
        if any(f.name == "type" for f in dataclasses.fields(cls)):
            raise TypeError(f"{cls.__name__} has a field 'type', which names the command")
        found[cls.__name__] = cls
    return dict(sorted(found.items()))


#: Fields of a command the node derives from the applicant's ID number, never taken from a
#: back-end: it sends `applicant_id` instead (see `regions.core.commands`).
DERIVED_FIELDS: Final = ("person_key", "applicant_masked")
APPLICANT_ID: Final = "applicant_id"
#: The longest `applicant_id` read (an ID number has 18 characters; separators are allowed).
MAX_APPLICANT_ID: Final = 32


def identified(cls: type[Command]) -> bool:
    """Does this command name a person (and so carry `applicant_id` on the wire)?"""
    return {f.name for f in dataclasses.fields(cls)} >= set(DERIVED_FIELDS)


def encode_command(command: Command, *, applicant_id: str | None = None) -> dict[str, Any]:
    """A command as JSON data: its class name under `type`, then its fields; a command that
    names a person carries the ID number (`applicant_id`) instead of the derived fields."""
    name = type(command).__name__
    if command_types().get(name) is not type(command):
        raise ValueError(f"{name} is not a command of domain.protocols")
    body: dict[str, Any] = {"type": name, **to_payload(command)}
    if identified(type(command)):
        if applicant_id is None:
            raise ValueError(f"a {name} names its applicant by applicant_id (the ID number); "
                             "the node derives person_key and applicant_masked")
        for derived in DERIVED_FIELDS:
            del body[derived]
        body[APPLICANT_ID] = applicant_id
    elif applicant_id is not None:
        raise ValueError(f"a {name} names no applicant")
    return body


def decode_command(data: Any, path: str = "command") -> Command:
    """The command `data` describes; `InvalidRequest` naming the field otherwise. A command that
    names a person comes back with empty derived fields (see `decode_identified`)."""
    return decode_identified(data, path)[0]


def decode_identified(data: Any, path: str = "command") -> tuple[Command, str | None]:
    """The command `data` describes and, for one that names a person, its `applicant_id`
    (person_key and applicant_masked left empty: only the command service fills them)."""
    if not isinstance(data, dict):
        raise InvalidRequest(f"{path} must be an object with a 'type'",
                             code="invalid_field", field=path)
    if "type" not in data:
        raise InvalidRequest(f"{path}.type is required", code="missing_field",
                             field=f"{path}.type")
    name = data["type"]
    cls = command_types().get(name) if isinstance(name, str) else None
    if cls is None:
        raise InvalidRequest(f"unknown command type {str(name)[:64]!r}",
                             code="unknown_command_type", field=f"{path}.type")
    body = {k: v for k, v in data.items() if k != "type"}
    applicant_id = None
    if identified(cls):
        applicant_id = _applicant_id(body, path)
        body.update(dict.fromkeys(DERIVED_FIELDS, ""))
    try:
        command = from_payload(cls, body, root=path)
    except PayloadError as exc:
        raise InvalidRequest(str(exc), code=exc.code, field=exc.field) from None
    assert isinstance(command, Command)
    if not command.actor.id.strip():
        raise InvalidRequest("the actor needs an id (责任追溯)", code="invalid_field",
                             field=f"{path}.actor.id")
    return command, applicant_id


def _applicant_id(body: dict[str, Any], path: str) -> str:
    for derived in DERIVED_FIELDS:
        if derived in body:
            raise InvalidRequest(f"{derived} is derived by the node from {APPLICANT_ID}; "
                                 "send the ID number instead", code="unknown_field",
                                 field=f"{path}.{derived}")
    if APPLICANT_ID not in body:
        raise InvalidRequest(f"{path}.{APPLICANT_ID} (the applicant's 居民身份证号) is required",
                             code="missing_field", field=f"{path}.{APPLICANT_ID}")
    value = body.pop(APPLICANT_ID)
    if not isinstance(value, str) or len(value) > MAX_APPLICANT_ID:
        raise InvalidRequest(f"{APPLICANT_ID} must be an ID number (a string of 18 characters)",
                             code="invalid_person_id", field=f"{path}.{APPLICANT_ID}")
    return value


# --------------------------------------------------------------------------- requests


def encode_request(command: Command, *, command_id: str, case_id: str | None = None,
                   case_number: str = "", process: str = "",
                   applicant_id: str | None = None) -> bytes:
    body: dict[str, Any] = {"command_id": command_id, "case_id": case_id,
                            "command": encode_command(command, applicant_id=applicant_id)}
    if case_id is None:
        body["case_number"], body["process"] = case_number, process
    return json.dumps(body, ensure_ascii=False).encode()


def decode_request(raw: bytes | str, principal: str) -> CommandRequest:
    """Parse and validate a request body sent by `principal` (from the subject, never from the
    body); `InvalidRequest` names what is wrong."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested absurdly deep
        raise InvalidRequest(f"the request is not JSON: {exc}", code="malformed_json") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request must be a JSON object", code="invalid_request")
    for key in body:
        if key == "principal":
            raise InvalidRequest("the principal is the back-end the subject names "
                                 "(tb.v1.cmd.<region>.<backend>); leave it out of the body",
                                 code="unknown_field", field=key)
        if key not in REQUEST_FIELDS:
            raise InvalidRequest(f"unknown request field {key!r}", code="unknown_field",
                                     field=key)
    command_id = _key(body, "command_id")
    case_id = body.get("case_id")
    if case_id is None:
        case_number = _text(body, "case_number")
        try:
            CaseNumber.parse(case_number)
        except DomainError as exc:
            raise InvalidRequest(str(exc), code="invalid_field", field="case_number") from None
        process = _text(body, "process")
    else:
        if not isinstance(case_id, str) or not _is_uuid(case_id):
            raise InvalidRequest(f"case_id must be a UUID string or null, got {case_id!r}",
                                     code="invalid_field", field="case_id")
        for extra in ("case_number", "process"):
            if extra in body:
                raise InvalidRequest(f"{extra} names a new case; leave it out when case_id "
                                         "is given", code="unknown_field", field=extra)
        case_number = process = ""
    if "command" not in body:
        raise InvalidRequest("command is required", code="missing_field", field="command")
    command, applicant_id = decode_identified(body["command"])
    if case_id is None:
        for name, wanted in (("case_number", case_number), ("process", process)):
            given = getattr(command, name, wanted)
            if given != wanted:
                raise InvalidRequest(f"the request's {wanted!r} differs from the case's "
                                     f"{given!r} (command.{name}); they must agree",
                                     code="invalid_field", field=name)
    return CommandRequest(command_id, principal, command, case_id, case_number, process,
                          applicant_id=applicant_id)


def _key(body: Mapping[str, Any], name: str) -> str:
    value = _text(body, name)
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidRequest(f"{name} is longer than {MAX_KEY_LENGTH} characters",
                                 code="invalid_field", field=name)
    return value


def _text(body: Mapping[str, Any], name: str) -> str:
    if body.get(name) is None:
        raise InvalidRequest(f"{name} is required", code="missing_field", field=name)
    value = body[name]
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{name} must be a non-empty string, got {value!r}",
                                 code="invalid_field", field=name)
    if encodable(value) != value:  # it is stored and answered: UTF-8 must hold it
        raise InvalidRequest(f"{name} holds a lone surrogate, got {value!r}",
                             code="invalid_field", field=name)
    return value


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


# --------------------------------------------------------------------------- replies


def encode_reply(result: CommandResult) -> bytes:
    """The reply to a request: the outcome when the node did it; otherwise the error, with the
    stored outcome when the domain refused (so a retry with the same id gets the same refusal)."""
    if result.error is None:
        assert result.outcome is not None
        return _dump({"ok": True, "outcome": result.outcome.to_dict()})
    body: dict[str, Any] = {"ok": False, "error": dataclasses.asdict(result.error)}
    if result.outcome is not None:
        body["outcome"] = result.outcome.to_dict()
    return _dump(body)


def decode_reply(raw: bytes) -> CommandResult:
    """A reply as the client reads it; `ValueError` when it is not one."""
    try:
        body = json.loads(raw)
        outcome = Outcome.from_dict(body["outcome"]) if body.get("outcome") is not None else None
        if body["ok"] is True:
            if outcome is None:
                raise ValueError("an ok reply without an outcome")
            return CommandResult(outcome)
        error = body["error"]
        return CommandResult(outcome, CommandError(
            str(error["code"]), str(error["message"]), str(error.get("field") or "")))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a command reply: {exc!r}") from None


def _dump(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()
