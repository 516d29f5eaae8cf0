"""The command use case (`regions.core.commands`), without a network: the target region, submit
vs command, case exists or unknown, idempotency, and one table of stable codes that every
answer — the codec's refusals included — is drawn from."""

from __future__ import annotations

import datetime as dt
import random
import typing
import uuid

import pytest

from domain.kernel import Actor
from domain.protocols import pension
from domain.protocols.intake import AcceptIntake, RejectIntake
from domain.protocols.transfer import application
from domain.values import CaseNumber, RegionCode
from regions.adapters.stores.memory import MemoryStore
from regions.contract.asyncapi import COMMAND_ERROR_CODES
from regions.core.commands import (
    ERRORS,
    KINDS,
    REFUSAL,
    CommandRequest,
    CommandService,
    RequestCode,
    describe,
)
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import build_region
from simulations.workload import draw_applicant

HERE, ORIGIN, ELSEWHERE = "150600", "610800", "150200"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
STAFF = Actor("staff", "0451", HERE, "社保经办", "W3")


@pytest.fixture
def service() -> CommandService:
    region = build_region(RegionConfig(region=HERE, peers=(ORIGIN,)), clock=lambda: T0,
                          ids=uuid.uuid4, broker=None, store=MemoryStore())
    return CommandService(region.node)


def opening(region: str = HERE, seed: int = 1, process: str = pension.PROCESS,
            command_id: str = "submit-1") -> CommandRequest:
    person = draw_applicant(random.Random(seed))
    number = CaseNumber.new(RegionCode(region), dt.date(2026, 3, 2), uuid.UUID(int=seed))
    applicant = Actor("applicant", person.citizen.masked, region)
    command = application(pension.PROCESS, number, "", [ORIGIN], applicant, item_id="b1-7")
    return CommandRequest(command_id, "applicant:demo", command, case_number=str(number),
                          process=process, applicant_id=person.citizen.number)


def accept(case_id: str, command_id: str = "accept-1") -> CommandRequest:
    return CommandRequest(command_id, "staff:0451", AcceptIntake(actor=STAFF), case_id=case_id)


def test_a_new_case_opens_here_and_a_command_reaches_it_by_id(service: CommandService) -> None:
    opened = service.handle(opening(), T0)
    assert (opened.ok, opened.kind, opened.status) == (True, "ok", 200)
    assert opened.outcome is not None and opened.outcome.status == "submitted"
    accepted = service.handle(accept(opened.outcome.case_id), T0)
    assert accepted.ok and accepted.outcome is not None
    assert accepted.outcome.events[0] == "IntakeAccepted"


def test_a_new_case_of_another_region_is_refused_naming_its_number(
        service: CommandService) -> None:
    result = service.handle(opening(region=ELSEWHERE), T0)
    assert result.error is not None and result.outcome is None
    assert (result.error.code, result.error.field, result.kind, result.status) == (
        "wrong_region", "case_number", "invalid", 421)
    assert service.node.side(opening(region=ELSEWHERE).target_case_id) is None


def test_a_process_this_region_does_not_run_is_refused(service: CommandService) -> None:
    result = service.handle(opening(process="lottery"), T0)
    assert result.error is not None and (result.error.code, result.error.field) == (
        "unknown_process", "process")


def test_a_command_for_a_case_not_held_here_is_unknown_case(service: CommandService) -> None:
    result = service.handle(accept(str(uuid.uuid4())), T0)
    assert result.error is not None and result.outcome is not None
    assert (result.error.code, result.error.field, result.kind, result.status) == (
        "unknown_case", "case_id", "refused", 404)


def test_a_case_number_taken_by_another_process_is_case_exists(service: CommandService) -> None:
    assert service.handle(opening(), T0).ok
    other = typing.cast(str, next(p for p in service.node.protocols if p != pension.PROCESS))
    again = opening(process=other, command_id="submit-2")
    result = service.handle(again, T0)
    assert result.error is not None and (result.error.code, result.kind) == ("case_exists",
                                                                             "refused")


def test_a_retry_gets_the_stored_outcome_and_another_body_under_the_id_is_refused(
        service: CommandService) -> None:
    first = service.handle(opening(), T0)
    assert service.handle(opening(), T0) == first
    changed = opening(seed=2)  # another applicant, same command id and principal
    result = service.handle(changed, T0)
    assert result.error is not None
    assert (result.error.code, result.error.field, result.kind, result.status) == (
        "idempotency_conflict", "command_id", "conflict", 422)


def test_a_domain_refusal_keeps_its_own_code_and_the_stored_outcome(
        service: CommandService) -> None:
    opened = service.handle(opening(), T0)
    assert opened.outcome is not None
    reject = CommandRequest("reject-1", "staff:0451", RejectIntake(actor=STAFF, reason=""),
                            case_id=opened.outcome.case_id)
    result = service.handle(reject, T0)
    assert result.error is not None and result.outcome is not None and not result.outcome.ok
    assert result.error.code == result.outcome.error_code == "reason_required"
    assert result.error.field == result.outcome.error_field == "command.reason"
    assert (result.kind, result.status) == ("refused", ERRORS["reason_required"].status)
    assert service.handle(reject, T0) == result  # stored: a retry gets the same refusal


def test_a_failing_store_is_an_internal_error_to_retry(service: CommandService) -> None:
    def gone(*aggregates: object) -> None:
        raise OSError("database gone")

    service.node.app.save = gone  # type: ignore[method-assign,assignment]
    result = service.handle(opening(), T0)
    assert result.error is not None and (result.error.code, result.kind, result.status) == (
        "internal_error", "error", 500)


def test_every_request_code_is_in_the_table_as_invalid_and_the_contract_lists_the_table() -> None:
    assert {describe(code).kind for code in typing.get_args(RequestCode)} == {"invalid"}
    assert {entry.kind for entry in ERRORS.values()} | {REFUSAL.kind} <= set(KINDS) - {"ok"}
    assert all(400 <= entry.status < 600 for entry in ERRORS.values())
    assert tuple(ERRORS) == COMMAND_ERROR_CODES
    assert describe("reason_required").kind == "refused"
    assert all(entry.field or code in {"malformed_json", "invalid_request", "internal_error",
                                       "overloaded", "unavailable"}
               for code, entry in ERRORS.items())



# --------------------------------------------------------------------------- idempotency target


def test_a_command_id_reused_for_another_case_is_a_conflict_not_the_first_outcome(
        service: CommandService) -> None:
    first, second = (service.handle(opening(seed=s, command_id=f"submit-{s}"), T0)
                     for s in (1, 2))
    assert first.outcome is not None and second.outcome is not None
    accepted = service.handle(accept(first.outcome.case_id, command_id="accept-1"), T0)
    assert accepted.ok
    reused = service.handle(accept(second.outcome.case_id, command_id="accept-1"), T0)
    assert reused.error is not None and reused.outcome is None
    assert (reused.error.code, reused.error.field) == ("idempotency_conflict", "command_id")
    view = service.node.side(second.outcome.case_id)
    assert view is not None and view.version == 1 + len(second.outcome.events) - 1
    assert service.node.protocols[pension.PROCESS].decider.status(view.state) == "submitted"


def test_a_command_id_reused_with_another_body_on_the_same_case_is_a_conflict(
        service: CommandService) -> None:
    opened = service.handle(opening(), T0)
    assert opened.outcome is not None
    case_id = opened.outcome.case_id
    reject = CommandRequest("r-1", "staff:0451", RejectIntake(actor=STAFF, reason="缺材料"),
                            case_id=case_id)
    assert service.handle(reject, T0).ok
    other = CommandRequest("r-1", "staff:0451", RejectIntake(actor=STAFF, reason="另一个理由"),
                           case_id=case_id)
    result = service.handle(other, T0)
    assert result.error is not None
    assert (result.error.code, result.error.field) == ("idempotency_conflict", "command_id")
