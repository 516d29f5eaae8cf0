"""Example back-end: a region's social-insurance system that auto-decides pension transfers.

    tongban backend pension --region 150600 \
        --nats-url nats://backend_150600_pension:…@127.0.0.1:4222

Its durable on the region's feed is provisioned by the operator (`tongban nats provision
--regions 150600 --backend pension`); the node knows it as `backend:pension` from the subject
its commands arrive on, and every event it causes records that actor.

It consumes its region's feed (`regions.sdk.feed`, process `pension_transfer`) and, in each
role the region plays, gives the commands that window staff, officers, treasury and bank would
give (compare `tests/integration/realworld_people.py::pension_transfer`):

    destination (转入地)  ApplicationSubmitted   → AcceptIntake            (受理)
                          InfoSheetReceived      → RecordFundsReceived     (the bank's notice)
    origin (转出地)       ContactLetterReceived  → ApproveTransferOut, and with one origin at
                                                   once IssueInfoSheet + RemitFunds
                          ProceedInstructed rcvd → IssueInfoSheet + RemitFunds (several origins)

Why it never acts twice: every command id is derived from the case and the step
(`pension:<case id>:<step>`), never drawn, so a restart that sees an event again — at-least-once
— sends the same ids and the node answers with the stored outcomes. A domain refusal (the case
moved on, was withdrawn) is logged and the event acked: retrying cannot change the answer. An
unreachable node raises, so the event comes again.

What is example, not policy: the contribution records (`example_records`: a plausible sheet
drawn from the case id and region, as the simulator draws them) and the bank
(`example_bank_ref`: the origin's treasury remits under a reference both sides derive from the
case and the origin, and the destination's "bank notice" reports that transfer with the amount
of the sheet). A real deployment plugs its contribution database into `records` and records
`FundsReceived` from its bank's own notices, never from the origin's sheet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import uuid
from collections.abc import Callable
from typing import Protocol

from domain.calendar import china_date
from domain.kernel import Actor, Command
from domain.protocols import pension
from domain.protocols.intake import AcceptIntake
from domain.protocols.transfer_commands import (
    ApproveTransferOut,
    IssueInfoSheet,
    RecordFundsReceived,
    RemitFunds,
)
from domain.protocols.transfer_events import InfoSheet, InfoSheetReceived
from projections.records import SideEvent
from regions.core.outcome import Outcome
from regions.sdk.client import CommandRejected
from regions.sdk.feed import BackendClient

log = logging.getLogger("tongban.backend.pension")
NS = uuid.UUID("6f0b1f8e-4c1a-5d7e-9a57-70a9d5c0b1e1")

Records = Callable[[str, str], InfoSheet]


class CommandSender(Protocol):
    """What the back-end needs of `regions.sdk.client.RegionClient`."""

    async def command(self, case_id: str, command: Command, *, command_id: str) -> Outcome: ...


def example_records(case_id: str, region: str) -> InfoSheet:
    """Stand-in for the origin's contribution database: the same sheet for the same case."""
    return pension.SPEC.sample_sheet(random.Random(uuid.uuid5(NS, f"{case_id}/{region}").int))


def example_bank_ref(case_id: str, origin: str) -> str:
    """The example bank's transfer reference, the same at both ends of one transfer."""
    return "EX" + uuid.uuid5(NS, f"bank/{case_id}/{origin}").hex[:14].upper()


class PensionBackend:
    """The decisions of one region's pension back-end; `handle` is the feed handler."""

    def __init__(self, region: str, commands: CommandSender, *, name: str = "pension",
                 records: Records = example_records,
                 bank_ref: Callable[[str, str], str] = example_bank_ref) -> None:
        self.region = region
        self.commands = commands
        self.name = name
        self.records = records
        self.bank_ref = bank_ref
        self.actor = Actor.backend(name, region)
        self.stats = {"sent": 0, "refused": 0}

    async def handle(self, event: SideEvent) -> None:
        if event.process != pension.PROCESS or event.region != self.region:
            return
        case_id, payload = event.case_id, event.payload
        if event.type == "ApplicationSubmitted":
            await self._send(case_id, "accept-intake", AcceptIntake(actor=self.actor))
        elif event.type == "ContactLetterReceived":
            approved = await self._send(case_id, "approve-transfer-out",
                                        ApproveTransferOut(actor=self.actor))
            if approved is not None and approved.status == "approved":
                await self._transfer_out(case_id)
        elif (event.type == "TransferMessageReceived"
              and payload.get("event_type") == "ProceedInstructed"):
            await self._transfer_out(case_id)
        elif event.type == "InfoSheetReceived":
            received = event.event()
            assert isinstance(received, InfoSheetReceived)
            origin, amount = received.from_region, received.sheet.amount_fen
            if amount > 0:
                await self._send(case_id, f"funds-received-{origin}", RecordFundsReceived(
                    actor=self.actor, from_region=origin, amount_fen=amount,
                    bank_ref=self.bank_ref(case_id, origin), value_date=china_date(received.at)))

    async def _transfer_out(self, case_id: str) -> None:
        """信息表 then 基金划转: the sheet from the records, the money under the bank's ref."""
        sheet = self.records(case_id, self.region)
        issued = await self._send(case_id, "info-sheet", IssueInfoSheet(actor=self.actor,
                                                                        sheet=sheet))
        if issued is not None and issued.status == "remitting":
            await self._send(case_id, "remit-funds", RemitFunds(
                actor=self.actor, amount_fen=sheet.amount_fen,
                bank_ref=self.bank_ref(case_id, self.region)))

    async def _send(self, case_id: str, step: str, command: Command) -> Outcome | None:
        """One command under its deterministic id; None when the domain refused it."""
        command_id = f"{self.name}:{case_id}:{step}"
        try:
            outcome = await self.commands.command(case_id, command, command_id=command_id)
        except CommandRejected as exc:
            self.stats["refused"] += 1
            log.info("%s %s of case %s refused: %s (%s)", self.region, step, case_id, exc,
                     exc.code)
            return None
        self.stats["sent"] += 1
        log.info("%s %s of case %s: %s", self.region, step, case_id, outcome.status)
        return outcome


async def run_pension_backend(region: str, nats_url: str, name: str = "pension", *,
                              stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop`): the process behind `tongban backend pension`."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with BackendClient(nats_url, region, name, process=pension.PROCESS) as client:
        backend = PensionBackend(region, client.commands, name=name)
        log.info("pension back-end %s of %s consuming %s", name, region, client.filter)
        await client.run(backend.handle, stop)
    log.info("pension back-end %s of %s stopped", name, region)
