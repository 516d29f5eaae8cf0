"""The operable node as an operator runs it: `tongban node … --http`, as separate OS processes.

Real PostgreSQL and SQLite stores, a private nats-server, nodes as subprocesses in their own
process groups. Each test uses regions of its own, so the module's shared NATS server carries
no message from one test into another.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from domain.kernel import Actor
from domain.protocols import pension
from domain.protocols.intake import AcceptIntake
from domain.protocols.transfer import application
from regions.adapters.brokers.nats_server import NatsServer, free_port
from regions.adapters.brokers.provision import provision
from regions.adapters.stores.sql import PostgresStore
from regions.adapters.worker_lock import advisory_key
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import build_region
from regions.sdk.client import RegionClient, RegionUnavailable
from simulations.workload import draw_applicant
from tests.integration.contract_watch import tapped
from tests.integration.realworld import new_case_number

pytestmark = pytest.mark.timeout(60)

TONGBAN = str(Path(sys.executable).with_name("tongban"))
FAST = {"TONGBAN_HEARTBEAT_SECONDS": "0.5", "TONGBAN_GAP_BOUND_SECONDS": "2",
        "TONGBAN_DEVELOPMENT": "true"}  # the public register key, an unencrypted store


class Node:
    """One `tongban node` process with its HTTP port and log file."""

    def __init__(self, workdir: Path, name: str, args: list[str]) -> None:
        self.port = free_port()
        self.log = workdir / f"{name}.log"
        self.name = name
        env = {**os.environ, **FAST}
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [TONGBAN, "node", *args, "--broker", "nats", "--http", f"127.0.0.1:{self.port}"],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=5.0)

    def wait_for(self, path: str, status: int, timeout: float = 15.0) -> httpx.Response:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"{self.name} exited: {self.tail()}"
            try:
                last = self.get(path)
                if last.status_code == status:
                    return last  # type: ignore[no-any-return]
            except httpx.TransportError as exc:
                last = exc
            time.sleep(0.1)
        raise AssertionError(f"{self.name} {path} never {status} (last {last!r}): {self.tail()}")

    def metrics(self) -> dict[str, float]:
        response = self.get("/metrics")
        assert response.status_code == 200, f"{self.name}: {response.text} {self.tail()}"
        text = response.text
        return {s.name + "".join(f"{{{v}}}" for v in s.labels.values()): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    def signal(self, sig: signal.Signals) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Nodes(list[Node]):
    """The nodes a test started (all killed at its end), and how it starts them on PostgreSQL."""

    def __init__(self, workdir: Path) -> None:
        super().__init__()
        self.workdir = workdir

    def on_postgres(self, store: PostgresStore, nats: NatsServer,
                    *specs: tuple[str, str, str]) -> list[Node]:
        """Provision the regions, then one node per (name, region, peer)."""
        asyncio.run(provision(sorted({code for _, code, peer in specs} | {
            peer for _, _, peer in specs}), nats.url))
        started = [Node(self.workdir, name, [*pg_args(store, code, peer), "--nats-url", nats.url])
                   for name, code, peer in specs]
        self.extend(started)
        return started


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Nodes]:
    started = Nodes(tmp_path)
    try:
        yield started
    finally:
        for node in started:
            node.signal(signal.SIGKILL)
            node.proc.wait(10)


def pg_args(store: PostgresStore, code: str, peers: str) -> list[str]:
    return ["--region", code, "--peers", peers, "--store", "postgres", "--dsn", store.dsn,
            "--schema", store.schema_for(code)]


async def open_case(client: RegionClient, destination: str, origin: str) -> str:
    """A pension transfer submitted and accepted at `destination`: a contact letter to `origin`."""
    person = draw_applicant(random.Random(uuid.uuid4().int))
    number = new_case_number(destination)
    applicant = Actor("applicant", person.citizen.masked, destination)
    window = Actor("staff", "0451", destination, "社保经办", "W3")
    submitted = await client.submit(str(number), pension.PROCESS, application(
        pension.PROCESS, number, "", [origin], applicant, item_id="b1-7"),
        command_id=f"s-{number}", applicant_id=person.citizen.number)
    assert submitted.ok, submitted
    case_id = str(number.case_id)
    accepted = await client.command(case_id, AcceptIntake(actor=window),
                                    command_id=f"a-{number}")
    assert accepted.ok, accepted
    return case_id


async def until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


def test_a_node_counts_the_commands_and_messages_of_a_case(
        nats_server: NatsServer, postgres_store: PostgresStore, nodes: Nodes) -> None:
    """...and everything the two node processes send on the broker is what asyncapi.yaml
    describes (a `ContractTap` from before they start)."""
    a, b = "150600", "610800"
    url = nats_server.url
    with tapped(url) as contract:
        destination, origin = nodes.on_postgres(postgres_store, nats_server, ("a", a, b),
                                                ("b", b, a))
        ready = destination.wait_for("/readyz", 200).json()
        assert ready["checks"] == {"store": "ok", "broker": "ok", "worker": "active"}
        assert ready["inbox_lag"] == {b: 0}
        origin.wait_for("/readyz", 200)

        async def drive() -> None:
            async with RegionClient(url, a, "window") as client:
                await open_case(client, a, b)
            await until(lambda: origin.metrics()["tongban_events_applied_total"] >= 1, 15,
                        "the contact letter to arrive at the origin")
            # a batch carries no mark of its own: the next heartbeat (5 s) announces it
            await until(lambda: "HighWaterMark" in contract.checked, 20,
                        "a heartbeat's high-water mark on the link")

        asyncio.run(drive())
        counted = destination.metrics()
    assert counted["tongban_commands_total{ok}"] == 2
    assert counted["tongban_events_published_total"] >= 1
    assert origin.metrics()["tongban_events_consumed_total"] >= 1
    assert contract.violations == []
    assert {"FeedEvent", "CommandReply", "HighWaterMark"} <= contract.checked.keys(), \
        contract.checked


def test_a_postgres_standby_takes_over_after_the_active_node_is_killed(
        nats_server: NatsServer, postgres_store: PostgresStore, nodes: Nodes) -> None:
    a, b = "150200", "620100"
    [first] = nodes.on_postgres(postgres_store, nats_server, ("a1", a, b))
    first.wait_for("/readyz", 200)
    [standby] = nodes.on_postgres(postgres_store, nats_server, ("a2", a, b))
    assert standby.wait_for("/healthz", 200).json()["worker"] == "standby"
    not_ready = standby.wait_for("/readyz", 503).json()
    assert (not_ready["not_ready"], not_ready["checks"]["worker"]) == (["worker"], "standby")
    assert standby.metrics()["tongban_worker_active"] == 0

    first.signal(signal.SIGKILL)  # the session ends: PostgreSQL releases the lock
    taken = standby.wait_for("/readyz", 200)
    assert taken.json()["checks"]["worker"] == "active"

    async def drive() -> None:
        async with RegionClient(nats_server.url, a, "window") as client:
            await open_case(client, a, b)  # served by the node that took over

    asyncio.run(drive())
    assert standby.metrics()["tongban_commands_total{ok}"] == 2


def test_sqlite_file_lock_keeps_a_standby_until_the_active_node_is_killed(
        nats_server: NatsServer, nodes: list[Node], tmp_path: Path) -> None:
    code = "152900"
    asyncio.run(provision((code,), nats_server.url))
    args = ["--region", code, "--store", "sqlite", "--sqlite-dir", str(tmp_path / "data"),
            "--nats-url", nats_server.url]
    nodes.append(Node(tmp_path, "s1", args))
    nodes[0].wait_for("/readyz", 200)
    nodes.append(Node(tmp_path, "s2", args))
    assert nodes[1].wait_for("/readyz", 503).json()["checks"]["worker"] == "standby"
    assert "standby: another node holds file lock" in nodes[1].tail()
    nodes[0].signal(signal.SIGKILL)  # the OS drops the dead process's lock
    assert nodes[1].wait_for("/readyz", 200).json()["checks"]["worker"] == "active"


def test_sigterm_under_load_exits_zero_promptly_and_loses_nothing(
        nats_server: NatsServer, postgres_store: PostgresStore, nodes: Nodes) -> None:
    c, d = "640100", "150900"
    nodes.on_postgres(postgres_store, nats_server, ("c1", c, d), ("d", d, c))
    url = nats_server.url
    for node in nodes:
        node.wait_for("/readyz", 200)
    accepted: list[str] = []

    async def load() -> float:
        async with RegionClient(url, c, "window", timeout=3.0) as client:
            async def one() -> None:
                # The node stopped serving: a case without its answer is not counted.
                with contextlib.suppress(RegionUnavailable):
                    accepted.append(await open_case(client, c, d))

            work = [asyncio.create_task(one()) for _ in range(120)]
            while len(accepted) < 8:
                await asyncio.sleep(0.02)
            began = time.monotonic()
            nodes[0].signal(signal.SIGTERM)  # mid-load
            code = await asyncio.to_thread(nodes[0].proc.wait, 15)
            stopped_in = time.monotonic() - began
            assert code == 0, nodes[0].tail()
            await asyncio.gather(*work)
            return stopped_in

    stopped_in = asyncio.run(load())
    assert stopped_in < 10, f"SIGTERM took {stopped_in:.1f} s"
    assert len(accepted) >= 8
    nodes.on_postgres(postgres_store, nats_server, ("c2", c, d))
    nodes[-1].wait_for("/readyz", 200)  # a restart re-publishes whatever was not yet published

    reader = build_region(RegionConfig(region=d, peers=(c,)), clock=time_now, ids=uuid.uuid4,
                          broker=None, store=PostgresStore(
                              postgres_store.dsn, schema_names={d: postgres_store.schema_for(d)}))
    try:
        asyncio.run(until(lambda: all(reader.node.side(cid) is not None for cid in accepted),
                          20, "every accepted case to reach the origin"))
    finally:
        reader.store.close()  # type: ignore[attr-defined]


def time_now() -> Any:
    import datetime as dt
    return dt.datetime.now(dt.UTC)


def test_a_node_whose_lock_session_is_killed_stops_working_then_competes_again(
        nats_server: NatsServer, postgres_store: PostgresStore, nodes: list[Node],
        tmp_path: Path) -> None:
    """Lock lost = stop working at once (never two actives); then back to competing for it."""
    code = "130700"
    asyncio.run(provision((code,), nats_server.url))
    nodes.append(Node(tmp_path, "n", ["--region", code, "--store", "postgres", "--dsn",
                                      postgres_store.dsn, "--schema",
                                      postgres_store.schema_for(code),
                                      "--nats-url", nats_server.url]))
    nodes[0].wait_for("/readyz", 200)
    key = advisory_key(postgres_store.schema_for(code), code)
    high, low = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF  # how pg_locks shows a bigint key
    with psycopg.connect(postgres_store.dsn, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND classid = %s::bigint::oid AND objid = %s::bigint::oid "
            "AND objsubid = 1", (high, low)).fetchall()
    assert killed == [(True,)]
    deadline = time.monotonic() + 10
    while "worker lock LOST" not in nodes[0].log.read_text():
        assert time.monotonic() < deadline, nodes[0].tail()
        time.sleep(0.1)
    assert nodes[0].wait_for("/readyz", 200).json()["checks"]["worker"] == "active"
    log = nodes[0].tail()
    assert log.count("worker lock held") == 2  # it stopped, then took the lock again
    assert log.count(f"node {code} running") == 2  # with a fresh worker
