"""Two real region nodes in one asyncio loop, the people who work them, and the judges.

What the real-service tests share:
- `running_nodes(store, url, codes)`: provisions the regions on a real NATS (the admin step,
  `regions.adapters.brokers.provision`), builds each region on the given store (PostgreSQL or SQLite) with
  the composition root, and runs one `NodeDriver` per region with its command endpoint
  (`regions.runtime.commands.serve_commands`) — everything a `tongban node` process runs except signals.
- The people: `pension_transfer` and `household_move` drive a case from submission to its end
  through `RegionClient` (requests over NATS to each region's endpoint), with the commands window
  staff, the origin's officers, its treasury and the destination's bank would give, each waiting
  for what a person would see first (the contact letter, the move-out request).
- The judges: `collect` reads each region's *store* (caches dropped, on the node's database
  thread), `judge` applies the domain's invariants (`domain.invariants`: conservation, allowed
  terminal pairs, no step twice, legal transitions, deadlines never early, single active
  relationship, liveness) and checks the link positions: every out-link's last sequence equals
  the receiver's in-link position.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import itertools
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from domain import invariants as inv
from domain.calendar import china_date
from domain.kernel import Actor, Command, Decider, Event, SideSummary, event_from_payload
from domain.protocols import ProtocolSpec, household, pension
from domain.protocols.application_events import Approve
from domain.protocols.casework_events import ANNOTATIONS
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
from domain.registers import RegisterEntry, RegisterKey
from domain.values import CaseNumber, CitizenId, MaterialRef, RegionCode
from regions.adapters.brokers.nats import NatsBroker
from regions.adapters.brokers.provision import provision
from regions.adapters.stores.sql import SqliteStore
from regions.core.config import DEV_REGISTER_KEY, RegionConfig
from regions.core.outcome import Outcome
from regions.core.ports import Store
from regions.core.sides import side_id
from regions.core.store import OutLink, Stream
from regions.runtime.bootstrap import Region, build_region
from regions.runtime.commands import serve_commands
from regions.runtime.driver import NodeDriver
from regions.runtime.views import attach_views
from regions.sdk.client import RegionClient
from regions.wire import subjects
from simulations.workload import draw_applicant

#: How long one case may take end to end on a busy machine (s); it takes well under one.
CASE_TIMEOUT = 30.0
POLL = 0.02


def wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------- nodes


@dataclass
class LiveNode:
    """One running region: its composition, driver, broker connection and a client to it."""

    code: str
    region: Region
    driver: NodeDriver
    broker: NatsBroker
    client: RegionClient
    task: asyncio.Task[None] | None = None
    #: The node's read models, when `running_nodes(views=True)` attached them.
    views: Any = None

    async def summary(self, case_id: str) -> SideSummary | None:
        def read() -> SideSummary | None:
            view = self.region.node.side(case_id)
            if view is None or view.state is None:
                return None
            summary: SideSummary = self.region.node.protocols[view.process].decider.summary(
                view.state)
            return summary
        return await self.driver.db(read)


@dataclass
class Nodes:
    by_code: dict[str, LiveNode]
    url: str
    #: Clients speaking as a named back-end (the node takes the principal from the subject).
    extra: dict[tuple[str, str], Any] = field(default_factory=dict)

    def __getitem__(self, code: str) -> LiveNode:
        return self.by_code[code]

    def client_for(self, code: str, backend: str | None = None) -> Any:
        """The region's client, or one speaking as back-end `backend` (made once)."""
        if backend is None:
            return self[code].client
        if (code, backend) not in self.extra:
            self.extra[code, backend] = self.new_client(code, backend)
        return self.extra[code, backend]

    def new_client(self, code: str, backend: str) -> Any:
        return RegionClient(self[code].client.url, code, backend)

    async def close_clients(self) -> None:
        for client in self.extra.values():
            await client.close()
        self.extra.clear()

    async def wait_for(self, code: str, case_id: str,
                       condition: Callable[[SideSummary], bool],
                       timeout: float = CASE_TIMEOUT) -> SideSummary:
        """Poll (through the node's database thread) until the side satisfies `condition`."""
        deadline = asyncio.get_running_loop().time() + timeout
        seen: SideSummary | None = None
        while asyncio.get_running_loop().time() < deadline:
            seen = await self[code].summary(case_id)
            if seen is not None and condition(seen):
                return seen
            await asyncio.sleep(POLL)
        raise AssertionError(f"{code}'s side of {case_id} never got there; last seen: {seen}")

    async def wait_status(self, code: str, case_id: str, status: str) -> SideSummary:
        return await self.wait_for(code, case_id, lambda s: s.status == status)

    async def wait_links_converged(self, timeout: float = 10.0) -> None:
        """Until every receiver has applied everything its origins' out-links hold."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            evidence = await self.collect({})
            if not link_violations(evidence):
                return
            if asyncio.get_running_loop().time() >= deadline:
                raise AssertionError(f"links never converged: {link_violations(evidence)}")
            await asyncio.sleep(POLL * 5)

    def judge(self, evidence: Mapping[str, StoreEvidence]) -> list[inv.Violation]:
        region = next(iter(self.by_code.values())).region
        return judge(evidence, region.specs,
                     {p: b.decider for p, b in region.node.protocols.items()})

    async def collect(self, cases: Mapping[str, CaseRun]) -> dict[str, StoreEvidence]:
        peers = list(self.by_code)
        return {code: await node.driver.db(collect, node.region, cases, peers)
                for code, node in self.by_code.items()}


@asynccontextmanager
async def running_nodes(store: Store, url: str, codes: Iterable[str], *,
                        counterparts: Iterable[str] = (), urls: Mapping[str, str] | None = None,
                        provisioned: bool = False,
                        clients: Mapping[str, tuple[str, str]] | None = None,
                        views: bool = False, **settings: Any) -> AsyncIterator[Nodes]:
    """Provision `codes` (and `counterparts`, regions that get messages but run no node here)
    on the NATS at `url` and run one node per region of `codes` on `store`. Multi-site: `urls`
    gives a region's own server (its site), and `provisioned` skips the provisioning step.
    `clients` gives a region's command client as (url, back-end name); by default the node's
    url and back-end "window" (an open server lets anyone be anyone). `views` attaches each
    node's read models as `tongban node` does (`LiveNode.views`)."""
    codes, counterparts = tuple(codes), tuple(counterparts)
    if not provisioned:
        await provision((*codes, *counterparts), url)
    nodes: dict[str, LiveNode] = {}
    live: Nodes | None = None
    ready: list[asyncio.Event] = []
    try:
        for code in codes:
            node_url = (urls or {}).get(code, url)
            config = RegionConfig(region=code, peers=(*codes, *counterparts), broker="nats",
                                  nats_url=node_url,
                                  heartbeat_seconds=0.5, gap_bound_seconds=5, **settings)
            broker = await NatsBroker.connect(node_url, name=f"tongban-test-{code}",
                                              inbox_prefix=subjects.inbox_prefix(code))
            region = build_region(config, clock=wall, ids=uuid.uuid4, broker=broker, store=store)
            driver = NodeDriver(region, broker, fetch_timeout=0.25, timer_period=0.5)
            serving = asyncio.Event()
            ready.append(serving)
            driver.services.append(functools.partial(serve_commands, ready=serving))
            client_url, backend = (clients or {}).get(code, (node_url, "window"))
            node = nodes[code] = LiveNode(code, region, driver, broker,
                                          RegionClient(client_url, code, backend))
            if views:
                node.views = await asyncio.to_thread(attach_views, region, driver, store)
            node.task = asyncio.create_task(driver.run())
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 10.0)
        for node in nodes.values():
            await node.client.connect()
        live = Nodes(nodes, url)
        yield live
    finally:
        if live is not None:
            await live.close_clients()
        for node in nodes.values():
            await node.client.close()
            node.driver.stop()
        await asyncio.gather(*(n.task for n in nodes.values() if n.task is not None))
        for node in nodes.values():
            await node.broker.close()
            if node.views is not None:
                node.views.close()


@asynccontextmanager
async def sqlite_node(directory: Path, url: str, here: str, *,
                      counterparts: Iterable[str] = ()) -> AsyncIterator[Nodes]:
    """One node for `here` on SQLite stores in `directory`: what a back-end's endpoint tests
    talk to."""
    store = SqliteStore(directory / "stores")
    try:
        async with running_nodes(store, url, (here,), counterparts=counterparts) as nodes:
            yield nodes
    finally:
        store.close()


async def version(node: LiveNode, case_id: str) -> int:
    """The side's version as the store holds it (caches dropped, on the node's database
    thread): how the endpoint tests see whether a command acted, and how often."""
    def read() -> int:
        node.region.node.forget_caches()  # the store's word, not the cache's
        view = node.region.node.side(case_id)
        return view.version if view else 0
    return await node.driver.db(read)


# --------------------------------------------------------------------------- people at work


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


# --------------------------------------------------------------------------- the judges


@dataclass
class StoreEvidence:
    """What one region's store holds about the cases and its links, read fresh from the store."""

    region: str
    summaries: dict[str, SideSummary] = field(default_factory=dict)
    events: dict[str, list[Event]] = field(default_factory=dict)
    registers: dict[RegisterKey, RegisterEntry] = field(default_factory=dict)
    out_links: dict[str, int] = field(default_factory=dict)  # destination -> last link_seq
    in_links: dict[str, int] = field(default_factory=dict)  # origin -> position


def collect(region: Region, cases: Mapping[str, CaseRun], peers: Iterable[str]) -> StoreEvidence:
    """On the node's database thread: drop the caches and read the store."""
    node = region.node
    node.forget_caches()
    found = StoreEvidence(region.code)
    for case_id, run in cases.items():
        view = node.side(case_id)
        if view is None:
            continue
        decider = node.protocols[view.process].decider
        found.summaries[case_id] = decider.summary(view.state)
        stream: Stream = node.app.repository.get(side_id(case_id, region.code))
        found.events[case_id] = [event_from_payload(t, p, v) for t, v, p in stream.entries]
        entry = node.register_entry(run.person_key, run.scheme)
        if entry is not None:
            found.registers[(region.code, run.person_key, run.scheme)] = entry
    for peer in peers:
        if peer == region.code:
            continue
        found.in_links[peer] = node.inlink_position(peer)
        try:
            link: OutLink = node.app.repository.get(OutLink.id_for(region.code, peer))
            found.out_links[peer] = link.last_seq
        except AggregateNotFoundError:
            found.out_links[peer] = 0
    return found


def link_violations(evidence: Mapping[str, StoreEvidence]) -> list[inv.Violation]:
    return [inv.Violation("-", "link_positions",
                          f"{origin}→{dest}: sent up to {sent}, applied up to "
                          f"{evidence[dest].in_links.get(origin, 0)}")
            for origin, found in sorted(evidence.items())
            for dest, sent in sorted(found.out_links.items())
            if dest in evidence and evidence[dest].in_links.get(origin, 0) != sent]


def judge(evidence: Mapping[str, StoreEvidence], specs: Mapping[str, ProtocolSpec],
          deciders: Mapping[str, Decider[Any]]) -> list[inv.Violation]:
    """Every invariant the stores can be held to (`specs`, `deciders` by process); [] if they
    agree."""
    summaries = [s for found in evidence.values() for s in found.summaries.values()]
    side_events = {(case_id, code): events for code, found in evidence.items()
                   for case_id, events in found.events.items()}
    registers = {k: v for found in evidence.values() for k, v in found.registers.items()}
    allowed = {process: spec.allowed_terminal_pairs for process, spec in specs.items()}
    found = inv.conservation(summaries) + inv.terminal_pairs(summaries, allowed)
    found += inv.no_step_twice(side_events)
    for (case_id, code), events in sorted(side_events.items()):
        process = evidence[code].summaries[case_id].process
        if specs[process].transitions:
            found += inv.legal_transitions(case_id, code, deciders[process], events,
                                           specs[process].transitions,
                                           annotations=frozenset(ANNOTATIONS))
        found += inv.deadlines_never_early(case_id, code, events)
    found += inv.liveness(summaries)
    found += inv.single_active_relationship(registers)
    found += link_violations(evidence)
    return inv.violations_only(found)
