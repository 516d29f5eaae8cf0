"""Commands to a region's back-end endpoint as JSON: requests in, replies out, any language.

It maps JSON to the command service's types (`regions.core.commands`: `CommandRequest` in,
`CommandResult` out); a request it cannot read is refused with `InvalidRequest`, whose codes are
in the service's one table of stable codes.

Why a codec of its own: the endpoint (`regions.runtime.commands`) and the Python client
(`regions.sdk.client`) must agree byte for byte, and a client written in another language needs a
refusal that says *which* field is wrong, not a stack trace. Decoding is the kernel's
`from_payload` (dataclasses, dates, tuples, nested `MaterialRef`, `Actor`); this module walks the
command's type hints first so that every problem is reported with its path
(`command.sheet.years[0].months`), unknown fields are refused instead of silently dropped, and
nothing reaches the node that the kernel would not build.

Request (`tb.v1.cmd.<region>`)::

    {"command_id": "...", "principal": "...",
     "case_id": "<uuid>" | null,              # null (or absent) opens a new case:
     "case_number": "...", "process": "...",  # ... then both are required (and only then allowed)
     "command": {"type": "<Command class name>", "actor": {"kind": ..., "id": ...}, ...}}

Reply: `{"ok": true, "outcome": {...}}` or `{"ok": false, "error": {"code", "message",
"field"}}`, plus the stored `outcome` when the domain refused the command (so a retry with the
same id gets the same refusal).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
import uuid
from collections.abc import Mapping
from typing import Any, Final

from domain.kernel import Command, DomainError, from_payload, to_payload
from domain.values import CaseNumber
from regions.core.commands import CommandError, CommandRequest, CommandResult, InvalidRequest
from regions.core.outcome import Outcome
from regions.wire.schemas import load_domain

#: Longest command id or principal accepted (they are keys of the idempotency record).
MAX_KEY_LENGTH: Final = 200
REQUEST_FIELDS: Final = frozenset(
    {"command_id", "principal", "case_id", "case_number", "process", "command"})

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


def encode_command(command: Command) -> dict[str, Any]:
    """A command as JSON data: its class name under `type`, then its fields."""
    name = type(command).__name__
    if command_types().get(name) is not type(command):
        raise ValueError(f"{name} is not a command of domain.protocols")
    return {"type": name, **to_payload(command)}


def decode_command(data: Any, path: str = "command") -> Command:
    """The command `data` describes; `InvalidRequest` naming the field otherwise."""
    if not isinstance(data, dict):
        raise InvalidRequest(f"{path} must be an object with a 'type'",
                                 code="invalid_field", field=path)
    if "type" not in data:
        raise InvalidRequest(f"{path}.type is required", code="missing_field",
                                 field=f"{path}.type")
    name = data["type"]
    cls = command_types().get(name) if isinstance(name, str) else None
    if cls is None:
        raise InvalidRequest(f"unknown command type {name!r}", code="unknown_command_type",
                                 field=f"{path}.type")
    body = {k: v for k, v in data.items() if k != "type"}
    command = _check(cls, body, path)
    assert isinstance(command, Command)
    if not command.actor.id.strip():
        raise InvalidRequest("the actor needs an id (责任追溯)", code="invalid_field",
                                 field=f"{path}.actor.id")
    return command


def _check(tp: Any, data: Any, path: str) -> Any:
    """Walk `data` along the type hints, refusing the first problem with its path; the value.

    Each level is built by the kernel (`from_payload`) once its parts are known to be right,
    so a type's own validation (a material's sha256, a value object's rules) is reported at
    that level's path.
    """
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise InvalidRequest(f"{path} must be an object", code="invalid_field",
                                     field=path)
        fields = {f.name: f for f in dataclasses.fields(tp) if f.init}
        for key in data:
            if key not in fields:
                raise InvalidRequest(f"{tp.__name__} has no field {key!r}",
                                         code="unknown_field", field=f"{path}.{key}")
        hints = _hints(tp)
        for name, f in fields.items():
            if name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise InvalidRequest(f"{path}.{name} is required", code="missing_field",
                                             field=f"{path}.{name}")
                continue
            _check(hints[name], data[name], f"{path}.{name}")
        return _build(tp, data, path)
    if origin in (tuple, list) and isinstance(data, list):
        args = typing.get_args(tp)
        item = args[0] if args else Any
        for index, value in enumerate(data):
            _check(item, value, f"{path}[{index}]")
    elif origin in (typing.Union, types.UnionType) and data is not None:
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(options) == 1:
            return _check(options[0], data, path)
    return _build(tp, data, path)


@functools.cache
def _hints(tp: type) -> dict[str, Any]:
    return typing.get_type_hints(tp)


def _build(tp: Any, data: Any, path: str) -> Any:
    try:
        return from_payload(tp, data)
    except (TypeError, ValueError, KeyError, DomainError) as exc:
        raise InvalidRequest(f"{path}: {exc}", code="invalid_field", field=path) from None


# --------------------------------------------------------------------------- requests


def encode_request(command: Command, *, command_id: str, principal: str,
                   case_id: str | None = None, case_number: str = "",
                   process: str = "") -> bytes:
    body: dict[str, Any] = {"command_id": command_id, "principal": principal,
                            "case_id": case_id, "command": encode_command(command)}
    if case_id is None:
        body["case_number"], body["process"] = case_number, process
    return json.dumps(body, ensure_ascii=False).encode()


def decode_request(raw: bytes | str) -> CommandRequest:
    """Parse and validate a request body; `InvalidRequest` names what is wrong."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested absurdly deep
        raise InvalidRequest(f"the request is not JSON: {exc}", code="malformed_json") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request must be a JSON object", code="invalid_request")
    for key in body:
        if key not in REQUEST_FIELDS:
            raise InvalidRequest(f"unknown request field {key!r}", code="unknown_field",
                                     field=key)
    command_id = _key(body, "command_id")
    principal = _key(body, "principal")
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
    command = decode_command(body["command"])
    if case_id is None:
        for name, wanted in (("case_number", case_number), ("process", process)):
            given = getattr(command, name, wanted)
            if given != wanted:
                raise InvalidRequest(f"command.{name} {given!r} differs from the request's "
                                         f"{wanted!r}", code="invalid_field",
                                         field=f"command.{name}")
    return CommandRequest(command_id, principal, command, case_id, case_number, process)


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
