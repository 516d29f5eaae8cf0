"""Never brick (issue 11): a stored record that cannot be decoded is set aside, and the region
goes on — the node starts over it, the relay and the back-end feed read past it, and it is
reported (a count and the record's stream, version and log position)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from pathlib import Path

from regions.adapters.stores.sql import SqliteStore
from regions.core.config import RegionConfig
from regions.core.tailer import MemoryCursor
from regions.core.unreadable import unreadable_of
from regions.runtime.bootstrap import build_region
from simulations.runner import run

REGIONS = ("150600", "610800")
HERE, PEER = REGIONS
T0 = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)


def _damage(db: Path, topic_part: str) -> tuple[str, int]:
    """Overwrite the state of one record whose topic contains `topic_part` with bytes no
    decoder reads (what a faulty writer or a damaged disk leaves); its stream and version."""
    with sqlite3.connect(db) as conn:
        stream, version = conn.execute(
            "SELECT originator_id, originator_version FROM stored_events WHERE topic LIKE ? "
            "AND originator_version > 1 ORDER BY rowid LIMIT 1", (f"%{topic_part}%",)).fetchone()
        conn.execute("UPDATE stored_events SET state = ? WHERE originator_id = ? AND "
                     "originator_version = ?", (b"\x00not a record{", stream, version))
    return str(uuid.UUID(str(stream))), int(version)


def _region_over(tmp_path: Path) -> tuple[SqliteStore, object]:
    store = SqliteStore(tmp_path)
    config = RegionConfig(region=HERE, peers=(PEER,), development=True)
    return store, build_region(config, clock=lambda: T0, ids=uuid.uuid4, broker=None,
                               store=store)


def test_a_node_starts_over_a_store_holding_unreadable_records_and_reports_them(
        tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    run(3, 12, REGIONS, (), store_factory=lambda: store)
    store.close()
    side = _damage(tmp_path / f"{HERE}.sqlite", "Stream.Recorded")
    sent = _damage(tmp_path / f"{HERE}.sqlite", "OutLink.Sent")

    store, region = _region_over(tmp_path)  # failed before: the timer's rebuild raised
    try:
        app = region.node.app  # type: ignore[attr-defined]
        feed = region.feed  # type: ignore[attr-defined]
        feed.cursor = MemoryCursor()
        feed.seek(0)
        fed = []
        while feed.pump(fed.extend, T0) is not None:  # failed before: the feed stopped here
            pass
        assert fed and not any(e.side_id == side[0] and e.version == side[1] for e in fed)

        relay = region.relay  # type: ignore[attr-defined]
        relay.cursor = MemoryCursor()
        relay.seek(0)
        relayed = []
        while relay.pump(relayed.extend, T0) is not None:  # failed before: the relay stopped
            pass
        assert relayed

        report = unreadable_of(app).report()
        seen = {(r["stream"], r["version"]) for r in report["recent"]}
        assert {side, sent} <= seen
        assert report["count"] >= 2
    finally:
        store.close()


def test_readiness_and_metrics_name_the_records_set_aside(tmp_path: Path) -> None:
    import asyncio

    from regions.adapters.brokers.memory import MemoryBroker
    from regions.adapters.worker_lock import ProcessLocalLock
    from regions.runtime.driver import NodeDriver
    from regions.runtime.metrics import registry_for, render
    from regions.runtime.status import NodeStatus

    store = SqliteStore(tmp_path)
    run(3, 12, REGIONS, (), store_factory=lambda: store)
    store.close()
    side = _damage(tmp_path / f"{HERE}.sqlite", "Stream.Recorded")
    store, region = _region_over(tmp_path)
    try:
        driver = NodeDriver(region, MemoryBroker(lambda: T0).connect(),  # type: ignore[arg-type]
                            fetch_timeout=0.05)

        class Connected:
            is_connected = True

        async def probe() -> dict[str, object]:
            status = NodeStatus(region.config, Connected(), ProcessLocalLock())  # type: ignore[attr-defined, arg-type]
            await status.lock.acquire(asyncio.Event())
            status.activate(driver)
            body = (await status.readiness()).body()
            assert b"tongban_unreadable_records_total 1.0" in render(registry_for(status))
            return body

        body = asyncio.run(probe())
        assert body["ready"] is True  # the node serves
        unreadable = body["unreadable"]
        assert isinstance(unreadable, dict) and unreadable["count"] == 1
        assert unreadable["recent"][0]["stream"] == side[0]
    finally:
        store.close()
