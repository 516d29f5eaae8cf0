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

Here: the nodes (`running_nodes`, `sqlite_node`, `Nodes`, `LiveNode`, `version`); the people
are `realworld_people`'s and the judges `realworld_judges`'s, both re-exported here, so tests
keep reading everything as `realworld.<name>`.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain import invariants as inv
from domain.kernel import SideSummary
from regions.adapters.brokers.nats import NatsBroker
from regions.adapters.brokers.provision import provision
from regions.adapters.stores.sql import SqliteStore
from regions.core.config import RegionConfig
from regions.core.ports import Store
from regions.runtime.bootstrap import Region, build_region
from regions.runtime.commands import serve_commands
from regions.runtime.driver import NodeDriver
from regions.runtime.views import attach_views
from regions.sdk.client import RegionClient
from regions.wire import subjects
from tests.integration.realworld_judges import StoreEvidence, collect, judge, link_violations
from tests.integration.realworld_people import (
    CaseRun,
    Person,
    backend,
    household_move,
    new_case_number,
    node_key,
    pension_transfer,
    staff,
    until_all_ended,
    wall,
)

__all__ = [
    "CASE_TIMEOUT", "POLL", "CaseRun", "LiveNode", "Nodes", "Person", "StoreEvidence", "backend",
    "collect", "household_move", "judge", "link_violations", "new_case_number", "node_key",
    "pension_transfer", "running_nodes", "sqlite_node", "staff", "until_all_ended", "version",
    "wall",
]

#: How long one case may take end to end on a busy machine (s); it takes well under one.
CASE_TIMEOUT = 30.0
POLL = 0.02


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
