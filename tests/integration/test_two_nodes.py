"""Two region nodes on real NATS and a real store carry joint cases to ends both stores agree on.

Each run starts the nodes of a destination and an origin in one loop (`realworld.running_nodes`),
drives three cases at once through the regions' command endpoints — a pension transfer that
completes, one the origin refuses, and a household move — and judges both stores with the
domain's invariants once both sides of every case have ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.calendar import WorkingCalendar
from domain.kernel import SideSummary
from domain.limits import Rules
from domain.protocols import PROTOCOLS
from regions.adapters.brokers.nats_server import NatsServer
from regions.adapters.stores.sql import SqliteStore
from regions.core.ports import Store
from tests.integration import realworld as rw

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(params=["postgres", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        yield request.getfixturevalue("postgres_store")
        return
    sqlite = SqliteStore(tmp_path / "stores")
    yield sqlite
    sqlite.close()


#: A different pair per store, so one module's NATS server never mixes their link sequences.
PAIRS = {"PostgresStore": ("150600", "610800"),  # 鄂尔多斯 ← 榆林
         "SqliteStore": ("150900", "140200")}  # 乌兰察布 ← 大同


async def _run_cases(store: Store, url: str) -> tuple[list[rw.CaseRun], list[str],
                                                      dict[str, dict[str, str]]]:
    destination, origin = PAIRS[type(store).__name__]
    async with rw.running_nodes(store, url, (destination, origin)) as nodes:
        runs = list(await asyncio.gather(
            rw.pension_transfer(nodes, destination, origin, seed=11),
            rw.pension_transfer(nodes, destination, origin, seed=12, origin_refuses=True),
            rw.household_move(nodes, destination, origin, seed=13)))
        await rw.until_all_ended(nodes, runs)
        await nodes.wait_links_converged()
        evidence = await nodes.collect({run.case_id: run for run in runs})
        violations = [str(v) for v in nodes.judge(evidence)]
    statuses = {code: {case_id: s.status for case_id, s in found.summaries.items()}
                for code, found in evidence.items()}
    return runs, violations, statuses


def test_pension_transfers_and_a_household_move_end_in_allowed_pairs_both_stores_agree_on(
    store: Store, nats_server: NatsServer,
) -> None:
    runs, violations, statuses = asyncio.run(_run_cases(store, nats_server.url))
    assert violations == []
    for run in runs:
        ends = (statuses[run.destination][run.case_id], statuses[run.origin][run.case_id])
        assert ends == run.expected, f"{run.process} {run.case_id}"


def test_the_judges_catch_stores_that_disagree() -> None:
    """The judge above can fail: a destination that completed with more than its origin sent,
    a side that was never ended, and a receiver behind its sender's out-link are all reported."""
    dest = SideSummary("c1", "pension_transfer", "destination", "150600", "completed", True,
                       peer_regions=("610800",), amount_stated=100, amount_received=100,
                       amount_credited=100, months_stated=12, months_credited=12)
    origin = SideSummary("c1", "pension_transfer", "origin", "610800", "remitting", False,
                         peer_regions=("150600",), amount_stated=100, amount_sent=90,
                         months_stated=12)
    evidence = {
        "150600": rw.StoreEvidence("150600", summaries={"c1": dest}, events={"c1": []},
                                   out_links={"610800": 3}, in_links={"610800": 2}),
        "610800": rw.StoreEvidence("610800", summaries={"c1": origin}, events={"c1": []},
                                   out_links={"150600": 2}, in_links={"150600": 2}),
    }
    rules = Rules(WorkingCalendar.with_files())
    deciders = {p: spec.decider(rules) for p, spec in PROTOCOLS.items()}
    found = rw.judge(evidence, PROTOCOLS, deciders)
    assert {v.rule for v in found} == {"conservation", "liveness", "link_positions"}
