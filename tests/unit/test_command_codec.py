"""The command codec: every back-end command survives JSON, and every bad request names its field."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import types
import typing
import uuid
from typing import Any

import annotated_types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.kernel import Actor, DomainError, EventRef, Receive
from domain.protocols import pension
from domain.protocols.intake import AcceptIntake, ApplicationWithdrawn
from domain.protocols.transfer import application
from domain.protocols.transfer_commands import IssueInfoSheet, RecordFundsReceived
from domain.protocols.transfer_events import ContributionYear
from domain.values import CaseNumber, Region, RegionCode
from regions.core.commands import CommandResult, InvalidRequest
from regions.core.outcome import Outcome
from regions.wire.commands import (
    command_types,
    decode_identified,
    decode_reply,
    decode_request,
    encode_command,
    encode_reply,
    encode_request,
    identified,
)

STAFF = Actor("staff", "0451", "150600", "社保经办", "W3")
CASE_ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
NUMBER = CaseNumber.new(RegionCode("150600"), dt.date(2025, 3, 3), uuid.UUID(int=0xC0FFEE))
APPLICANT_ID = "110101196504157795"


# --------------------------------------------------------------------------- the command types


def test_the_command_types_are_exactly_the_protocols_commands_by_class_name() -> None:
    types_ = command_types()
    assert {"Submit", "AcceptIntake", "RecordFundsReceived", "IssueInfoSheet", "CheckMoveOut",
            "RegisterMoveOut", "Approve", "Rate"} <= set(types_)
    assert all(cls.__module__.startswith("domain.protocols.") for cls in types_.values())
    assert all(name == cls.__name__ for name, cls in types_.items())
    assert "Receive" not in types_  # a counterpart's event arrives through the inbox only
    assert "FlagDeadlineMissed" not in types_  # the node's timer, not a back-end


def test_only_protocol_commands_are_encoded() -> None:
    receive = Receive(actor=STAFF, event=ApplicationWithdrawn(at=dt.datetime(
        2025, 3, 3, tzinfo=dt.UTC), actor=STAFF), from_region="610800", ref=EventRef("x", 1))
    with pytest.raises(ValueError, match=r"not a command of domain\.protocols"):
        encode_command(receive)


# --------------------------------------------------------------------------- round trips


def _text(max_size: int = 8, min_size: int = 0) -> st.SearchStrategy[str]:
    """Text as payloads take it: no control characters but line breaks and tabs."""
    return st.text(st.characters(blacklist_categories=("Cc", "Cs")) | st.sampled_from("\n\t"),
                   min_size=min_size, max_size=max_size)


def values_of(tp: Any, name: str = "") -> st.SearchStrategy[Any]:
    """Values of a type hint as commands hold them (a material has a sha256 of 64 hex digits
    and a size, an actor has an id, amounts and regions keep their rules)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if name == "sha256":
        return st.binary(min_size=32, max_size=32).map(bytes.hex)
    if name == "size":
        return st.integers(min_value=0, max_value=10**9)
    if tp is Region:
        return st.sampled_from(["150600", "610800", "152900", "110101"])
    if origin is typing.Annotated:
        low = next((m.ge for m in args[1:] if isinstance(m, annotated_types.Interval)), None)
        high = next((m.le for m in args[1:] if isinstance(m, annotated_types.Interval)), None)
        if args[0] is int:
            return st.integers(min_value=low, max_value=high)  # type: ignore[arg-type]
        longest = next((m.max_length for m in args[1:] if isinstance(m, annotated_types.MaxLen)),
                       3)
        inner = values_of(args[0], name)
        if typing.get_origin(args[0]) is tuple:
            item = values_of(typing.get_args(args[0])[0])
            return st.lists(item, min_size=1, max_size=min(longest, 3)).map(tuple)
        return inner
    if tp is str:
        return _text()
    if tp is int:
        return st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)
    if tp is Actor:  # every command names somebody (责任追溯)
        return st.builds(Actor, kind=st.sampled_from(["staff", "applicant", "system", "backend"]),
                         id=_text(min_size=1).filter(str.strip),
                         region=_text(max_size=6), role=_text(max_size=6),
                         window=_text(max_size=6))
    if tp is dt.date:
        return st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1))
    if origin in (typing.Union, types.UnionType):
        return st.one_of([values_of(arg) for arg in args])
    if origin is tuple:
        return st.lists(values_of(args[0]), max_size=3).map(tuple)
    if origin is list:
        return st.lists(values_of(args[0]), max_size=3)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        fields = {f.name: values_of(hints[f.name], f.name)
                  for f in dataclasses.fields(tp) if f.init}
        return st.fixed_dictionaries(fields).map(lambda kwargs: tp(**kwargs))
    return st.from_type(tp)


@pytest.mark.parametrize("name", sorted(command_types()))
@settings(max_examples=20)
@given(data=st.data())
def test_every_command_type_survives_json_unchanged(name: str, data: st.DataObject) -> None:
    command = data.draw(values_of(command_types()[name]))
    applicant_id = None
    if identified(type(command)):  # the node derives these from the ID number
        command = dataclasses.replace(command, person_key="", applicant_masked="")
        applicant_id = APPLICANT_ID
    wire = json.loads(json.dumps(encode_command(command, applicant_id=applicant_id)))
    assert wire["type"] == name
    assert decode_identified(wire) == (command, applicant_id)


def test_a_request_survives_encoding_unchanged() -> None:
    sheet = pension.transfer_amount(1_000_000, [ContributionYear(2023, 12, 650_000)])
    command = IssueInfoSheet(actor=STAFF, sheet=sheet)
    request = decode_request(encode_request(command, command_id="c-1", case_id=CASE_ID),
                             "backend:window")
    assert (request.command, request.case_id, request.command_id, request.principal) == (
        command, CASE_ID, "c-1", "backend:window")
    submit = application(pension.PROCESS, NUMBER, "", ["610800"], STAFF)
    opening = decode_request(encode_request(submit, command_id="s-1", case_number=str(NUMBER),
                                            process=pension.PROCESS, applicant_id=APPLICANT_ID),
                             "backend:window")
    assert opening.opens_case and opening.command == submit
    assert opening.applicant_id == APPLICANT_ID
    assert opening.target_case_id == str(NUMBER.case_id)


# --------------------------------------------------------------------------- refusals


def _body(command: Any = None, **top: Any) -> dict[str, Any]:
    """A request; `...` for a field leaves it out."""
    body: dict[str, Any] = {"command_id": "c-1", "case_id": CASE_ID,
                            "command": command or encode_command(AcceptIntake(actor=STAFF))}
    body.update(top)
    return {k: v for k, v in body.items() if v is not ...}


def _funds(**fields: Any) -> dict[str, Any]:
    notice = RecordFundsReceived(actor=STAFF, from_region="610800", amount_fen=100,
                                 bank_ref="B1", value_date=dt.date(2025, 3, 3))
    return {**encode_command(notice), **fields}


def _sheet_with(**year: Any) -> dict[str, Any]:
    sheet = pension.transfer_amount(1_000, [ContributionYear(2023, 12, 650_000)])
    body = encode_command(IssueInfoSheet(actor=STAFF, sheet=sheet))
    body["sheet"]["years"][0].update(year)
    return body


def _submit(**fields: Any) -> dict[str, Any]:
    submit = application(pension.PROCESS, NUMBER, "", ["610800"], STAFF)
    return {**encode_command(submit, applicant_id=APPLICANT_ID), **fields}


def _material(**fields: Any) -> dict[str, Any]:
    material = {"doc_id": "d1", "sha256": "ab" * 32, "media_type": "application/pdf",
                "size": 10, "title": "身份证", "kind": "id_card"}
    return {"type": "ProvideSupplement", "actor": encode_command(AcceptIntake(actor=STAFF))[
        "actor"], "materials": [{**material, **fields}]}


NEW_CASE: dict[str, Any] = {"case_id": None, "case_number": str(NUMBER), "process": pension.PROCESS}

REFUSED: list[tuple[str, bytes | dict[str, Any], str, str]] = [
    ("not JSON", b"{", "malformed_json", ""),
    ("not UTF-8", b"\xff\xfe{", "malformed_json", ""),
    ("nested absurdly deep", b"[" * 100_000, "malformed_json", ""),
    ("a list", b"[]", "invalid_request", ""),
    ("unknown top-level field", _body(priority=1), "unknown_field", "priority"),
    ("no command id", _body(command_id=...), "missing_field", "command_id"),
    ("command id not text", _body(command_id=7), "invalid_field", "command_id"),
    ("command id too long", _body(command_id="x" * 201), "invalid_field", "command_id"),
    ("a principal in the body: it is the subject's", _body(principal="backend:other"),
     "unknown_field", "principal"),
    ("case id not a UUID", _body(case_id="42"), "invalid_field", "case_id"),
    ("case number with a case id", _body(case_number=str(NUMBER)), "unknown_field",
     "case_number"),
    ("new case without number", _body(case_id=None, process=pension.PROCESS),
     "missing_field", "case_number"),
    ("new case with a bad number", _body(**{**NEW_CASE, "case_number": "150600-2025"}),
     "invalid_field", "case_number"),
    ("new case without process", _body(case_id=None, case_number=str(NUMBER)),
     "missing_field", "process"),
    ("submit naming another case", _body(_submit(case_number="150600-20250303-0000000000"),
                                         **NEW_CASE), "invalid_field", "case_number"),
    ("submit naming another process", _body(_submit(), **{**NEW_CASE, "process": "pension"}),
     "invalid_field", "process"),
    ("submit with a person key", _body(_submit(person_key="k" * 64), **NEW_CASE),
     "unknown_field", "command.person_key"),
    ("submit without the applicant", _body({k: v for k, v in _submit().items()
                                            if k != "applicant_id"}, **NEW_CASE),
     "missing_field", "command.applicant_id"),
    ("applicant not text", _body(_submit(applicant_id=15062219800101001), **NEW_CASE),
     "invalid_person_id", "command.applicant_id"),
    ("details of no family", _body(_submit(details={"origin": ["610800"]}), **NEW_CASE),
     "invalid_field", "command.details"),
    ("origins not a list", _body(_submit(details={"origins": "610800"}), **NEW_CASE),
     "invalid_field", "command.details.origins"),
    ("no origin", _body(_submit(details={"origins": []}), **NEW_CASE),
     "invalid_field", "command.details.origins"),
    ("an origin that cannot exist", _body(_submit(details={"origins": ["990600"]}), **NEW_CASE),
     "invalid_region", "command.details.origins[0]"),
    ("no command", _body(command=...), "missing_field", "command"),
    ("command not an object", _body(command=...) | {"command": "AcceptIntake"},
     "invalid_field", "command"),
    ("command without type", _body({"actor": {"kind": "staff", "id": "1"}}), "missing_field",
     "command.type"),
    ("unknown command type", _body({"type": "Receive", "actor": {}}), "unknown_command_type",
     "command.type"),
    ("unknown command field", _body(_funds(currency="CNY")), "unknown_field",
     "command.currency"),
    ("missing command field", _body({k: v for k, v in _funds().items() if k != "bank_ref"}),
     "missing_field", "command.bank_ref"),
    ("fen as a float", _body(_funds(amount_fen=12.5)), "invalid_amount", "command.amount_fen"),
    ("fen as text", _body(_funds(amount_fen="100")), "invalid_amount", "command.amount_fen"),
    ("fen as a boolean", _body(_funds(amount_fen=True)), "invalid_amount", "command.amount_fen"),
    ("fen beyond 64 bits", _body(_funds(amount_fen=10**20)), "invalid_amount",
     "command.amount_fen"),
    ("impossible date", _body(_funds(value_date="2025-02-30")), "invalid_date",
     "command.value_date"),
    ("date not a string", _body(_funds(value_date=20250303)), "invalid_date",
     "command.value_date"),
    ("nested field", _body(_sheet_with(months="twelve")), "invalid_field",
     "command.sheet.years[0].months"),
    ("nested unknown field", _body(_sheet_with(base=1)), "unknown_field",
     "command.sheet.years[0].base"),
    ("material refused by its own rules", _body(_material(sha256="abc")), "invalid_field",
     "command.materials[0]"),
    ("no actor", _body({"type": "AcceptIntake"}), "missing_field", "command.actor"),
    ("actor of an unknown kind", _body(_funds(actor={"kind": "robot", "id": "r2"})),
     "invalid_field", "command.actor.kind"),
    ("actor without id", _body(_funds(actor={"kind": "staff", "id": "  "})), "invalid_field",
     "command.actor.id"),
]


@pytest.mark.parametrize(("request_body", "code", "field"),
                         [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_a_bad_request_is_refused_with_a_code_and_the_field_at_fault(
    request_body: bytes | dict[str, Any], code: str, field: str,
) -> None:
    raw = request_body if isinstance(request_body, bytes) else json.dumps(request_body).encode()
    with pytest.raises(InvalidRequest) as refused:
        decode_request(raw, "backend:window")
    assert (refused.value.code, refused.value.field) == (code, field)
    assert isinstance(refused.value, DomainError) and str(refused.value)


# --------------------------------------------------------------------------- replies


def test_replies_carry_the_outcome_or_the_refusal_with_its_stored_outcome() -> None:
    done = Outcome(True, CASE_ID, ("IntakeAccepted",), "accepted")
    assert decode_reply(encode_reply(CommandResult.decided(done))).outcome == done
    refused = Outcome(False, CASE_ID, status="submitted", error_code="reason_required",
                      error="a rejection must state its reason")
    reply = decode_reply(encode_reply(CommandResult.decided(refused)))
    assert not reply.ok and reply.outcome == refused
    assert reply.error is not None and (reply.error.code, reply.error.field) == (
        "reason_required", "command.reason")
    unknown = decode_reply(encode_reply(CommandResult.decided(Outcome(
        False, CASE_ID, error_code="unknown_case"))))
    assert unknown.error is not None and unknown.error.field == "case_id"


def test_a_reply_that_is_not_one_is_refused_by_the_client_codec() -> None:
    with pytest.raises(ValueError, match="not a command reply"):
        decode_reply(b'{"ok": false}')
    with pytest.raises(ValueError, match="without an outcome"):
        decode_reply(b'{"ok": true}')

