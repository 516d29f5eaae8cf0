"""Two nodes on real PostgreSQL and NATS keep their case views in view tables: after the run the
two sides' views of every joint case agree, each node's tables equal a replay of its log from
scratch, and a new reader resumes at the tracking row the nodes left."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

import pytest

from projections.cases import CaseView
from projections.joint import agreement
from projections.views import Views
from regions.adapters.brokers.nats_server import NatsServer
from regions.adapters.stores.sql import PostgresStore
from regions.adapters.stores.view_tables import ViewTables
from regions.adapters.stores.views import DurableViews
from regions.core.side_events import SideEventTailer
from regions.core.tailer import MemoryCursor
from regions.runtime.views import deciders_of
from tests.integration import realworld as rw

pytestmark = pytest.mark.timeout(180)
DEST, ORIGIN = "150600", "610800"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def plain(view: CaseView) -> dict[str, Any]:
    data = dataclasses.asdict(view)
    data.pop("state")
    return data


async def caught_up(nodes: rw.Nodes) -> None:
    """Until every node's views tailer has nothing left to apply."""
    for _ in range(400):
        lags = [await nodes[c].driver.db(nodes[c].views.tailer.backlog) for c in (DEST, ORIGIN)]
        if not any(lags):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"views still behind: {lags}")


async def _run(store: PostgresStore, url: str) -> dict[str, Any]:
    async with rw.running_nodes(store, url, (DEST, ORIGIN), views=True) as nodes:
        runs = list(await asyncio.gather(
            rw.pension_transfer(nodes, DEST, ORIGIN, seed=31),
            rw.pension_transfer(nodes, DEST, ORIGIN, seed=32),
            rw.pension_transfer(nodes, DEST, ORIGIN, seed=33, origin_refuses=True),
            rw.household_move(nodes, DEST, ORIGIN, seed=34)))
        await rw.until_all_ended(nodes, runs)
        await caught_up(nodes)
        found: dict[str, Any] = {"runs": runs, "deciders": {}, "positions": {}, "views": {}}
        for code in (DEST, ORIGIN):
            durable = nodes[code].views.views
            assert isinstance(durable, DurableViews)
            found["views"][code] = dict(durable.cases)
            found["positions"][code] = durable.position
            found["deciders"][code] = deciders_of(nodes[code].region)
    return found


def test_both_sides_views_of_every_joint_case_agree_on_postgres(
        postgres_store: PostgresStore, nats_server: NatsServer) -> None:
    found = asyncio.run(_run(postgres_store, nats_server.url))
    for run in found["runs"]:
        dest = found["views"][DEST][run.case_id]
        origin = found["views"][ORIGIN][run.case_id]
        assert (dest.role, origin.role) == ("destination", "origin")
        judged = agreement([dest, origin], complete=True)
        assert judged.agreed is True and judged.disagreements == (), (run.process, judged)
        assert (dest.status, origin.status) == run.expected
        assert {step.region for step in dest.timeline} == {DEST, ORIGIN}  # both regions' steps
    transfers = [r for r in found["runs"] if r.process == "pension_transfer"]
    paid = [found["views"][DEST][r.case_id] for r in transfers if r.expected[0] == "completed"]
    assert paid and all(v.amount_received == v.amount_stated > 0 for v in paid)

    for code in (DEST, ORIGIN):  # the tables equal a replay; a new reader starts where they stand
        app = postgres_store.open(code)
        replay = Views(found["deciders"][code])
        tailer = SideEventTailer(code, app, cursor=MemoryCursor())
        while tailer.pump(replay.feed, NOW) is not None:
            pass
        assert {k: plain(v) for k, v in found["views"][code].items()} == \
            {k: plain(v) for k, v in replay.cases.items()}
        tables = ViewTables.for_store(postgres_store, code)
        try:
            assert tables.position() == found["positions"][code] > 0
            assert DurableViews(tables, code).queue() == replay.queue()
        finally:
            tables.close()
