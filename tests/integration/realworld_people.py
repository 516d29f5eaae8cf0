"""The people who work two real region nodes: applicants, window staff, officers, back-ends.

Why apart from `realworld`: what they do — `pension_transfer` and `household_move` drive a case
from submission to its end through `RegionClient`, each waiting for what a person would see
first (the contact letter, the move-out request) — is read for the process, not for how the
nodes run. They work any `realworld.Nodes` (also `processes.ProcessCluster`'s).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import random
import uuid
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from domain.calendar import china_date
from domain.kernel import Actor, Command, SideSummary
from domain.protocols import household, pension
from domain.protocols.application_events import Approve
from domain.protocols.details import HouseholdDetails
from domain.protocols.intake import AcceptIntake, Submit
from domain.protocols.transfer import application
from domain.protocols.transfer_commands import (
    ApproveTransferOut,
    IssueInfoSheet,
    RecordFundsReceived,
    RefuseTransferOut,
    RemitFunds,
)
from domain.protocols.transfer_events import ContributionYear
from domain.values import CaseNumber, CitizenId, MaterialRef, RegionCode
from regions.core.config import DEV_REGISTER_KEY
from regions.core.outcome import Outcome
from simulations.workload import draw_applicant

if TYPE_CHECKING:
    from tests.integration.realworld import Nodes


def wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class CaseRun:
    """A case the people drove, and the ends its two sides must reach."""

    case_id: str
    process: str
    scheme: str
    person_key: str
    destination: str
    origin: str
    expected: tuple[str, str]  # (destination status, origin status)
    amount_fen: int = 0


_ids = itertools.count(1)


class Person:
    """Somebody at a window or a back-end: sends commands with fresh idempotency keys."""

    def __init__(self, nodes: Nodes, actor: Actor) -> None:
        self.nodes = nodes
        self.actor = actor

    async def submit(self, case_number: str, process: str, command: Command, *,
                     applicant_id: str) -> Outcome:
        """An application: the applicant named by the ID number; the node derives the key."""
        region = str(CaseNumber.parse(case_number).region)
        return await self._client(region).submit(
            case_number, process, command, command_id=self._fresh_id(),
            applicant_id=applicant_id)

    async def command(self, region: str, case_id: str, command: Command,
                      command_id: str = "") -> Outcome:
        return await self._client(region).command(
            case_id, command, command_id=command_id or self._fresh_id())

    def _client(self, region: str) -> Any:
        """A back-end acts through its own client (its name is its principal); people through
        the region's window client."""
        return self.nodes.client_for(
            region, self.actor.id if self.actor.kind == "backend" else None)

    def _fresh_id(self) -> str:
        return f"{self.actor.id}-{next(_ids)}-{uuid.uuid4().hex[:8]}"


def node_key(citizen: CitizenId) -> str:
    """The person key the test nodes derive (they run as development, on its register key)."""
    return citizen.keyed_hash(DEV_REGISTER_KEY.encode())


def new_case_number(region: str) -> CaseNumber:
    return CaseNumber.new(RegionCode(region), china_date(wall()), uuid.uuid4())


def staff(nodes: Nodes, region: str, staff_id: str, role: str) -> Person:
    return Person(nodes, Actor("staff", staff_id, region, role, "W3"))


def backend(nodes: Nodes, region: str, client: str) -> Person:
    return Person(nodes, Actor.backend(client, region))


async def pension_transfer(nodes: Nodes, destination: str, origin: str, seed: int, *,
                           origin_refuses: bool = False) -> CaseRun:
    """企业职工养老保险关系转移: accepted at the destination, transferred out by the origin, the
    destination's bank reports the money, the destination completes (or the origin refuses)."""
    person = draw_applicant(random.Random(seed))
    number = new_case_number(destination)
    case_id = str(number.case_id)
    applicant = Person(nodes, Actor("applicant", person.citizen.masked, destination))
    window = staff(nodes, destination, "0451", "社保经办")
    officer = staff(nodes, origin, "0733", "社保经办")
    submitted = await applicant.submit(str(number), pension.PROCESS, application(
        pension.PROCESS, number, "", [origin], applicant.actor, item_id="b1-7"),
        applicant_id=person.citizen.number)
    assert submitted.ok and submitted.status == "submitted", submitted
    accepted = await window.command(destination, case_id, AcceptIntake(actor=window.actor))
    assert accepted.ok, accepted
    await nodes.wait_status(origin, case_id, "received")  # the contact letter came
    run = CaseRun(case_id, pension.PROCESS, pension.SCHEME, node_key(person.citizen), destination,
                  origin, ("refused_by_origin", "refused"))
    if origin_refuses:
        await officer.command(origin, case_id, RefuseTransferOut(
            actor=officer.actor, reason="不符合转出条件: 存在欠费"))
        return run
    await officer.command(origin, case_id, ApproveTransferOut(actor=officer.actor))
    sheet = pension.transfer_amount(1_834_217, [
        ContributionYear(2021, 12, 650_000), ContributionYear(2022, 12, 702_300),
        ContributionYear(2023, 7, 731_050)])
    issued = await officer.command(origin, case_id, IssueInfoSheet(actor=officer.actor,
                                                                   sheet=sheet))
    assert issued.ok and "InfoSheetIssued" in issued.events, issued
    bank_ref = f"R{uuid.uuid4().hex[:12].upper()}"
    treasury = backend(nodes, origin, "treasury")
    remitted = await treasury.command(origin, case_id, RemitFunds(
        actor=treasury.actor, amount_fen=sheet.amount_fen, bank_ref=bank_ref))
    assert remitted.ok, remitted
    # The destination's bank reports the credit; its back-end retries the same notice once.
    bank = backend(nodes, destination, "bank")
    notice = RecordFundsReceived(actor=bank.actor, from_region=origin,
                                 amount_fen=sheet.amount_fen, bank_ref=bank_ref,
                                 value_date=china_date(wall()))
    first = await bank.command(destination, case_id, notice, command_id=f"notice-{bank_ref}")
    again = await bank.command(destination, case_id, notice, command_id=f"notice-{bank_ref}")
    assert first.ok and again == first, (first, again)
    return CaseRun(case_id, pension.PROCESS, pension.SCHEME, node_key(person.citizen), destination,
                   origin, ("completed", "transferred_out"), sheet.amount_fen)


async def household_move(nodes: Nodes, destination: str, origin: str, seed: int) -> CaseRun:
    """户口迁移 (迁移一站办): accepted and approved at the destination (准迁证), checked and
    cancelled (迁出登记 + 注销) by the origin's police back-end, settled (落户) at the destination."""
    person = draw_applicant(random.Random(seed))
    number = new_case_number(destination)
    case_id = str(number.case_id)
    applicant = Person(nodes, Actor("applicant", person.citizen.masked, destination))
    police_d = staff(nodes, destination, "police-d-2", "户籍民警")
    police_o = staff(nodes, origin, "police-o-5", "户籍民警")
    submitted = await applicant.submit(str(number), household.PROCESS, Submit(
        actor=applicant.actor, case_number=str(number), item_id="b2-6",
        process=household.PROCESS, mode="joint", person_key="", applicant_masked="",
        channel="window", details=HouseholdDetails(origin), materials=(MaterialRef(
            "doc-marriage", "b" * 64, "application/pdf", 2048, "结婚证", "结婚证"),)),
        applicant_id=person.citizen.number)
    assert submitted.ok, submitted
    for command in (AcceptIntake(actor=police_d.actor), Approve(actor=police_d.actor)):
        outcome = await police_d.command(destination, case_id, command)
        assert outcome.ok, outcome
    await nodes.wait_status(origin, case_id, "received")  # the move-out request came
    checked = await police_o.command(origin, case_id, household.CheckMoveOut(
        actor=police_o.actor, on_register=True))
    assert checked.ok and checked.status == "held", checked
    hukou = backend(nodes, origin, "police-hukou")
    moved = await hukou.command(origin, case_id, household.RegisterMoveOut(actor=hukou.actor))
    assert moved.ok, moved
    await nodes.wait_status(destination, case_id, "certificate_received")  # the 迁移证 came
    settled = await police_d.command(destination, case_id, household.Settle(
        actor=police_d.actor, address="集宁区新华街1号"))  # 落户 after the staff's check
    assert settled.ok, settled
    return CaseRun(case_id, household.PROCESS, household.SCHEME, node_key(person.citizen),
                   destination, origin, ("settled", "moved_out"))


async def until_all_ended(nodes: Nodes, runs: Iterable[CaseRun]) -> None:
    waits: list[Awaitable[SideSummary]] = []
    for run in runs:
        for code in (run.destination, run.origin):
            waits.append(nodes.wait_for(code, run.case_id, lambda s: s.terminal))
    await asyncio.gather(*waits)
