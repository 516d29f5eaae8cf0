"""The operable node without a network: metrics from start-up, the /readyz verdict, the file lock.

Nodes here are real (`build_region` on the in-memory store, driven over the in-memory broker);
only the broker's connection state is a plain flag, since the in-memory broker has none.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.http import build_app
from domain.kernel import Actor
from domain.protocols import spec_of
from regions.adapters.brokers.memory import MemoryBroker
from regions.adapters.stores.memory import MemoryStore
from regions.adapters.worker_lock import FileWorkerLock, ProcessLocalLock
from regions.core.commands import KINDS
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import build_region
from regions.runtime.commands import CommandEndpoint
from regions.runtime.driver import NodeDriver
from regions.runtime.metrics import registry_for, render
from regions.runtime.status import NodeStatus, Readiness
from tests.unit import toy_protocol as toy

A, B, C = "150600", "610800", "152900"
EXPECTED = {
    "tongban_events_published", "tongban_events_consumed", "tongban_events_applied",
    "tongban_inbox_gaps", "tongban_quarantined", "tongban_deadline_misses", "tongban_commands",
    "tongban_inbox_lag", "tongban_inbox_held", "tongban_db_connections_open",
    "tongban_worker_active", "tongban_broker_connected"}


class Connection:
    def __init__(self, connected: bool = True) -> None:
        self.is_connected = connected


def wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def samples(status: NodeStatus) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = render(registry_for(status)).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if not s.name.endswith("_created")}


def config(code: str = A) -> RegionConfig:
    return RegionConfig(region=code, peers=(A, B, C), heartbeat_seconds=0.2)


def driver_for(cfg: RegionConfig, broker: object, store: MemoryStore) -> NodeDriver:
    region = build_region(cfg, clock=wall, ids=uuid.uuid4, broker=None, store=store,
                          protocols={"toy": spec_of("toy", toy)})
    return NodeDriver(region, broker, fetch_timeout=0.05)  # type: ignore[arg-type]


def test_every_metric_has_a_zero_sample_with_peer_links_and_outcomes_before_any_work() -> None:
    status = NodeStatus(config(), Connection(), ProcessLocalLock())
    seen = samples(status)
    families = {name.removesuffix("_total") for name, _ in seen}
    assert families == EXPECTED
    assert {labels for name, labels in seen if name == "tongban_inbox_lag"} == {
        (("link", B),), (("link", C),)}  # the node's peers, never itself
    assert {labels for name, labels in seen if name == "tongban_commands_total"} == {
        (("outcome", o),) for o in KINDS}
    assert seen.pop(("tongban_broker_connected", ())) == 1
    assert all(value == 0 for value in seen.values()), seen  # a standby: not active either


def test_a_driven_node_counts_published_consumed_and_commands_by_outcome() -> None:
    Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

    async def scenario() -> tuple[Samples, Samples]:
        server = MemoryBroker(wall)
        for code in (A, B):
            server.ensure_stream_now(code, duplicate_window=120)
            server.ensure_consumer_now(code, ack_wait=30)
        store = MemoryStore()
        drivers = {c: driver_for(RegionConfig(region=c, peers=(A, B), heartbeat_seconds=0.2),
                                 server.connect(), store) for c in (A, B)}
        status = NodeStatus(drivers[A].region.config, Connection(), ProcessLocalLock())
        await status.lock.acquire(asyncio.Event())
        status.activate(drivers[A])
        before = samples(status)
        runs = [asyncio.create_task(d.run()) for d in drivers.values()]
        case_id = str(uuid.uuid4())
        await drivers[A].db(drivers[A].region.node.submit, case_id, "n0", "toy", toy.Ping(
            actor=Actor("staff", "s", A), case_id=case_id, n=0, to=B, home=A), wall())
        await CommandEndpoint(drivers[A]).handle(b"not json")
        for _ in range(200):
            await asyncio.sleep(0.02)
            view = drivers[A].region.node.side(case_id)
            if view is not None and view.state.status == "done":
                break
        after = samples(status)
        for d in drivers.values():
            d.stop()
        await asyncio.gather(*runs)
        return before, after

    before, after = asyncio.run(scenario())
    assert before[("tongban_worker_active", ())] == 1
    assert after[("tongban_events_published_total", ())] >= 1  # the ping
    assert after[("tongban_events_consumed_total", ())] >= 1  # the pong
    assert after[("tongban_events_applied_total", ())] >= 1
    assert after[("tongban_commands_total", (("outcome", "invalid"),))] == 1
    assert after[("tongban_commands_total", (("outcome", "ok"),))] == 0
    assert after[("tongban_inbox_lag", (("link", B),))] == 0


def test_readiness_names_every_check_that_is_not_ok() -> None:
    verdict = Readiness(A, {"store": "ok", "broker": "disconnected", "worker": "standby"},
                        {B: 3})
    assert not verdict.ready
    assert verdict.body() == {"ready": False, "region": A, "checks": {
        "store": "ok", "broker": "disconnected", "worker": "standby"},
        "not_ready": ["broker", "worker"], "inbox_lag": {B: 3}}
    assert Readiness(A, {"store": "ok", "broker": "ok", "worker": "active"}).ready


def test_readyz_is_503_standby_until_the_worker_is_active_and_healthz_is_200_throughout() -> None:
    cfg = config()
    connection = Connection()
    status = NodeStatus(cfg, connection, ProcessLocalLock())
    with TestClient(build_app(status)) as http:
        assert http.get("/healthz").status_code == 200
        standby = http.get("/readyz")
        assert standby.status_code == 503
        assert standby.json()["not_ready"] == ["worker"]
        assert standby.json()["checks"]["worker"] == "standby"
        assert standby.json()["inbox_lag"] == {B: 0, C: 0}

        status.lock.held = True
        status.activate(driver_for(cfg, MemoryBroker(wall).connect(), MemoryStore()))
        assert http.get("/readyz").status_code == 200
        connection.is_connected = False
        down = http.get("/readyz")
        assert (down.status_code, down.json()["not_ready"]) == (503, ["broker"])
        metrics = http.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "tongban_broker_connected 0.0" in metrics.text

        status.retire(lock_lost=True)
        lost = http.get("/readyz")
        assert (lost.status_code, lost.json()["checks"]["worker"]) == (503, "lock lost")


@pytest.mark.parametrize("bad", ["8000", "localhost", "host:port", ":8000", "h:70000"])
def test_http_address_must_be_host_and_port(bad: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        RegionConfig(region=A, http=bad)
    assert RegionConfig(region=A, http="[::1]:0").http == "[::1]:0"


def test_a_second_file_lock_waits_until_the_first_is_released(tmp_path: Path) -> None:
    async def scenario() -> list[bool]:
        path = tmp_path / f"{A}.sqlite.lock"
        first, second = FileWorkerLock(path, poll_seconds=0.02), FileWorkerLock(
            path, poll_seconds=0.02)
        never, waiting = asyncio.Event(), asyncio.Event()
        got_first = await first.acquire(never)
        asyncio.get_running_loop().call_later(0.2, waiting.set)
        got_second_while_held = await second.acquire(waiting)  # gives up when told to stop
        await first.release()
        got_second_after = await asyncio.wait_for(second.acquire(never), 2.0)
        await second.release()
        return [got_first, got_second_while_held, got_second_after]

    assert asyncio.run(scenario()) == [True, False, True]


def test_a_deleted_lock_file_counts_as_a_lost_lock(tmp_path: Path) -> None:
    async def scenario() -> bool:
        lock = FileWorkerLock(tmp_path / "r.lock", poll_seconds=0.02)
        never = asyncio.Event()
        await lock.acquire(never)
        (tmp_path / "r.lock").unlink()  # someone else could now lock a new file
        await asyncio.wait_for(lock.watch(never), 2.0)
        held = lock.held
        await lock.release()
        return held

    assert asyncio.run(scenario()) is False
