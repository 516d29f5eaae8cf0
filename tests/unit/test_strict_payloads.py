"""Strict payloads (issue 11 item 3): nothing free-form gets into an event or a command.

Every value is typed (no `Any`, no free `dict`), dates are ISO strings, every string and list is
bounded, nesting is bounded, and nothing shaped like the event store's transcoder envelope
(`{"_type_": ..., "_data_": ...}`) gets in — from a back-end's command or from a peer's event.
A refusal names the field (`command.details.origins[0]`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import types
import typing
import uuid
from typing import Any

import pytest

from domain.kernel import Actor, DomainError, event_from_payload, event_types, to_payload
from domain.protocols.application_events import ApplicationForwarded
from domain.protocols.casework_events import CaseFacts
from domain.protocols.intake import ApplicationSubmitted, RejectIntake, Submit
from domain.values import CaseNumber, RegionCode
from regions.adapters.stores.memory import MemoryStore
from regions.core.commands import CommandService, InvalidRequest
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import build_region
from regions.wire.commands import command_types, decode_request

HERE, ORIGIN = "150600", "610800"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
NUMBER = CaseNumber.new(RegionCode(HERE), dt.date(2026, 3, 2), uuid.UUID(int=7))
CASE_ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
ACTOR = {"kind": "staff", "id": "0451", "region": HERE, "role": "社保经办", "window": "W3"}
APPLICANT_ID = "110101196504157795"  # valid check digit; never a real person
ENVELOPE = {"_type_": "datetime_iso", "_data_": "garbage"}


def submit(**fields: Any) -> dict[str, Any]:
    body = {"type": "Submit", "actor": ACTOR, "case_number": str(NUMBER), "item_id": "b1-7",
            "process": "pension_transfer", "mode": "joint", "applicant_id": APPLICANT_ID,
            "channel": "window", "materials": [], "details": {"origins": [ORIGIN]}}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def request(command: dict[str, Any], *, case_id: str | None = None) -> bytes:
    body: dict[str, Any] = {"command_id": "c-1", "case_id": case_id,
                            "command": command}
    if case_id is None:
        body.update(case_number=str(NUMBER), process=command.get("process", "pension_transfer"))
    return json.dumps(body, ensure_ascii=False).encode()


def refused(raw: bytes) -> tuple[str, str]:
    with pytest.raises(InvalidRequest) as exc:
        decode_request(raw, "backend:window")
    return exc.value.code, exc.value.field


# --------------------------------------------------------------------------- the types


def _leaves(tp: Any, seen: set[type], where: str) -> list[tuple[str, Any]]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _leaves(typing.get_args(tp)[0], seen, where)
    if origin is not None:
        found = [(where, origin)] if origin is dict else []
        for arg in typing.get_args(tp):
            if arg is not Ellipsis:
                found += _leaves(arg, seen, where)
        return found
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if tp in seen:
            return []
        seen.add(tp)
        found = []
        for name, hint in typing.get_type_hints(tp, include_extras=True).items():
            if typing.get_origin(hint) is not typing.ClassVar:
                found += _leaves(hint, seen, f"{tp.__name__}.{name}")
        return found
    return [(where, tp)]


def test_no_event_or_command_has_a_free_form_field() -> None:
    command_types()  # imports every protocol
    seen: set[type] = set()
    leaves = [leaf for cls in [*event_types().values(), *command_types().values()]
              if cls.__module__.startswith("domain.")
              for leaf in _leaves(cls, seen, cls.__name__)]
    free = sorted(where for where, tp in leaves if tp is Any or tp is dict or tp is object)
    assert free == []
    allowed = {str, int, bool, type(None), dt.date, dt.datetime}
    odd = sorted(where for where, tp in leaves if tp not in allowed and not isinstance(tp, str)
                 and not isinstance(tp, types.UnionType))
    assert odd == []


# --------------------------------------------------------------------------- commands


def test_a_transcoder_envelope_in_a_command_is_refused_naming_the_field() -> None:
    code, field = refused(request(submit(details={"origins": [ORIGIN], "x": ENVELOPE})))
    assert (code, field) == ("unknown_field", "command.details.x")
    code, field = refused(request(submit(details={"origins": [ENVELOPE]})))
    assert (code, field) == ("invalid_region", "command.details.origins[0]")
    code, field = refused(request(submit(details=ENVELOPE)))
    assert code in {"unknown_field", "invalid_field"} and field.startswith("command.details")


def test_a_date_is_an_iso_string_and_nothing_else() -> None:
    approve = {"type": "ApproveTransferOut", "actor": ACTOR, "suspended_on": 5}
    assert refused(request(approve, case_id=CASE_ID)) == ("invalid_date", "command.suspended_on")
    for value in (20260301, "20260301", "2026-W09-1", [2026, 3, 1], ENVELOPE):
        assert refused(request({**approve, "suspended_on": value}, case_id=CASE_ID)) == (
            "invalid_date", "command.suspended_on")


def test_every_string_is_bounded_and_free_of_control_characters() -> None:
    reject = {"type": "RejectIntake", "actor": ACTOR}
    assert refused(request({**reject, "reason": "x" * 100_000}, case_id=CASE_ID)) == (
        "invalid_field", "command.reason")
    assert refused(request({**reject, "reason": "a\x00b"}, case_id=CASE_ID)) == (
        "invalid_field", "command.reason")
    text = decode_request(request({**reject, "reason": "一\n二\t三"}, case_id=CASE_ID), "backend:window")
    assert text.command == RejectIntake(actor=Actor(**ACTOR), reason="一\n二\t三")  # text


def test_lists_are_bounded() -> None:
    supplement = {"type": "RequestSupplement", "actor": ACTOR,
                  "missing_kinds": [f"k{i}" for i in range(10_000)]}
    assert refused(request(supplement, case_id=CASE_ID)) == (
        "invalid_field", "command.missing_kinds")


def test_deep_nesting_is_refused_naming_where() -> None:
    deep: Any = ORIGIN
    for _ in range(50):
        deep = [deep]
    code, field = refused(request(submit(details={"origins": deep})))
    assert code == "invalid_region" and field == "command.details.origins[0]"


def test_a_crafted_submission_never_commits_and_the_node_restarts() -> None:
    """The brick of issue 11 item 3: once stored, a transcoder envelope could not be read back."""
    store = MemoryStore()
    config = RegionConfig(region=HERE, peers=(ORIGIN,), development=True)
    region = build_region(config, clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store)
    service = CommandService(region.node)
    for details in ({"origins": [ORIGIN], "note": ENVELOPE}, {"origins": [ORIGIN, ENVELOPE]}):
        try:
            result = service.handle(decode_request(request(submit(details=details)), "backend:window"), T0)
        except InvalidRequest:
            continue
        assert not result.ok
    assert region.node.side(str(NUMBER.case_id)) is None
    build_region(config, clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store)


# --------------------------------------------------------------------------- events


def _forwarded(**details: Any) -> dict[str, Any]:
    facts = CaseFacts(case_number=str(NUMBER), process="notarisation", item_id="b1-1",
                      mode="proxy", person_key="ab" * 32, applicant_masked="1506**********001X")
    event = ApplicationForwarded(at=T0, actor=_actor(), to_region=ORIGIN, facts=facts)
    payload = to_payload(event)
    payload["details"] = details
    return payload


def _actor() -> Any:
    from domain.kernel import Actor
    return Actor("staff", "0451", HERE)


def test_a_peer_event_with_a_transcoder_envelope_is_refused() -> None:
    with pytest.raises(DomainError) as exc:
        event_from_payload("ApplicationForwarded", _forwarded(handling_region=ENVELOPE))
    assert exc.value.code == "malformed_event" and "details.handling_region" in str(exc.value)
    with pytest.raises(DomainError):
        event_from_payload("ApplicationForwarded", _forwarded(extra=ENVELOPE))


def test_a_peer_event_is_held_to_the_same_rules_as_a_command() -> None:
    payload = to_payload(ApplicationSubmitted(
        at=T0, actor=_actor(), case_number=str(NUMBER), item_id="b1-7",
        process="pension_transfer", mode="joint", person_key="ab" * 32,
        applicant_masked="1506**********001X", channel="window"))
    payload["details"] = {"origins": [ORIGIN]}
    assert isinstance(event_from_payload("ApplicationSubmitted", payload), ApplicationSubmitted)
    for bad in ({"at": 5}, {"at": "2026-03-02T01:00:00"}, {"item_id": "x" * 100_000},
                {"unknown": 1}, {"materials": [{"_type_": "x", "_data_": "y"}]}):
        with pytest.raises(DomainError) as exc:
            event_from_payload("ApplicationSubmitted", {**payload, **bad})
        assert exc.value.code == "malformed_event"


def test_the_submit_command_is_what_a_back_end_can_build() -> None:
    assert "Submit" in command_types() and command_types()["Submit"] is Submit


# --------------------------------------------------------------------------- the codec itself


def test_a_free_form_type_cannot_be_declared() -> None:
    from domain.payloads import from_payload

    for tp in (Any, dict, dict[str, Any], list):
        with pytest.raises(TypeError, match="not a payload type"):
            from_payload(tp, {})


def test_a_bounded_map_takes_plain_names_only() -> None:
    from domain.payloads import PayloadError, from_payload

    assert from_payload(dict[str, str], {"a.b": "x"}) == {"a.b": "x"}
    for bad in (ENVELOPE, {"_x": "y"}, {"k": 1}, {f"k{i}": "v" for i in range(300)}):
        with pytest.raises(PayloadError):
            from_payload(dict[str, str], bad)


def test_each_process_takes_the_details_the_contract_says() -> None:
    """`details.BY_PROTOCOL` (what asyncapi.yaml publishes per process and mode) is what every
    protocol accepts, and details of another family are refused `invalid_details`."""
    from domain.protocols import PROTOCOLS
    from domain.protocols.details import (
        BY_PROTOCOL,
        ApplicationDetails,
        HouseholdDetails,
        NoDetails,
        TransferDetails,
    )
    from tests.fixtures.world import RULES

    families = [TransferDetails((ORIGIN,)), HouseholdDetails(ORIGIN), ApplicationDetails(ORIGIN),
                NoDetails()]
    for process, spec in sorted(PROTOCOLS.items()):
        assert spec.module in BY_PROTOCOL, f"{process}: say which details it takes"
        decider = spec.decider(RULES)
        for mode, wanted in BY_PROTOCOL[spec.module].items():
            for details in families:
                command = Submit(actor=_actor(), case_number=str(NUMBER), item_id="x",
                                 process=process, mode=mode, person_key="ab" * 32,
                                 applicant_masked="", channel="window", details=details)
                if isinstance(details, wanted) and process == "veteran_pension_transfer":
                    with pytest.raises(DomainError) as caught:  # and the agency it is from
                        decider.decide(None, command, T0)
                    assert caught.value.code == "agency_required"
                    command = dataclasses.replace(
                        command, details=dataclasses.replace(details, agency="32001"))
                if isinstance(details, wanted):
                    assert decider.decide(None, command, T0), (process, mode, details)
                else:
                    with pytest.raises(DomainError) as refused:
                        decider.decide(None, command, T0)
                    assert refused.value.code == "invalid_details", (process, mode, details)
