"""Who may issue which command (`regions.core.authority`), through the command service.

Issue 11, finding 9: a back-end's body could claim `{"kind": "system"}` or another back-end as
the actor, and send the steps the deciders take by themselves (`Lapse`, `Reconcile`...). Each
is refused before any idempotency record or event exists. (That the actor acts for this region
is the admission's rule: `tests/unit/test_admission.py`.)
"""

from __future__ import annotations

import ast
import datetime as dt
import random
import uuid
from pathlib import Path

import pytest

from domain.deadlines import Escalate, FlagDeadlineMissed
from domain.kernel import Actor, Command
from domain.protocols import pension
from domain.protocols.casework_events import ExpireWaiting, Lapse
from domain.protocols.intake import AcceptIntake
from domain.protocols.transfer import application
from domain.protocols.transfer_commands import CompleteTransfer, Reconcile
from domain.values import CaseNumber, RegionCode
from regions.adapters.stores.memory import MemoryStore
from regions.core import authority
from regions.core.commands import CommandRequest, CommandResult, CommandService
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import Region, build_region
from regions.wire.schemas import load_domain
from simulations.workload import draw_applicant

HERE, ORIGIN = "150600", "610800"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
PENSION = authority.backend_principal("pension")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def region() -> Region:
    return build_region(RegionConfig(region=HERE, peers=(ORIGIN,)), clock=lambda: T0,
                        ids=uuid.uuid4, broker=None, store=MemoryStore())


def submitted(region: Region) -> str:
    person = draw_applicant(random.Random(3))
    number = CaseNumber.new(RegionCode(HERE), dt.date(2026, 3, 2), uuid.UUID(int=3))
    command = application(pension.PROCESS, number, "", [ORIGIN],
                          Actor("applicant", person.citizen.masked, HERE), item_id="b1-7")
    result = CommandService(region.node).handle(CommandRequest(
        "submit", PENSION, command, case_number=str(number), process=pension.PROCESS,
        applicant_id=person.citizen.number), T0)
    assert result.ok, result
    return str(number.case_id)


def send(region: Region, case_id: str, command: Command, command_id: str = "c-1",
         principal: str = PENSION) -> CommandResult:
    return CommandService(region.node).handle(
        CommandRequest(command_id, principal, command, case_id=case_id), T0)


def versions(region: Region, case_id: str) -> int:
    region.node.forget_caches()
    view = region.node.side(case_id)
    return view.version if view else 0


def refusal(result: CommandResult) -> tuple[str, str, int, str]:
    assert result.error is not None
    return result.error.code, result.error.field, result.status, result.kind


@pytest.mark.parametrize(("actor", "field"), [
    (Actor.system("transfer_policy", HERE), "command.actor.kind"),
    (Actor("system", "deadline_timer"), "command.actor.kind"),
    (Actor.backend("audit", HERE), "command.actor.id"),
    (Actor("backend", "pension-2", HERE), "command.actor.id"),
], ids=["system policy", "system of no region", "another back-end", "a name like its own"])
def test_a_back_end_cannot_record_the_system_or_another_back_end_as_actor(
    region: Region, actor: Actor, field: str,
) -> None:
    case_id = submitted(region)
    before = versions(region, case_id)
    result = send(region, case_id, AcceptIntake(actor=actor))
    assert refusal(result) == ("forbidden_actor", field, 403, "invalid")
    assert versions(region, case_id) == before
    # Refused before any idempotency record: the same id with a proper actor goes through.
    assert send(region, case_id, AcceptIntake(actor=Actor.backend("pension", HERE))).ok


@pytest.mark.parametrize("command", [
    CompleteTransfer(actor=Actor.backend("pension", HERE)),
    Reconcile(actor=Actor.backend("pension", HERE), from_region=ORIGIN),
    Lapse(actor=Actor.backend("pension", HERE), step="supplement"),
    ExpireWaiting(actor=Actor.backend("pension", HERE), waiting_state="submitted"),
], ids=lambda c: type(c).__name__)
def test_a_back_end_cannot_issue_a_step_the_node_takes_by_itself(
    region: Region, command: Command,
) -> None:
    case_id = submitted(region)
    before = versions(region, case_id)
    assert refusal(send(region, case_id, command)) == (
        "forbidden_command", "command.type", 403, "invalid")
    assert versions(region, case_id) == before


def test_the_principal_keys_idempotency_so_another_back_end_reusing_an_id_is_a_new_command(
    region: Region,
) -> None:
    case_id = submitted(region)
    staff = Actor("staff", "0451", HERE, "社保经办")
    first = send(region, case_id, AcceptIntake(actor=staff), "same-id")
    again = send(region, case_id, AcceptIntake(actor=staff), "same-id",
                 authority.backend_principal("records"))
    assert first.ok and first.outcome is not None
    assert again.outcome != first.outcome  # judged on its own: the intake is decided already


# --------------------------------------------------------------------------- the list


def _command_classes() -> dict[str, type[Command]]:
    load_domain()
    found: dict[str, type[Command]] = {}
    pending: list[type[Command]] = [Command]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("domain."):
            found.setdefault(cls.__name__, cls)
    return found


#: Where the deciders issue commands by themselves, and where the simulator's people do.
SYSTEM_SOURCES = {"policy", "timers", "timer_commands", "due_commands", "recheck_commands"}
PEOPLE_SOURCES = {"options", "annotation_options", "application"}


def _constructed_in(functions: set[str]) -> set[type[Command]]:
    classes = _command_classes()
    found: set[type[Command]] = set()
    for path in sorted((ROOT / "domain").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name in functions:
                found.update(classes[call.func.id] for call in ast.walk(node)
                             if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                             and call.func.id in classes)
    return found


def test_system_commands_are_exactly_what_policies_and_timers_issue_and_no_person_does() -> None:
    issued_by_the_node = _constructed_in(SYSTEM_SOURCES)
    issued_by_people = _constructed_in(PEOPLE_SOURCES)
    assert {FlagDeadlineMissed, Escalate, Lapse, CompleteTransfer} <= issued_by_the_node
    expected = (issued_by_the_node - issued_by_people) | {ExpireWaiting}  # Lapse's wire alias
    assert expected == authority.SYSTEM_COMMANDS


def test_a_command_a_person_also_issues_stays_open_to_back_ends() -> None:
    """`RefuseMoveOut`: the permit timer issues it, and so does the origin's officer."""
    shared = _constructed_in(SYSTEM_SOURCES) & _constructed_in(PEOPLE_SOURCES)
    assert shared and not shared & authority.SYSTEM_COMMANDS
    assert {c.__name__ for c in shared} == {"RefuseMoveOut"}


def test_a_back_end_may_act_as_itself_or_record_its_staff_and_applicants() -> None:
    for actor in (Actor.backend("pension", HERE), Actor("staff", "0451", HERE, "社保经办"),
                  Actor("applicant", "1506**********123X", HERE)):
        authority.check(PENSION, AcceptIntake(actor=actor))  # no refusal
