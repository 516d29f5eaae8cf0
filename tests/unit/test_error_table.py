"""The error table (`regions.core.commands.ERRORS`) is the whole truth about refusal codes.

It lists every code an answer can carry and only those (the codes the code raises, found on its
syntax tree), and every command type, given bad input or sent in a state that refuses it, is
answered with a code of the table naming a field (issue 18 item 8).
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import json
import pathlib
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.kernel import Actor
from regions.adapters.stores.memory import MemoryStore
from regions.core.commands import ERRORS, CommandResult, CommandService, InvalidRequest
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import build_region
from regions.wire.commands import command_types, decode_request, encode_command, identified
from tests.unit.test_command_codec import values_of

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: Where answers to a command come from: the domain, the payload codec, the command codec and
#: the command service with the node's bookkeeping.
SOURCES = [*sorted((ROOT / "domain").rglob("*.py")),
           *(ROOT / "regions" / p for p in (
               "core/commands.py", "core/admission.py", "core/errors.py", "core/node.py",
               "core/staging.py", "core/idempotency.py", "core/authority.py",
               "wire/commands.py"))]
#: Codes raised there that never answer a command, and why.
NOT_ANSWERS = {
    "malformed_event": "a stored or received event that does not decode (quarantine)",
    "newer_schema": "a received event of a newer schema (quarantine)",
    "unknown_event_type": "a received event of an unknown type (quarantine)",
    "limit_exceeds_statute": "an operator's limits file (start-up)",
    "limit_unit_mismatch": "an operator's limits file (start-up)",
    "malformed_catalogue": "a catalogue file (start-up)",
    "malformed_materials": "a materials file (start-up)",
    "unknown_scheme": "a protocol's register effect naming no scheme (a bug)",
    "domain_error": "the base class's default; every raise names its code",
}
#: Calls whose `code=` is raised: the error classes, and helpers that raise the code they are
#: given (`transfer_states.stated`: a text a command must state).
RAISERS = {"DomainError", "InvalidValue", "IllegalCommand", "UnknownItem", "InvalidRequest",
           "PayloadError", "IdempotencyConflict", "CommandInProgress", "CatalogueError",
           "MaterialsError", "LimitsError", "Forbidden", "stated"}


def _constants(node: ast.AST) -> set[str]:
    if isinstance(node, ast.IfExp):
        return _constants(node.body) | _constants(node.orelse)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    return set()


def raised_codes() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                for kw in node.keywords:
                    if (kw.arg == "code" and name in RAISERS) or (
                            kw.arg == "error_code" and name == "Outcome"):
                        found |= _constants(kw.value)
                if name in {"Rule", "CommandError"} and node.args:
                    found |= _constants(node.args[0])
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == "code" for t in targets) and \
                        node.value is not None:
                    found |= _constants(node.value)
    return found


def test_the_table_lists_every_code_that_can_answer_and_only_those() -> None:
    codes = raised_codes()
    assert set(NOT_ANSWERS) <= codes  # each exclusion is real
    assert sorted(codes - set(NOT_ANSWERS) - set(ERRORS)) == []  # nothing unlisted
    assert sorted(set(ERRORS) - codes) == []  # nothing listed that cannot occur


# --------------------------------------------------------------------------- every command

HERE, ORIGIN = "150600", "610800"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
STAFF = Actor("staff", "0451", HERE, "社保经办", "W3")
APPLICANT_ID = "110101196504157795"
HOSTILE: list[Any] = [{"_type_": "datetime_iso", "_data_": "garbage"}, 10**20, -1, "x" * 5000,
                      "\x00", [[[]]], None, True]


def _service() -> tuple[CommandService, str]:
    config = RegionConfig(region=HERE, peers=(ORIGIN,), development=True)
    region = build_region(config, clock=lambda: T0, ids=uuid.uuid4, broker=None,
                          store=MemoryStore())
    service = CommandService(region.node)
    body = {"command_id": "open", "case_id": None,
            "case_number": "150600-20260302-0000000001", "process": "pension_transfer",
            "command": {"type": "Submit", "actor": dataclasses.asdict(STAFF),
                        "case_number": "150600-20260302-0000000001", "item_id": "b1-7",
                        "process": "pension_transfer", "mode": "joint",
                        "applicant_id": APPLICANT_ID, "channel": "window",
                        "details": {"origins": [ORIGIN]}}}
    opened = service.handle(decode_request(json.dumps(body).encode(), "backend:window"), T0)
    assert opened.ok and opened.outcome is not None
    return service, opened.outcome.case_id


def answer(service: CommandService, case_id: str, command: dict[str, Any],
           command_id: str) -> CommandResult:
    body = {"command_id": command_id, "case_id": case_id,
            "command": command}
    try:
        request = decode_request(json.dumps(body).encode(), "backend:window")
    except InvalidRequest as exc:
        return CommandResult.refusing(exc)
    return service.handle(request, T0)


def _tabled(result: CommandResult) -> None:
    if result.ok:
        return
    assert result.error is not None
    assert result.error.code in ERRORS, result.error
    assert result.error.field.startswith(("command", "case_id", "process")), result.error


@pytest.mark.parametrize("name", sorted(command_types()))
def test_every_field_of_every_command_refuses_hostile_values_with_a_tabled_code(
        name: str) -> None:
    service, case_id = _service()
    cls = command_types()[name]
    fields = [f.name for f in dataclasses.fields(cls) if f.name not in (
        "person_key", "applicant_masked")] + (["applicant_id"] if identified(cls) else [])
    for index, field in enumerate(fields):
        for value in HOSTILE:
            command = {"type": name, "actor": dataclasses.asdict(STAFF), field: value}
            result = answer(service, case_id, command, f"{name}-{index}-{value!r}"[:150])
            assert not result.ok
            _tabled(result)


@pytest.mark.parametrize("name", sorted(command_types()))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_command_in_a_pension_case_is_answered_from_the_table(
        name: str, data: st.DataObject) -> None:
    """Well-formed commands of every type at a just-submitted pension case: done, or refused
    with a code of the table that names a field (a state refusal names `command.type`)."""
    service, case_id = _service()
    command = data.draw(values_of(command_types()[name]))
    command = dataclasses.replace(command, actor=STAFF)
    applicant_id = None
    if identified(type(command)):
        command = dataclasses.replace(command, person_key="", applicant_masked="")
        applicant_id = APPLICANT_ID
    body = encode_command(command, applicant_id=applicant_id)
    _tabled(answer(service, case_id, body, f"c-{name}"))
