"""The operable node without a network: metrics from start-up and as work is done, one behaviour
per test, and the /readyz verdict.

Nodes here are real (`build_region` on the in-memory store, driven over the in-memory broker) and
stepped by hand (`NodeDriver.tail_once`, `NodeDriver.handle`): no loop runs and nothing waits on
the clock. Only the broker's connection state is a plain flag, since the in-memory broker has
none. The real-time loops are exercised in `tests/integration/test_driver.py`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.http import build_app
from domain.kernel import Actor
from domain.protocols import spec_of
from regions.adapters.brokers.memory import MemoryBroker
from regions.adapters.stores.memory import MemoryStore
from regions.adapters.worker_lock import ProcessLocalLock
from regions.core import link_restore
from regions.core.commands import KINDS
from regions.core.config import RegionConfig
from regions.core.ports import Delivery
from regions.runtime.bootstrap import build_region
from regions.runtime.commands import CommandEndpoint
from regions.runtime.driver import NodeDriver
from regions.runtime.metrics import registry_for, render
from regions.runtime.status import NodeStatus, Readiness
from regions.runtime.thread_cpu import ROLES
from regions.wire import subjects
from tests.unit import toy_protocol as toy

A, B, C = "150600", "610800", "152900"
EXPECTED = {
    "tongban_events_published", "tongban_events_consumed", "tongban_events_applied",
    "tongban_inbox_gaps", "tongban_quarantined", "tongban_deadline_misses", "tongban_commands",
    "tongban_inbox_dropped", "tongban_unreadable_records", "tongban_inbox_hold_dropped",
    "tongban_link_publish_failures", "tongban_quarantine_dropped",
    "tongban_document_requests_throttled", "tongban_reused_link_seqs",
    "tongban_lost_link_seqs_asked",
    "tongban_inbox_lag", "tongban_inbox_held", "tongban_projection_lag_events",
    "tongban_db_connections_open",
    "tongban_worker_active", "tongban_broker_connected", "tongban_calendar_official_days_missing",
    "tongban_thread_cpu_seconds"}


class Connection:
    def __init__(self, connected: bool = True) -> None:
        self.is_connected = connected


T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def samples(status: NodeStatus) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = render(registry_for(status)).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if not s.name.endswith("_created")}


def config(code: str = A) -> RegionConfig:
    return RegionConfig(region=code, peers=(A, B, C), heartbeat_seconds=0.2)


def driver_for(cfg: RegionConfig, broker: object, store: MemoryStore) -> NodeDriver:
    region = build_region(cfg, clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store,
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
    threads = {labels: seen.pop((name, labels)) for name, labels in list(seen)
               if name == "tongban_thread_cpu_seconds"}  # the process's, never zero on Linux
    assert set(threads) == {(("thread", role),) for role in ROLES}
    assert all(value >= 0 for value in threads.values())
    assert all(value == 0 for value in seen.values()), seen  # a standby: not active either


class Pair:
    """Two driven nodes over the in-memory broker, stepped by hand: no loop runs, nothing waits
    on the clock. Region A pings B (the toy protocol); B's pong completes A's case."""

    def __init__(self) -> None:
        self.server = MemoryBroker(lambda: T0)
        for code in (A, B):
            self.server.ensure_stream_now(code, duplicate_window=120)
            self.server.ensure_consumer_now(code, ack_wait=30)
        store = MemoryStore()
        self.drivers = {c: driver_for(RegionConfig(region=c, peers=(A, B)), self.server.connect(),
                                      store) for c in (A, B)}
        self.status = NodeStatus(self.drivers[A].region.config, Connection(), ProcessLocalLock())
        self.case_id = toy.new_case(A)

    async def start(self) -> None:
        await self.status.lock.acquire(asyncio.Event())
        self.status.activate(self.drivers[A])

    async def ping(self) -> None:
        node = self.drivers[A].region.node
        await self.drivers[A].db(node.submit, self.case_id, toy.number_of(self.case_id), "toy", toy.Ping(
            actor=Actor("staff", "s", A), case_id=self.case_id, n=0, to=B, home=A), T0)

    async def relay(self, code: str) -> None:
        assert await self.drivers[code].tail_once(self.drivers[code].tails[0])

    async def beat(self, code: str) -> None:
        """One heartbeat of `code`'s relay, published: what announces a batch's marks."""
        driver = self.drivers[code]
        await driver.publish(driver.region.relay.heartbeat(T0))

    async def fetch(self, code: str) -> list[Delivery]:
        return await self.drivers[code].broker.fetch(
            subjects.inbox_consumer_name(code), subjects.event_stream_name(code), 256, 0)

    async def deliver(self, code: str) -> None:
        await self.drivers[code].handle(await self.fetch(code))

    async def round_trip(self) -> None:
        await self.ping()
        await self.relay(A)
        await self.deliver(B)
        await self.relay(B)
        await self.deliver(A)

    def close(self) -> None:
        for driver in self.drivers.values():
            driver.close()


def stepped(scenario: Callable[[Pair], Awaitable[None]]) -> Pair:
    pair = Pair()

    async def main() -> None:
        await pair.start()
        await scenario(pair)

    try:
        asyncio.run(main())
    finally:
        pair.close()
    return pair


def test_an_active_worker_says_so() -> None:
    pair = stepped(lambda pair: asyncio.sleep(0))
    assert samples(pair.status)[("tongban_worker_active", ())] == 1


def test_published_counts_every_message_the_relay_handed_to_the_broker() -> None:
    async def scenario(pair: Pair) -> None:
        await pair.ping()
        await pair.relay(A)

    pair = stepped(scenario)
    # the ping alone: a batch carries no mark of its own (the next heartbeat announces it)
    assert samples(pair.status)[("tongban_events_published_total", ())] == 1


def test_consumed_and_applied_count_what_the_inbox_fetched_and_recorded() -> None:
    pair = stepped(Pair.round_trip)
    seen = samples(pair.status)
    assert seen[("tongban_events_consumed_total", ())] == 1  # the pong (a batch has no mark)
    assert seen[("tongban_events_applied_total", ())] == 1  # the pong
    view = pair.drivers[A].region.node.side(pair.case_id)
    assert view is not None and view.state.status == "done"


def test_a_peer_asking_for_numbers_a_restore_stepped_over_is_counted() -> None:
    """After `tongban links restored` stepped A's link to B over 1..2 (`OutLink.Lost`), B asks
    for them again: the relay cannot re-send them, and /metrics counts each (the alarm that a
    peer's position was given too high, or the peer lost its own records)."""
    async def scenario(pair: Pair) -> None:
        relay = pair.drivers[A].region.relay
        link_restore.renumber(pair.drivers[A].region.node.app, A, {B: 2}, T0)
        assert relay.resend(B, 1, 2) == []

    seen = samples(stepped(scenario).status)
    assert seen[("tongban_lost_link_seqs_asked_total", ())] == 2


def test_commands_are_counted_by_outcome() -> None:
    async def scenario(pair: Pair) -> None:
        await CommandEndpoint(pair.drivers[A]).handle(b"not json", "backend:window")

    seen = samples(stepped(scenario).status)
    assert {o: seen[("tongban_commands_total", (("outcome", o),))] for o in KINDS} == {
        "ok": 0, "refused": 0, "conflict": 0, "invalid": 1, "error": 0}


def test_inbox_lag_counts_announced_messages_not_yet_applied() -> None:
    lags: list[float] = []

    async def scenario(pair: Pair) -> None:
        await pair.ping()
        await pair.relay(A)
        await pair.beat(A)  # announces the mark the batch moved
        ping, mark = await pair.fetch(B)
        status = NodeStatus(pair.drivers[B].region.config, Connection(), ProcessLocalLock())
        status.activate(pair.drivers[B])
        await pair.drivers[B].handle([mark])  # the mark overtook the ping
        lags.append(samples(status)[("tongban_inbox_lag", (("link", A),))])
        await pair.drivers[B].handle([ping])
        lags.append(samples(status)[("tongban_inbox_lag", (("link", A),))])

    stepped(scenario)
    assert lags == [1, 0]


def test_readiness_names_every_check_that_is_not_ok() -> None:
    verdict = Readiness(A, {"store": "ok", "broker": "disconnected", "worker": "standby"},
                        {B: 3})
    assert not verdict.ready
    assert verdict.body() == {"ready": False, "region": A, "checks": {
        "store": "ok", "broker": "disconnected", "worker": "standby"},
        "not_ready": ["broker", "worker"], "inbox_lag": {B: 3}, "projections": {},
        "unreadable": {"count": 0, "recent": []}, "warnings": [], "calendar": {}}
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
        status.activate(driver_for(cfg, MemoryBroker(lambda: T0).connect(), MemoryStore()))
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
