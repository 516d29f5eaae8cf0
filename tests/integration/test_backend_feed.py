"""The back-end feed and the example pension back-ends over real NATS and a real store.

Two nodes run in one loop (`realworld.running_nodes`: 鄂尔多斯 150600 ← 榆林 610800, SQLite) with
their feed relays; each region runs the example pension back-end (`regions.sdk.examples.pension`) on
its own durable feed consumer, provisioned by the operator (`provision(..., backends=...)`).
Only the applicant's submission is given by hand.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import nats
import pytest

from domain.deadlines import DeadlineCleared
from domain.kernel import Actor, to_payload
from domain.protocols import pension
from domain.protocols.transfer import application
from domain.values import CaseNumber, RegionCode
from projections.records import SideEvent
from regions.adapters.brokers.nats import NatsBroker
from regions.adapters.brokers.nats_server import NatsServer
from regions.adapters.brokers.provision import provision
from regions.adapters.stores.sql import SqliteStore
from regions.core.sides import side_id
from regions.core.store import Stream
from regions.sdk.examples.pension import PensionBackend
from regions.sdk.feed import BackendClient
from regions.wire import feed as feed_codec
from simulations.workload import draw_applicant
from tests.integration import realworld as rw

pytestmark = pytest.mark.timeout(90)

DEST, ORIGIN = "150600", "610800"


@asynccontextmanager
async def pension_backends(url: str, *codes: str) -> AsyncIterator[list[BackendClient]]:
    """The example back-end of each region, running until the block ends."""
    stop = asyncio.Event()
    await provision(codes, url, backends=["pension"])
    clients = [BackendClient(url, code, "pension", process=pension.PROCESS, fetch_timeout=0.2)
               for code in codes]
    tasks = []
    for client in clients:
        await client.connect()
        backend = PensionBackend(client.region, client.commands)
        tasks.append(asyncio.create_task(client.run(backend.handle, stop)))
    try:
        yield clients
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for client in clients:
            await client.close()


async def submit(nodes: rw.Nodes, seed: int) -> str:
    person = draw_applicant(random.Random(seed))
    number = rw.new_case_number(DEST)
    applicant = Actor("applicant", person.citizen.masked, DEST)
    outcome = await nodes[DEST].client.submit(
        str(number), pension.PROCESS, application(
            pension.PROCESS, number, "", [ORIGIN], applicant, item_id="b1-7"),
        command_id=f"apply-{seed}", applicant_id=person.citizen.number)
    assert outcome.ok, outcome
    return str(number.case_id)


async def reset_durable(url: str, code: str, name: str) -> None:
    """What an operator does to replay a back-end's feed: delete its durable, provision it."""
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_consumer(f"TB_FEED_{code}", name)
    finally:
        await nc.close()
    await provision([code], url, backends=[name])


async def side_entries(nodes: rw.Nodes, code: str, case_id: str) -> list[tuple[str, int]]:
    """(type, version) of every event of `code`'s side of the case, read from its store."""
    def read() -> list[tuple[str, int]]:
        stream: Stream = nodes[code].region.node.app.repository.get(side_id(case_id, code))
        return [(type_, n) for n, (type_, _, _) in enumerate(stream.entries, start=1)]
    return await nodes[code].driver.db(read)


async def consume(client: BackendClient, seen: list[SideEvent], *, fail_at: int = 0,
                  rounds: int = 1_000, until: int = 0) -> None:
    """Poll, recording what the handler got; the handler fails once at event `fail_at`."""
    failed = False

    async def handler(event: SideEvent) -> None:
        nonlocal failed
        if fail_at and len(seen) + 1 == fail_at and not failed:
            failed = True
            raise RuntimeError("the back-end's database is down")
        seen.append(event)

    idle = 0
    for _ in range(rounds):
        if until and len(seen) >= until:
            return
        handled = await client.poll(handler)
        idle = idle + 1 if handled == 0 else 0
        if idle >= 8:
            return


def test_the_pension_back_ends_alone_carry_a_transfer_to_completion_and_the_feed_loses_nothing(
    tmp_path: Path, nats_server: NatsServer,
) -> None:
    async def main() -> None:
        store = SqliteStore(tmp_path / "stores")
        try:
            async with rw.running_nodes(store, nats_server.url, (DEST, ORIGIN)) as nodes:
                async with pension_backends(nats_server.url, DEST, ORIGIN) as clients:
                    case_ids = [await submit(nodes, seed) for seed in (21, 22)]
                    for case_id in case_ids:
                        await nodes.wait_status(DEST, case_id, "completed")
                        await nodes.wait_status(ORIGIN, case_id, "transferred_out")
                    sent = {c.region: c.stats["handled"] for c in clients}
                assert all(n > 0 for n in sent.values()), sent
                await nodes.wait_links_converged()
                runs = {case_id: rw.CaseRun(case_id, pension.PROCESS, pension.SCHEME, "", DEST,
                                            ORIGIN, ("completed", "transferred_out"))
                        for case_id in case_ids}
                evidence = await nodes.collect(runs)
                assert [str(v) for v in nodes.judge(evidence)] == []
                await the_feed_is_complete_and_ordered_across_a_restart(nodes, case_ids)
                await a_restarted_back_end_replays_the_feed_without_acting_twice(nodes, case_ids)
        finally:
            store.close()

    asyncio.run(main())


async def the_feed_is_complete_and_ordered_across_a_restart(nodes: rw.Nodes,
                                                            case_ids: list[str]) -> None:
    """A new consumer of the destination's whole feed, whose handler fails once and whose
    process restarts halfway, still sees every side event once, in commit order."""
    url = nodes.url
    expected = {case_id: await side_entries(nodes, DEST, case_id) for case_id in case_ids}
    total = sum(len(v) for v in expected.values())
    seen: list[SideEvent] = []
    await provision([DEST], url, backends=["audit"])
    first = BackendClient(url, DEST, "audit", batch=4, fetch_timeout=0.2, retry_delay=0.05)
    await first.connect()
    await consume(first, seen, fail_at=3, until=total // 2)

    async def down(event: SideEvent) -> None:
        raise RuntimeError("the back-end's database is down again")

    await first.poll(down)  # the batch in hand stays unacked...
    await first.close()  # ...when the back-end restarts; its durable consumer remembers
    second = BackendClient(url, DEST, "audit", batch=4, fetch_timeout=0.2, retry_delay=0.05)
    await second.connect()
    await consume(second, seen)
    await second.close()
    positions = [e.position for e in seen]
    assert positions == sorted(set(positions)), "feed positions repeat or go backwards"
    for case_id, entries in expected.items():
        got = [(e.type, e.version) for e in seen if e.case_id == case_id]
        assert got == entries, case_id
    assert {e.region for e in seen} == {DEST}
    assert first.stats["failed"] == 2


async def a_restarted_back_end_replays_the_feed_without_acting_twice(
        nodes: rw.Nodes, case_ids: list[str]) -> None:
    """The pension back-ends read both feeds again from the start (the operator reset their
    durables; the same back-end, so the same principal and command ids): every command gets its
    stored outcome, and no side changes."""
    before = {(code, c): await side_entries(nodes, code, c)
              for code in (DEST, ORIGIN) for c in case_ids}
    for code in (DEST, ORIGIN):
        await reset_durable(nodes.url, code, "pension")
        client = BackendClient(nodes.url, code, "pension", process=pension.PROCESS,
                               fetch_timeout=0.2)
        await client.connect()
        backend = PensionBackend(code, client.commands)  # same name: same command ids
        idle = 0
        while idle < 5:
            idle = 0 if await client.poll(backend.handle) else idle + 1
        await client.close()
        assert backend.stats["sent"] > 0 and backend.stats["refused"] == 0, backend.stats
    after = {(code, c): await side_entries(nodes, code, c)
             for code in (DEST, ORIGIN) for c in case_ids}
    assert after == before


def feed_item(region: str, position: int, commit: int = 0) -> SideEvent:
    """A feed event of `region` at `position` (one case each; what it says does not matter),
    written by transaction `commit` (0: unknown)."""
    number = CaseNumber.new(RegionCode(region), dt.date(2026, 3, 2), uuid.UUID(int=position))
    event = DeadlineCleared(at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
                            actor=Actor.system("deadlines", region), step=f"s{position}")
    return SideEvent(position=position, region=region, case_id=str(number.case_id),
                     case_number=str(number), process=pension.PROCESS,
                     side_id=str(uuid.UUID(int=position)), version=1, type="DeadlineCleared",
                     schema_version=1, payload=to_payload(event),
                     committed=dt.datetime(2026, 3, 2, 1, commit, tzinfo=dt.UTC) if commit
                     else None)


def test_events_a_crashed_back_end_held_are_handled_by_the_next_one_even_behind_later_ones(
    nats_server: NatsServer,
) -> None:
    """The crashed process held the message of events 1 and 2 (one commit on two cases)
    unacked; the next one gets 3 and 4 (the next commit's message) at once and 1 and 2 once
    their `ack_wait` (5 s) has passed. It must handle them then — it never did — rather than
    take them for repeats of what it handled (a high-water mark would)."""
    region = "150700"  # a feed no other test of this module writes

    async def main() -> tuple[list[int], dict[str, int]]:
        await provision([region], nats_server.url, backends=["ledger"])
        writer = await NatsBroker.connect(nats_server.url)
        items = [feed_item(region, position, commit=(position + 1) // 2)
                 for position in range(1, 5)]
        sent = feed_codec.encode_all(items)
        assert len(sent) == 2
        await writer.publish_many(sent)
        await writer.close()
        crashed = await NatsBroker.connect(nats_server.url)
        held = await crashed.fetch("ledger", f"TB_FEED_{region}", 1, 2.0)
        assert [e.position for d in held for e in feed_codec.decode(d.data)] == [1, 2]
        await crashed.close()  # gone without a word: no ack, no nak
        handled: list[int] = []

        async def handler(event: SideEvent) -> None:
            handled.append(event.position)

        client = BackendClient(nats_server.url, region, "ledger", fetch_timeout=0.2)
        await client.connect()
        try:
            deadline = asyncio.get_running_loop().time() + 30
            while len(handled) < 4 and asyncio.get_running_loop().time() < deadline:
                await client.poll(handler)
        finally:
            await client.close()
        return handled, client.stats

    handled, stats = asyncio.run(main())
    assert handled == [3, 4, 1, 2]
    assert stats["repeats"] == 0


def test_a_back_end_running_across_a_node_store_replaced_by_a_fresh_one_handles_its_new_events(
    tmp_path: Path, nats_server: NatsServer,
) -> None:
    """The pension back-ends keep running while both nodes stop and start again on fresh
    stores (as after a restore or a rebuild): the new stores number their events from the
    same positions again, and the back-ends must still carry the new case — not ack its
    events as repeats of the old case's."""
    async def main() -> list[dict[str, int]]:
        await provision((DEST, ORIGIN), nats_server.url)
        async with pension_backends(nats_server.url, DEST, ORIGIN) as clients:
            for run, seed in enumerate((31, 32)):
                store = SqliteStore(tmp_path / f"stores-{run}")
                try:
                    async with rw.running_nodes(store, nats_server.url, (DEST, ORIGIN)) as nodes:
                        case_id = await submit(nodes, seed)
                        await nodes.wait_status(DEST, case_id, "completed")
                        await nodes.wait_status(ORIGIN, case_id, "transferred_out")
                finally:
                    store.close()
            return [dict(c.stats) for c in clients]

    for stats in asyncio.run(main()):
        assert stats["repeats"] == 0 and stats["handled"] > 0, stats
