"""Real-process faults: region nodes as separate OS processes lose nothing and apply nothing twice.

Each test runs two `tongban node` processes (`tests/integration/processes.py`) on a private
nats-server (`sync_interval: always`, its own per test, so it can be killed) and a real store,
drives joint cases through the regions' command endpoints as the people of `realworld` do, stages
one kind of fault, and — after the nodes have been stopped — judges both stores with the
simulator's invariants (`realworld.judge`: conservation, allowed terminal pairs, no step twice,
legal transitions, deadlines, liveness, and every out-link's last sequence equal to the receiver's
in-link position). Each test also checks the broker or the logs for proof that the fault really
happened (a planned crash point's line, a redelivery, a republished message id, an emptied stream).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from regions.adapters.brokers.nats_server import NatsServer
from regions.adapters.brokers.provision import provision
from regions.adapters.stores.sql import SqliteStore
from regions.core.messages import HighWaterMark
from regions.core.ports import Store
from regions.runtime.crashpoints import (
    AFTER_COMMIT_BEFORE_ACK,
    AFTER_COMMIT_BEFORE_PUBLISH,
    AFTER_PUBLISH_BEFORE_CURSOR,
)
from regions.wire import control
from tests.integration import processes as pr
from tests.integration import realworld as rw
from tests.services.nats_server import fresh_nats_server  # noqa: F401 (the `nats` fixture)

pytestmark = pytest.mark.timeout(120)

DEST, ORIGIN, STRANGER = "150600", "610800", "130700"  # 鄂尔多斯 ← 榆林; 保定 runs no node here
CODES = (DEST, ORIGIN)
SIGKILLED = -9


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "stores")
    yield store
    store.close()


async def three_cases(nodes: rw.Nodes) -> list[rw.CaseRun]:
    """A transfer that completes, one the origin refuses, and a household move, all at once."""
    return list(await asyncio.gather(
        rw.pension_transfer(nodes, DEST, ORIGIN, seed=21),
        rw.pension_transfer(nodes, DEST, ORIGIN, seed=22, origin_refuses=True),
        rw.household_move(nodes, DEST, ORIGIN, seed=23)))


async def settle_and_judge(nodes: pr.ProcessCluster,
                           runs: list[rw.CaseRun]) -> dict[str, rw.StoreEvidence]:
    """Both sides of every case ended, links converged, inboxes drained; then stop the nodes
    (cleanly: exit 0) and judge what the stores hold."""
    await rw.until_all_ended(nodes, runs)
    await nodes.wait_links_converged(timeout=rw.CASE_TIMEOUT)
    for code in CODES:
        await pr.until(lambda c=code: _drained(nodes.url, c), f"{code}'s inbox drained")
    assert await pr.stop_all(nodes) == [0, 0], nodes.tails()
    evidence = await nodes.collect({run.case_id: run for run in runs})
    assert [str(v) for v in nodes.judge(evidence)] == []
    for run in runs:
        ends = (evidence[run.destination].summaries[run.case_id].status,
                evidence[run.origin].summaries[run.case_id].status)
        assert ends == run.expected, f"{run.process} {run.case_id}"
    return evidence


async def _drained(url: str, code: str) -> bool:
    facts = await pr.consumer_facts(url, code)
    return facts.pending == 0 and facts.ack_pending == 0


def test_nodes_killed_after_commit_before_publish_and_before_ack_restart_losing_nothing(
        postgres_store: Store, nats: NatsServer, tmp_path: Path) -> None:
    """The destination dies between committing shared events and publishing them; the origin
    dies between committing a received batch and acknowledging it. Restarted, the destination
    publishes what it had committed, and the origin's inbox recognises the redelivered batch."""
    async def main() -> None:
        await provision(CODES, nats.url, ack_wait=2.0)  # redelivery within seconds
        plan = {DEST: f"{AFTER_COMMIT_BEFORE_PUBLISH}:1", ORIGIN: f"{AFTER_COMMIT_BEFORE_ACK}:1"}
        async with pr.cluster(postgres_store, nats.url, CODES, tmp_path, crash_at=plan) as nodes:
            runs = await three_cases(nodes)
            await settle_and_judge(nodes, runs)
            for code, point in plan.items():
                process = nodes.process(code)
                assert process.exits[0] == SIGKILLED and process.incarnation == 2
                assert f"CRASH POINT {point.split(':')[0]} pass 1" in process.logs()
            assert (await pr.consumer_facts(nats.url, ORIGIN)).redelivered
    asyncio.run(main())


def test_a_killed_and_restarted_nats_server_and_poison_messages_lose_nothing(
        sqlite: SqliteStore, nats: NatsServer, tmp_path: Path) -> None:
    """Garbage bytes on a peer's subject and a mark from a region that is no peer go to
    quarantine with their reasons without blocking the link; the NATS server is SIGKILLed and
    restarted on its store while cases are in flight; every case still ends, once. Afterwards
    `tongban quarantine` lists the poison on the node's store and discards it, keeping it."""
    async def main() -> None:
        await provision(CODES, nats.url, ack_wait=2.0)  # acks lost in the outage: soon redelivered
        await pr.publish_raw(nats.url, f"tb.v1.evt.{DEST}.{ORIGIN}", b"\x00\xffnot an event")
        await pr.publish_raw(nats.url, f"tb.v1.evt.{DEST}.{STRANGER}", control.encode_control(
            HighWaterMark(STRANGER, DEST, 3, dt.datetime.now(dt.UTC))))
        async with pr.cluster(sqlite, nats.url, CODES, tmp_path) as nodes:
            cases = asyncio.ensure_future(three_cases(nodes))
            await pr.until(lambda: _any_received(nodes), "a contact letter reached the origin")
            nats.kill()
            await asyncio.sleep(0.5)  # nodes and clients see the connection gone
            await asyncio.to_thread(nats.restart)
            runs = await cases
            await settle_and_judge(nodes, runs)
            assert all(nodes.process(code).exits == [0] for code in CODES)  # no node died
    asyncio.run(main())
    listed = quarantine_cli(tmp_path, "list", "--json")
    reasons = {entry["origin"]: entry["reason"] for entry in json.loads(listed)}
    assert reasons.keys() == {ORIGIN, STRANGER}
    assert reasons[ORIGIN].startswith("wire_not_json")
    assert reasons[STRANGER] == f"unknown sender region {STRANGER}"
    junk = next(e["id"] for e in json.loads(listed) if e["origin"] == ORIGIN)
    quarantine_cli(tmp_path, "discard", junk, "--reason", "garbage from a test", "--by", "ops")
    states = {e["origin"]: e["state"] for e in json.loads(quarantine_cli(tmp_path, "list",
                                                                          "--json"))}
    assert states == {ORIGIN: "discarded", STRANGER: "parked"}


def test_a_republish_after_the_dedup_window_is_not_applied_twice(
        sqlite: SqliteStore, nats: NatsServer, tmp_path: Path) -> None:
    """The destination dies after publishing a batch but before moving its cursor, and comes
    back after the broker's one-second dedup window: the broker stores the batch again, and the
    origin's inbox applies it once."""
    async def main() -> None:
        await provision(CODES, nats.url, duplicate_window=1.0)
        plan = {DEST: f"{AFTER_PUBLISH_BEFORE_CURSOR}:1"}
        async with pr.cluster(sqlite, nats.url, CODES, tmp_path, crash_at=plan,
                              restart_delay=1.5) as nodes:
            runs = [await rw.pension_transfer(nodes, DEST, ORIGIN, seed=31)]
            await settle_and_judge(nodes, runs)
            assert nodes.process(DEST).exits[0] == SIGKILLED
            assert f"CRASH POINT {AFTER_PUBLISH_BEFORE_CURSOR} pass 1" in nodes.process(
                DEST).logs()
        # By the first event a message carries (`<originator>:<version>`, the id's first two
        # fields): the republish may pack the same events with later ones (`link.encode_many`:
        # another digest, another id), but it starts where the unmoved cursor was.
        firsts = collections.Counter(":".join(msg_id.split(":")[:2])
                                     for msg_id in await pr.stream_msg_ids(nats.url, ORIGIN))
        assert [i for i, n in firsts.items() if n > 1], "the broker never took a republish"
    asyncio.run(main())


def test_a_deleted_and_recreated_stream_is_refilled_by_high_water_marks_and_resends(
        postgres_store: Store, nats: NatsServer, tmp_path: Path) -> None:
    """While the origin's node is down, its stream is deleted with the destination's unconsumed
    contact letter in it and provisioned again empty. The destination's heartbeat announces what
    it sent, the origin asks for the gap, the destination re-sends from its store: the case
    completes as if nothing had happened."""
    async def main() -> None:
        await provision(CODES, nats.url)
        async with pr.cluster(postgres_store, nats.url, CODES, tmp_path,
                              start=(DEST,)) as nodes:
            case = asyncio.ensure_future(rw.pension_transfer(nodes, DEST, ORIGIN, seed=41))
            waiting = await pr.until(lambda: pr.stream_msg_ids(nats.url, ORIGIN),
                                     "a letter waits for 610800")
            await pr.delete_stream(nats.url, ORIGIN)
            await provision(CODES, nats.url)
            assert await pr.stream_msg_ids(nats.url, ORIGIN) == []  # the letter is gone
            nodes.process(ORIGIN).start()
            runs = [await case]
            await settle_and_judge(nodes, runs)
        # The deleted letter is in the new stream again: re-sent from the destination's store,
        # under its own id (`regions.wire.link.resent`: `<original>~r<range>`).
        refilled = {msg_id.split("~r")[0] for msg_id in await pr.stream_msg_ids(nats.url, ORIGIN)}
        assert set(waiting) & refilled
    asyncio.run(main())


# --------------------------------------------------------------------------- helpers


async def _any_received(nodes: pr.ProcessCluster) -> bool:
    node = nodes.by_code[ORIGIN]

    def read() -> bool:
        node.region.node.forget_caches()
        return node.region.node.inlink_position(DEST) > 0
    result: bool = await node.read(read)
    return result


def quarantine_cli(tmp_path: Path, *args: str) -> str:
    """`tongban quarantine … --region 150600` on the test's SQLite store, as an operator runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "api", "quarantine", *args, "--region", DEST, "--store", "sqlite",
         "--sqlite-dir", str(tmp_path / "stores"), "--peers", ORIGIN],
        cwd=pr.ROOT, capture_output=True, text=True, timeout=60, check=False,
        start_new_session=True)
    assert result.returncode == 0, result.stderr
    return result.stdout
