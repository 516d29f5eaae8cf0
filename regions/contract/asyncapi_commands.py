"""The command request/reply (`tb.v1.cmd.<region>.<backend>`) in the AsyncAPI document, and the payload
limits every schema states.

Kept apart from `regions.contract.asyncapi` (as the documents' part is): the commands' schemas
are generated from the command classes the endpoint decodes (`regions.wire.commands`), then
told what the type hints cannot say — a back-end sends the applicant's ID number instead of the
derived person fields, which `details` each process takes, and every error code with its
meaning and field (`regions.core.commands.ERRORS`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from pydantic import TypeAdapter

from domain.payloads import MAX_INT, MAX_ITEMS, MAX_TEXT
from domain.protocols import PROTOCOLS, statuses
from domain.protocols.details import BY_PROTOCOL
from regions.core.commands import ERRORS, CommandError
from regions.core.outcome import Outcome
from regions.wire.commands import (
    APPLICANT_ID,
    DERIVED_FIELDS,
    MAX_APPLICANT_ID,
    MAX_KEY_LENGTH,
    command_types,
)
from regions.wire.schemas import REF_TEMPLATE

COMMAND_REQUEST: Final = "CommandRequest"
COMMAND_REPLY: Final = "CommandReply"
#: Every code a command reply can carry (the command service's one table).
COMMAND_ERROR_CODES: Final = tuple(ERRORS)


def command_definitions(existing: Mapping[str, Any]) -> dict[str, Any]:
    """Schemas of every command (and of the reply's parts), generated like the events'.

    Shared nested types (Actor, MaterialRef, InfoSheet...) are generated again here; they must
    come out identical to the events' definitions, or two types share a name.
    """
    inputs: list[tuple[str, Any]] = [
        ("Outcome", Outcome), ("CommandError", CommandError), *command_types().items()]
    _, generated = TypeAdapter.json_schemas(
        [(name, "validation", TypeAdapter(tp)) for name, tp in inputs],
        ref_template=REF_TEMPLATE)
    definitions = dict(sorted(generated.get("$defs", {}).items()))
    for name, schema in definitions.items():
        if name in existing and existing[name] != schema:
            raise ValueError(f"schema {name!r} differs between the events and the commands")
    error = definitions["CommandError"]["properties"]
    error["code"]["enum"] = list(COMMAND_ERROR_CODES)
    error["code"]["description"] = _error_table()
    error["code"]["x-codes"] = {  # the same table, for a machine
        code: {"meaning": entry.meaning, "field": entry.field, "kind": entry.kind,
               "status": entry.status} for code, entry in ERRORS.items()}
    error["field"]["description"] = (
        "The field at fault, as a path in the request (`command.details.origins[0]`); "
        "`command.type` when the command is not allowed in the case's current state.")
    _statuses(definitions["Outcome"]["properties"]["status"])
    _identified(definitions["Submit"])
    for name in command_types():  # a command object is its `type` and its fields, no more
        definitions[name]["properties"] = {
            "type": {"const": name, "description": "The command's name."},
            **definitions[name]["properties"]}
        definitions[name]["required"] = ["type", *definitions[name].get("required", [])]
    return definitions


def _error_table() -> str:
    """Every code a reply can carry: its meaning, the field it names, its kind and status."""
    rows = [f"| `{code}` | {entry.meaning} | {entry.field or '—'} | {entry.kind} | "
            f"{entry.status} |" for code, entry in ERRORS.items()]
    return "\n".join([
        "Stable and machine-readable: one code per kind of fault, whatever the command. Kind "
        "`invalid`: refused before the domain saw it, nothing stored (resend corrected under "
        "the same `command_id`); `refused`: the domain's refusal, stored under the "
        "`command_id`; `conflict`: the `command_id` is taken; `error`: retry. A refusal code of "
        "the domain also appears as the reason of `CounterpartEventRejected` on the feed "
        "(\"<code>: <message>\").", "",
        "| code | meaning | field | kind | HTTP |", "|---|---|---|---|---|", *rows])


def reported_statuses() -> list[str]:
    """Every status an outcome can carry: "" (no side, e.g. a refused new case) and each status
    any process's deciders report (`domain.protocols.statuses`)."""
    return ["", *sorted(set().union(*(statuses(spec) for spec in PROTOCOLS.values())))]


def _statuses(status: dict[str, Any]) -> None:
    """`Outcome.status`: the enumeration, and each process's allowed final pairs."""
    status["enum"] = reported_statuses()
    by_pairs: dict[frozenset[tuple[str, str]], list[str]] = {}
    for process, spec in PROTOCOLS.items():
        by_pairs.setdefault(spec.allowed_terminal_pairs, []).append(process)
    rows = [f"| {', '.join(f'`{p}`' for p in sorted(processes))} | "
            f"{', '.join(f'({a}, {b})' for a, b in sorted(pairs))} |"
            for pairs, processes in sorted(by_pairs.items(), key=lambda kv: sorted(kv[1]))]
    status["description"] = "\n".join([
        "The case's status at this region after the command (empty when no side exists). "
        "`needs_attention` is an overlay: a person is needed while the side is not over. A "
        "case ends only in one of its process's allowed final pairs: (the status at the region "
        "that took the application, the status at its counterpart — the origin, the handling "
        "or the partner region; `absent` when the counterpart never opened a side).", "",
        "| processes | allowed final pairs |", "|---|---|", *rows])
    status["x-allowed-terminal-pairs"] = {  # the same, for a machine
        process: [list(pair) for pair in sorted(spec.allowed_terminal_pairs)]
        for process, spec in sorted(PROTOCOLS.items())}


def _identified(submit: dict[str, Any]) -> None:
    """A back-end sends the applicant's ID number; the node derives the person key and the
    masked number (`regions.core.admission`). And each process takes its own `details`."""
    properties, required = submit["properties"], submit["required"]
    for derived in DERIVED_FIELDS:
        del properties[derived]
        required.remove(derived)
    properties[APPLICANT_ID] = {
        "type": "string", "minLength": 1, "maxLength": MAX_APPLICANT_ID,
        "description": "The applicant's 居民身份证号 (18 characters, GB 11643 check digit). The "
                       "node validates it (`invalid_person_id`), derives the person key and "
                       "the masked number, and neither stores nor sends it.",
        "examples": ["110101196504157795"]}
    required.append(APPLICANT_ID)
    required.sort()
    properties["details"]["description"] = (
        "What the process needs beyond the shared fields; which type, by process and mode, "
        "is stated below (`invalid_details` otherwise).")
    rules = []
    for module, by_mode in sorted(BY_PROTOCOL.items()):
        processes = sorted(p for p, spec in PROTOCOLS.items() if spec.module == module)
        if not processes:
            continue
        for mode, details in sorted(by_mode.items()):
            then: dict[str, Any] = {"properties": {"details": {
                "$ref": REF_TEMPLATE.format(model=details.__name__)}}}
            if dataclasses.fields(details):  # `{}` may be left out
                then["required"] = ["details"]
            rules.append({
                "if": {"properties": {"process": {"enum": processes}, "mode": {"const": mode}},
                       "required": ["process", "mode"]},
                "then": then})
    submit["allOf"] = rules


def _limits(schema: Any) -> None:
    """State the payload limits every string, list and integer is held to (`domain.payloads`)."""
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "string" and not ({"maxLength", "enum", "const", "format", "pattern"}
                                     & set(schema)):
            schema["maxLength"] = MAX_TEXT
        if kind == "array" and "maxItems" not in schema:
            schema["maxItems"] = MAX_ITEMS
        if kind == "integer":
            schema.setdefault("minimum", -MAX_INT)
            schema.setdefault("maximum", MAX_INT)
        for value in schema.values():
            _limits(value)
    elif isinstance(schema, list):
        for value in schema:
            _limits(value)


def command_request_message() -> dict[str, Any]:
    key = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH}
    commands = [
        {"allOf": [{"$ref": REF_TEMPLATE.format(model=name)},
                   {"type": "object", "required": ["type"],
                    "properties": {"type": {"const": name}}}]}
        for name in command_types()]
    return {
        "name": COMMAND_REQUEST,
        "title": "Command request",
        "summary": "One command for one region's side of a case.",
        "contentType": "application/json",
        "payload": {
            "type": "object",
            "additionalProperties": False,
            "required": ["command_id", "command"],
            "properties": {
                "command_id": {**key, "description": "The idempotency key (per back-end: the "
                                                     "principal is the subject's back-end)."},
                "case_id": {"type": ["string", "null"], "format": "uuid",
                            "description": "The case; null (or absent) opens a new case."},
                "case_number": {"type": "string",
                                "pattern": "^[0-9]{6}-[0-9]{8}-[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{10}$",
                                "description": "A new case's number (this region's)."},
                "process": {"type": "string", "enum": sorted(PROTOCOLS),
                            "description": "A new case's process."},
                "command": {"oneOf": commands,
                            "description": "The command: its class name under `type`."},
            },
            "if": {"required": ["case_id"], "properties": {"case_id": {"type": "string"}}},
            "then": {"not": {"anyOf": [{"required": ["case_number"]},
                                       {"required": ["process"]}]}},
            "else": {"required": ["case_number", "process"]},
        },
    }


def command_reply_message() -> dict[str, Any]:
    outcome = {"$ref": REF_TEMPLATE.format(model="Outcome")}
    return {
        "name": COMMAND_REPLY,
        "title": "Command reply",
        "summary": "The command's outcome, or why it was refused.",
        "contentType": "application/json",
        "payload": {"oneOf": [
            {"type": "object", "required": ["ok", "outcome"], "additionalProperties": False,
             "properties": {"ok": {"const": True}, "outcome": outcome}},
            {"type": "object", "required": ["ok", "error"], "additionalProperties": False,
             "properties": {
                 "ok": {"const": False},
                 "error": {"$ref": REF_TEMPLATE.format(model="CommandError")},
                 "outcome": {"allOf": [outcome],
                             "description": "The stored outcome of a command the domain "
                                            "refused (a retry gets it again)."},
             }},
        ]},
    }


def limited(document: dict[str, Any]) -> dict[str, Any]:
    """The payload limits stated on every generated schema of the components; an object of
    the domain (an event, a command, a value) has exactly its fields."""
    schemas = document["components"]["schemas"]
    _limits(schemas)
    for name, schema in schemas.items():
        if "properties" in schema and not name.endswith(("Envelope", "Headers")):
            schema.setdefault("additionalProperties", False)
    return document
