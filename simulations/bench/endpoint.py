"""Commands through a node's real command endpoint over a real nats-server: one at a time against
group commit, alternately in one sitting.

Why its own script: the bench's autopilot hands its commands to `RegionNode.run_batch` directly
(`simulations.bench.autopilot`), so it never measured what a back-end gets: a request over NATS
to `tb.v1.cmd.<region>.<backend>`, decoded, decided on the node's database thread and answered.
Until group commit that was one request at a time, each in a transaction of its own
(`regions.runtime.commands`). Here back-ends (`RegionClient`s, several connections, a window of
requests in flight each) open cases and then accept every one of them — two commands a case —
against a node running in a child process on PostgreSQL, once with the endpoint serving one at a
time (`serve_commands(batch=False)`, the old path kept for this comparison) and once with group
commit, alternately for `--rounds` rounds. Printed: commands per second (wall) and the node
process's CPU per command (from /proc, the whole process: endpoint, database thread, relay...),
each mode's median and the ratio.

    python -m simulations.bench.endpoint [--cases 300] [--rounds 3] [--clients 4] [--window 16]
                                         [--dsn DSN] [--only "group commit"]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import random
import statistics
import sys
import time
import uuid
from multiprocessing.connection import Connection

REGION, PEER = "150600", "610800"
MODES = ("one at a time", "group commit")


def _wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _node(dsn: str, prefix: str, url: str, batch: bool, conn: Connection) -> None:
    """The child: one node of REGION on PostgreSQL with its command endpoint, until told."""
    asyncio.run(_serve(dsn, prefix, url, batch, conn))


async def _serve(dsn: str, prefix: str, url: str, batch: bool, conn: Connection) -> None:
    import functools
    import os

    from regions.adapters.brokers.nats import NatsBroker
    from regions.adapters.stores.sql import PostgresStore
    from regions.core.config import RegionConfig
    from regions.runtime.bootstrap import build_region
    from regions.runtime.commands import serve_commands
    from regions.runtime.driver import NodeDriver
    from regions.wire import subjects

    store = PostgresStore(dsn, schema_prefix=prefix)
    config = RegionConfig(region=REGION, peers=(PEER,), broker="nats", nats_url=url)
    broker = await NatsBroker.connect(url, name=f"bench-endpoint-{REGION}",
                                      inbox_prefix=subjects.inbox_prefix(REGION))
    region = build_region(config, clock=_wall, ids=uuid.uuid4, broker=broker, store=store)
    driver = NodeDriver(region, broker)
    serving = asyncio.Event()
    driver.services.append(functools.partial(serve_commands, ready=serving, batch=batch))
    task = asyncio.create_task(driver.run())
    await serving.wait()
    conn.send({"pid": os.getpid()})
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # "stop"
    driver.stop()
    await task
    await broker.close()
    conn.send({"commands": dict(driver.commands)})
    store.close()


async def _load(url: str, cases: int, clients: int, window: int, seed: int) -> float:
    """Open `cases` cases, then accept each: the wall seconds it took (every reply checked)."""
    from domain.calendar import china_date
    from domain.kernel import Actor
    from domain.protocols import pension
    from domain.protocols.intake import AcceptIntake
    from domain.protocols.transfer import application
    from domain.values import CaseNumber, RegionCode
    from regions.sdk.client import RegionClient
    from simulations.workload import draw_applicant

    rng = random.Random(seed)
    staff = Actor("staff", "0451", REGION, "社保经办", "W3")
    connections = [RegionClient(url, REGION, "window", timeout=60.0) for _ in range(clients)]
    for client in connections:
        await client.connect()
    gate = asyncio.Semaphore(clients * window)

    async def open_one(i: int) -> str:
        person = draw_applicant(rng)
        number = CaseNumber.new(RegionCode(REGION), china_date(_wall()), uuid.uuid4())
        submit = application(pension.PROCESS, number, "", [PEER],
                             Actor("applicant", person.citizen.masked, REGION), item_id="b1-7")
        async with gate:
            outcome = await connections[i % clients].submit(
                str(number), pension.PROCESS, submit, command_id=f"open-{number}",
                applicant_id=person.citizen.number)
        assert outcome.ok, outcome
        return outcome.case_id

    async def accept(i: int, case_id: str) -> None:
        async with gate:
            outcome = await connections[i % clients].command(
                case_id, AcceptIntake(actor=staff), command_id=f"accept-{case_id}")
        assert outcome.ok, outcome

    try:
        started = time.perf_counter()
        opened = await asyncio.gather(*(open_one(i) for i in range(cases)))
        await asyncio.gather(*(accept(i, case) for i, case in enumerate(opened)))
        return time.perf_counter() - started
    finally:
        for client in connections:
            await client.close()


def one_run(dsn: str, prefix: str, url: str, batch: bool, cases: int, clients: int,
            window: int, seed: int) -> dict[str, float]:
    """One mode once: a fresh node process, the load, its figures."""
    from simulations.bench.services import process_cpu_seconds

    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=_node, args=(dsn, prefix, url, batch, theirs), daemon=True)
    child.start()
    try:
        pid = ours.recv()["pid"]
        before = process_cpu_seconds(pid)
        seconds = asyncio.run(_load(url, cases, clients, window, seed))
        cpu = process_cpu_seconds(pid) - before
        ours.send("stop")
        served = ours.recv()["commands"]
        child.join(30)
    finally:
        if child.is_alive():
            child.terminate()
    commands = 2 * cases
    assert served.get("ok") == commands, served
    return {"commands_per_s": commands / seconds, "cpu_ms_per_command": cpu / commands * 1e3}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4, help="NATS connections")
    parser.add_argument("--window", type=int, default=16, help="requests in flight each")
    parser.add_argument("--dsn", default=None)
    parser.add_argument("--only", choices=MODES, default=None,
                        help="run one mode (to profile it), no comparison")
    args = parser.parse_args(argv)
    modes = MODES if args.only is None else (args.only,)

    from regions.adapters.brokers.nats_server import NatsServer
    from regions.adapters.brokers.provision import provision
    from regions.adapters.stores.sql import PostgresStore
    from simulations.bench.services import choose_postgres

    postgres = choose_postgres(args.dsn)
    prefix = f"tbe{uuid.uuid4().hex[:8]}_"
    nats = NatsServer(name="tongban-bench-endpoint")
    figures: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    try:
        nats.start()
        asyncio.run(provision([REGION, PEER], nats.url))
        print(f"PostgreSQL {postgres.origin}, nats-server {nats.url}; {args.cases} cases x 2 "
              f"commands, {args.clients} connections x {args.window} in flight", flush=True)
        for rnd in range(args.rounds):
            for mode in modes:
                got = one_run(postgres.dsn, prefix, nats.url, mode == "group commit",
                              args.cases, args.clients, args.window, seed=rnd)
                figures[mode].append(got)
                print(f"round {rnd + 1} {mode:>14}: {got['commands_per_s']:8.1f} commands/s, "
                      f"{got['cpu_ms_per_command']:6.2f} ms CPU/command", flush=True)
    finally:
        nats.stop()
        try:
            PostgresStore(postgres.dsn, schema_prefix=prefix).drop_all()
        finally:
            postgres.stop()
    medians = {mode: {key: statistics.median(run[key] for run in runs)
                      for key in runs[0]} for mode, runs in figures.items()}
    for mode in modes:
        print(f"median {mode:>14}: {medians[mode]['commands_per_s']:8.1f} commands/s, "
              f"{medians[mode]['cpu_ms_per_command']:6.2f} ms CPU/command")
    if args.only is not None:
        return 0
    old, new = (medians[mode] for mode in MODES)
    print(f"group commit / one at a time: throughput x"
          f"{new['commands_per_s'] / old['commands_per_s']:.2f}, CPU per command x"
          f"{new['cpu_ms_per_command'] / old['cpu_ms_per_command']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
