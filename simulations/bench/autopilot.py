"""The people and back-ends of a bench run: an automatic back-end inside each node process.

Why in-process and driven by commits: the bench measures the node, not a client; so the staff
and bank roles react to what the node committed (a node listener, called after each commit) and
issue their command through the node's own database thread (`driver.db`), as the command
endpoint would. Commands that pile up while a transaction runs go into the next one together
(`RegionNode.run_batch`): group commit, the lesson of throughput.md §3.4.

One pension transfer (企业职工养老保险关系转移, one origin), as the roles see it:
- destination window staff: `ApplicationSubmitted` → `AcceptIntake` (the contact letter follows
  by policy);
- origin officer: `ContactLetterReceived` → `ApproveTransferOut`; own `TransferOutHeld` →
  `IssueInfoSheet` with the person's contribution record;
- origin treasury: own `InfoSheetIssued` → `RemitFunds` of the sheet's amount;
- destination bank: `InfoSheetReceived` → `RecordFundsReceived` — the bank statement for the
  transfer the origin's treasury made (the bench's model of the banks: both sides derive the
  record from the case number, so the amount never comes from the origin's events).
Every command has an idempotency key derived from the case and the step, as a back-end would.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import logging
import random
from collections import deque
from collections.abc import Callable
from typing import Any

from domain.calendar import china_date
from domain.kernel import Actor, Command, Event
from domain.protocols import pension
from domain.protocols.intake import AcceptIntake, Submit
from domain.protocols.transfer import application
from domain.protocols.transfer_commands import (
    ApproveTransferOut,
    IssueInfoSheet,
    RecordFundsReceived,
    RemitFunds,
)
from domain.protocols.transfer_events import InfoSheet
from domain.values import CaseNumber, CitizenId, RegionCode
from regions.core.outcome import Outcome
from regions.core.sides import BatchedCommand, SideView
from regions.runtime.bootstrap import Region
from regions.runtime.driver import NodeDriver

log = logging.getLogger("tongban.bench")

REGISTER_KEY = b"tongban-bench-register-key"
#: A county code valid for every birth date the bench draws (1960-1999): 阿拉善左旗.
BIRTH_PLACE = "152921"
BIRTH_DAYS = 14_600
ITEM_ID = "b1-7"
#: The most commands one group commit takes (bounds a transaction's length).
MAX_GROUP = 256


def applicant(index: int) -> CitizenId:
    """The index-th bench applicant: a valid 居民身份证 number, distinct for every index."""
    from stdnum.cn import ric

    born = dt.date(1960, 1, 1) + dt.timedelta(days=(index // 1000) % BIRTH_DAYS)
    body = f"{BIRTH_PLACE}{born:%Y%m%d}{index % 1000:03d}"
    return CitizenId(body + ric.calc_check_digit(body + "0"))


@functools.lru_cache(maxsize=1024)
def sheet_for(case_number: str) -> InfoSheet:
    """The person's contribution record as the origin's books hold it (seeded by the case).

    Kept per case: the origin's officer and treasury each read it (~45 µs to draw), and what the
    back-end stand-in costs is charged to the node's CPU per case (docs/performance.md,
    NODECPU); an `InfoSheet` is immutable."""
    return pension.sample_sheet(random.Random(case_number))


def bank_ref(case_number: str) -> str:
    return "R" + hashlib.sha256(case_number.encode()).hexdigest()[:12].upper()


def submission(region: str, origin: str, index: int, now: dt.datetime,
               case_uuid: Any) -> BatchedCommand:
    """The applicant's pension transfer application at the destination's window."""
    citizen = applicant(index)
    number = CaseNumber.new(RegionCode(region), china_date(now), case_uuid)
    actor = Actor("applicant", citizen.masked, region)
    command: Submit = application(
        pension.PROCESS, number, citizen.keyed_hash(REGISTER_KEY), [origin], actor,
        applicant_masked=citizen.masked, item_id=ITEM_ID, channel="window")
    return BatchedCommand(str(number.case_id), command, command_id=f"submit:{number}",
                          principal=str(actor), case_number=str(number),
                          process=pension.PROCESS)


class Autopilot:
    """Reacts to this region's commits with the next step's command, in group commits."""

    def __init__(self, region: Region, peer: str, *, max_group: int = MAX_GROUP) -> None:
        self.region = region
        self.peer = peer
        self.max_group = max_group
        self.queue: deque[BatchedCommand] = deque()
        self.stats = {"commands": 0, "groups": 0, "refused": 0}
        self.on_outcome: list[Callable[[BatchedCommand, Outcome], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._wake_sent = False  # one wake-up per burst of commands, not one per command
        code = region.code
        self.window = Actor("staff", "bench-window", code, "社保经办", "W1")
        self.officer = Actor("staff", "bench-officer", code, "社保经办", "W2")
        self.treasury = Actor.backend("treasury", code)
        self.bank = Actor.backend("bank", code)

    def enqueue(self, request: BatchedCommand) -> None:
        """Thread-safe: a command for the next group commit."""
        self.queue.append(request)
        if self._loop is not None and self._wake is not None and not self._wake_sent:
            self._wake_sent = True
            self._loop.call_soon_threadsafe(self._wake.set)

    def on_commit(self, view: SideView, events: list[Event]) -> None:
        """Node listener (database thread): who acts next, after what was just committed."""
        for event in events:
            command = self._reaction(view, event)
            if command is not None:
                self.enqueue(BatchedCommand(
                    view.case_id, command, command_id=f"{type(command).__name__}:{view.case_id}",
                    principal=str(command.actor)))

    def _reaction(self, view: SideView, event: Event) -> Command | None:
        name = event.TYPE
        if name == "ApplicationSubmitted":
            return AcceptIntake(actor=self.window)
        if name == "ContactLetterReceived":
            return ApproveTransferOut(actor=self.officer)
        if name == "TransferOutHeld":
            return IssueInfoSheet(actor=self.officer, sheet=sheet_for(view.case_number))
        if name == "InfoSheetIssued":
            return RemitFunds(actor=self.treasury,
                              amount_fen=sheet_for(view.case_number).amount_fen,
                              bank_ref=bank_ref(view.case_number))
        if name == "InfoSheetReceived":
            return RecordFundsReceived(
                actor=self.bank, from_region=self.peer,
                amount_fen=sheet_for(view.case_number).amount_fen,
                bank_ref=bank_ref(view.case_number), value_date=china_date(event.at))
        return None

    async def run(self, driver: NodeDriver) -> None:
        """Driver service: take whatever has queued up, decide it in one transaction."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while not driver.stopped.is_set():
            if not self.queue:
                self._wake.clear()
                if not self.queue:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), 0.25)
                continue
            self._wake_sent = False
            group = [self.queue.popleft() for _ in range(min(self.max_group, len(self.queue)))]
            outcomes = await driver.db(self.region.node.run_batch, group, driver.now())
            self.stats["groups"] += 1
            self.stats["commands"] += len(group)
            for request, outcome in zip(group, outcomes, strict=True):
                if not outcome.ok:
                    self.stats["refused"] += 1
                    log.warning("%s refused for %s: %s %s", type(request.command).__name__,
                                request.case_id, outcome.error_code, outcome.error)
                for listener in self.on_outcome:
                    listener(request, outcome)
