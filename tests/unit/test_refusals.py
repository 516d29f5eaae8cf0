"""Input a back-end may send and the node must refuse (issue 18): a stable code naming the field.

Each case goes in as a back-end sends it — JSON through the command codec, then the command
service of a node at 150600 — and must come back refused with one code per kind of fault,
whatever the command, and the field at fault. Nothing refused before the domain is recorded, so
a corrected resend under the same command id goes through.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest

from domain.kernel import Actor, to_payload
from domain.protocols import pension
from domain.protocols.transfer_sheets import ContributionYear
from domain.values import MAX_FEN, CaseNumber, RegionCode
from regions.adapters.stores.memory import MemoryStore
from regions.core.commands import ERRORS, CommandResult, CommandService, InvalidRequest
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import build_region
from regions.wire.commands import decode_request

HERE, ORIGIN, ELSEWHERE = "150600", "610800", "150200"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
STAFF = {"kind": "staff", "id": "0451", "region": HERE, "role": "社保经办", "window": "W3"}
APPLICANT_ID = "110101196504157795"


@pytest.fixture
def service() -> CommandService:
    config = RegionConfig(region=HERE, peers=(ORIGIN,), development=True)
    region = build_region(config, clock=lambda: T0, ids=uuid.uuid4, broker=None,
                          store=MemoryStore())
    return CommandService(region.node)


def number(seed: int = 1) -> CaseNumber:
    return CaseNumber.new(RegionCode(HERE), dt.date(2026, 3, 2), uuid.UUID(int=seed))


def submit(seed: int = 1, **fields: Any) -> dict[str, Any]:
    body = {"type": "Submit", "actor": STAFF, "case_number": str(number(seed)), "item_id": "b1-7",
            "process": "pension_transfer", "mode": "joint", "applicant_id": APPLICANT_ID,
            "channel": "window", "details": {"origins": [ORIGIN]}}
    return {**body, **fields}


def send(service: CommandService, command: dict[str, Any], *, case_id: str | None = None,
         command_id: str = "c-1", process: str | None = None, seed: int = 1) -> CommandResult:
    body: dict[str, Any] = {"command_id": command_id, "case_id": case_id, "command": command}
    if case_id is None:
        body.update(case_number=command.get("case_number", str(number(seed))),
                    process=process or command.get("process", "pension_transfer"))
    try:
        request = decode_request(json.dumps(body, ensure_ascii=False).encode(), "backend:window")
    except InvalidRequest as exc:
        return CommandResult.refusing(exc)
    return service.handle(request, T0)


def code_and_field(result: CommandResult) -> tuple[str, str]:
    assert result.error is not None, result
    return result.error.code, result.error.field


def opened(service: CommandService, seed: int = 1) -> str:
    result = send(service, submit(seed), command_id=f"open-{seed}", seed=seed)
    assert result.ok and result.outcome is not None, result
    return result.outcome.case_id


# --------------------------------------------------------------------------- the person


@pytest.mark.parametrize(("applicant_id", "why"), [
    ("110101196504157790", "bad check digit"),
    ("110101196513157797", "month 13, right check digit"),
    ("", "empty"),
    ("1101011965041577", "too short"),
])
def test_a_citizen_id_that_is_not_one_is_refused(service: CommandService, applicant_id: str,
                                                 why: str) -> None:
    result = send(service, submit(applicant_id=applicant_id))
    assert code_and_field(result) == ("invalid_person_id", "command.applicant_id"), why
    assert service.node.side(str(number().case_id)) is None


# --------------------------------------------------------------------------- the catalogue


def test_an_item_the_catalogue_does_not_have_is_refused(service: CommandService) -> None:
    result = send(service, submit(item_id="b9-99"))
    assert code_and_field(result) == ("unknown_item", "command.item_id")


def test_an_item_of_another_process_is_refused(service: CommandService) -> None:
    household_item = "b2-3"
    result = send(service, submit(item_id=household_item))
    assert code_and_field(result) == ("item_process_mismatch", "command.item_id")
    assert "household_move" in result.error.message  # type: ignore[union-attr]


def test_a_mode_the_item_is_not_handled_in_is_refused(service: CommandService) -> None:
    result = send(service, submit(mode="online"))
    assert code_and_field(result) == ("invalid_mode", "command.mode")
    assert "joint" in result.error.message  # type: ignore[union-attr]


def test_the_process_name_mismatch_reads_the_right_way_round(service: CommandService) -> None:
    result = send(service, submit(), process="pension")
    assert code_and_field(result) == ("invalid_field", "process")
    assert result.error is not None and (
        "the request's 'pension' differs from the case's 'pension_transfer'" in
        result.error.message)


# --------------------------------------------------------------------------- the actor


def test_an_actor_region_that_does_not_exist_is_refused(service: CommandService) -> None:
    result = send(service, submit(actor={**STAFF, "region": "999999"}))
    assert code_and_field(result) == ("invalid_region", "command.actor.region")


def test_an_actor_of_another_region_is_refused(service: CommandService) -> None:
    case_id = opened(service)
    result = send(service, {"type": "AcceptIntake", "actor": {**STAFF, "region": ELSEWHERE}},
                  case_id=case_id)
    assert code_and_field(result) == ("wrong_region", "command.actor.region")


# --------------------------------------------------------------------------- dates and money


def funds(**fields: Any) -> dict[str, Any]:
    return {"type": "RecordFundsReceived", "actor": STAFF, "from_region": ORIGIN,
            "amount_fen": 100, "bank_ref": "B1", "value_date": "2026-03-01", **fields}


def test_a_date_far_from_now_is_refused(service: CommandService) -> None:
    case_id = opened(service)
    for date in ("2099-01-01", "1900-01-01"):
        result = send(service, funds(value_date=date), case_id=case_id)
        assert code_and_field(result) == ("invalid_date", "command.value_date"), date


AMOUNTS: list[tuple[str, dict[str, Any], str]] = [
    ("RecordFundsReceived", funds(), "amount_fen"),
    ("RemitFunds", {"type": "RemitFunds", "actor": STAFF, "bank_ref": "B1"}, "amount_fen"),
    ("StartBenefit", {"type": "StartBenefit", "actor": STAFF, "period_months": 12},
     "monthly_fen"),
]


@pytest.mark.parametrize("amount", [10**20, MAX_FEN + 1, -1, -(10**20)])
@pytest.mark.parametrize(("name", "command", "field"), AMOUNTS, ids=[a[0] for a in AMOUNTS])
def test_an_amount_out_of_range_gets_one_code_whatever_the_command(
        service: CommandService, name: str, command: dict[str, Any], field: str,
        amount: int) -> None:
    case_id = opened(service)
    result = send(service, {**command, field: amount}, case_id=case_id)
    assert code_and_field(result) == ("invalid_amount", f"command.{field}")


def test_an_amount_in_an_info_sheet_is_held_to_the_same_limit(service: CommandService) -> None:
    case_id = opened(service)
    sheet = to_payload(pension.transfer_amount(1_000, [ContributionYear(2023, 12, 650_000)]))
    sheet["components"][0]["amount_fen"] = 10**20
    result = send(service, {"type": "IssueInfoSheet", "actor": STAFF, "sheet": sheet},
                  case_id=case_id)
    assert code_and_field(result) == ("invalid_amount", "command.sheet.components[0].amount_fen")


# --------------------------------------------------------------------------- rules


def test_a_business_rule_refusal_names_its_field(service: CommandService) -> None:
    case_id = opened(service)
    result = send(service, {"type": "RejectIntake", "actor": STAFF, "reason": "  "},
                  case_id=case_id)
    assert code_and_field(result) == ("reason_required", "command.reason")
    assert send(service, {"type": "AcceptIntake", "actor": STAFF}, case_id=case_id,
                command_id="c-2").ok
    again = send(service, {"type": "AcceptIntake", "actor": STAFF}, case_id=case_id,
                 command_id="c-3")
    assert code_and_field(again) == ("intake_decided", "command.type")


def test_a_corrected_resend_after_a_validation_refusal_goes_through(
        service: CommandService) -> None:
    assert not send(service, submit(item_id="b9-99"), command_id="s-1").ok
    assert send(service, submit(), command_id="s-1").ok


def test_every_code_answered_is_in_the_table() -> None:
    for code in ("invalid_person_id", "unknown_item", "item_process_mismatch", "invalid_mode",
                 "invalid_region", "wrong_region", "invalid_date", "invalid_amount",
                 "reason_required", "idempotency_conflict"):
        assert code in ERRORS, code


def test_the_actor_of_a_command_is_this_region_staff() -> None:
    assert Actor("staff", "0451", HERE).region == HERE
