"""The bare pipeline: the bound the product is measured against, in the same run (issue 17).

A minimal two-region pension transfer over the same PostgreSQL and nats-server as the product,
with the same event store library (eventsourcing's PostgreSQL process recorder) and batching at
every hop — and none of the product's features: no receipts, registers, deadlines, feed,
idempotency, admission or validation. It is the design "(b)" of shared/reference/throughput.md:
- the destination saves `Submitted`, `Accepted`, `ContactLetterIssued` for up to 50 waiting cases
  per transaction (group commit);
- each relay reads the notification log after its cursor and publishes the whole batch with
  `publish_async` (one message per case and hop), then moves its cursor;
- each inbox pulls up to 256 messages, records what they cause in one transaction with its
  tracking row, and acks the last one (`AckPolicy.ALL`);
- the origin answers `ContactLetterIssued` with approval, info sheet and remittance (4 events);
  the destination records the info sheet and the funds, reconciles and completes (4 events).
11 event rows and 2 messages per case. One OS process per region, like the product's nodes, on
the same event loop as the product's nodes (`TONGBAN_EVENT_LOOP`, uvloop by default): a ratio
between a product on uvloop and a bound on the standard loop would flatter the product.

It is a measuring instrument, not product code: it checks only that every case completed.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any
from uuid import UUID

import nats
import nats.js.errors
import psycopg
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic
from nats.js import api
from psycopg import sql

from regions.adapters.brokers.nats_pull import PullInbox
from regions.adapters.stores.sql import LEDGER_PREFIX, PostgresStore
from regions.runtime import event_loop
from simulations.bench import contention
from simulations.bench.bare_cases import (
    BareRegion,
    OutboundTransfer,
    Process,
    TransferCase,
    decode,
    encode,
    process_destination,
    process_origin,
)
from simulations.bench.figures import median_round

STREAMS = {"b2a": "TB_BARE_B2A", "a2b": "TB_BARE_A2B"}  # hop name -> stream (subject <hop>.*)
GROUP_COMMIT = 50
FETCH = 256
RELAY_LIMIT = 1000
WARMUP = 200


class Hops:
    """One region's relay (out) and inbox (in) over JetStream, batched."""

    def __init__(self, app: BareRegion, nc: Any, out_hop: str, in_hop: str,
                 share: list[str], process: Process,
                 on_commit: Callable[[list[UUID]], None]) -> None:
        self.app, self.nc, self.js = app, nc, nc.jetstream(timeout=30)
        self.out_hop, self.in_hop, self.share = out_hop, in_hop, share
        self.process, self.on_commit = process, on_commit
        self.wake = asyncio.Event()
        self.stopping = False

    async def relay(self) -> None:
        """Publish every shared event after the cursor, one message per case, then move the
        cursor (a tracking row in the same table)."""
        recorder = self.app.recorder
        name = f"relay-{self.out_hop}"
        cursor = await asyncio.to_thread(recorder.max_tracking_id, name) or 0
        while not self.stopping:
            self.wake.clear()
            notes = await asyncio.to_thread(recorder.select_notifications, cursor + 1,
                                            RELAY_LIMIT, None, self.share)
            if not notes:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), 0.25)
                continue
            groups: dict[Any, list[Any]] = {}
            for note in notes:
                groups.setdefault(note.originator_id, []).append(note)
            futures = [await self.js.publish_async(
                f"{self.out_hop}.{case}", encode(group),
                headers={"Nats-Msg-Id": f"{case}:{group[0].originator_version}"})
                for case, group in groups.items()]
            for future in futures:
                await future
            cursor = notes[-1].id
            await asyncio.to_thread(recorder.insert_tracking, Tracking(name, cursor))

    async def inbox(self) -> None:
        """Pull what has arrived, record it in one transaction with the tracking row, ack the
        last message (`AckPolicy.ALL`)."""
        pull = PullInbox(self.nc, f"$JS.API.CONSUMER.MSG.NEXT.{STREAMS[self.in_hop]}."
                                  f"bare_{self.in_hop}")
        await pull.open()
        last = await asyncio.to_thread(self.app.recorder.max_tracking_id, self.in_hop) or 0
        while not self.stopping:
            msgs = await pull.pull(FETCH, 0.25, lambda: bool(self.nc.is_connected))
            fresh = [m for m in msgs if m.metadata.sequence.stream > last]
            if fresh:
                done = await asyncio.to_thread(self._commit, fresh)
                last = fresh[-1].metadata.sequence.stream
                self.on_commit(done)
                self.wake.set()
            if msgs:
                await msgs[-1].ack()
        await pull.close()

    def _commit(self, msgs: list[Any]) -> list[UUID]:
        processing: ProcessingEvent[UUID] = ProcessingEvent(
            Tracking(self.in_hop, msgs[-1].metadata.sequence.stream))
        done, touched = self.process(self.app, [e for m in msgs for e in decode(self.app, m.data)])
        processing.collect_events(*touched)
        self.app._record(processing)  # the library's own one-transaction path
        return done


# --------------------------------------------------------------------------- the two processes


def _env(dsn: str, schema_prefix: str, region: str) -> dict[str, str]:
    store = PostgresStore(dsn, schema_prefix=schema_prefix, pool_size=2, max_overflow=2)
    settings = store.settings_for(region)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
            sql.Identifier(store.schema_for(region))))
    env = {key.removeprefix(LEDGER_PREFIX): value for key, value in settings.items()
           if key.startswith(LEDGER_PREFIX) and "CIPHER" not in key}
    env.pop("APPLICATION_RECORDER_TOPIC", None)
    # one writer per region: the case is kept in memory between its hops (throughput.md \u00a71)
    env.update(AGGREGATE_CACHE_MAXSIZE="20000", AGGREGATE_CACHE_FASTFORWARD="n",
               DEEPCOPY_FROM_AGGREGATE_CACHE="n")
    return env


def _share(*types: type) -> list[str]:
    return [get_topic(t) for t in types]


def _listen(conn: Connection, loop: asyncio.AbstractEventLoop,
            requests: asyncio.Queue[dict[str, Any]]) -> None:
    """Hand the parent's requests to the event loop (a thread: `recv` blocks)."""
    def forward() -> None:
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                request = {"op": "stop"}
            loop.call_soon_threadsafe(requests.put_nowait, request)
            if request["op"] == "stop":
                return
    threading.Thread(target=forward, daemon=True).start()


async def _origin(dsn: str, prefix: str, url: str, conn: Connection) -> None:
    app = BareRegion(env=_env(dsn, prefix, "bare_origin"))
    nc = await nats.connect(url, name="tongban-bench-bare-origin")
    hops = Hops(app, nc, "a2b", "b2a",
                _share(OutboundTransfer.InfoSheetIssued, OutboundTransfer.FundsRemitted),
                process_origin, lambda done: None)
    hops.on_commit = lambda done: hops.wake.set()
    requests: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    _listen(conn, asyncio.get_running_loop(), requests)
    tasks = [asyncio.create_task(hops.relay()), asyncio.create_task(hops.inbox())]
    conn.send({"ready": True})
    while (await requests.get())["op"] != "stop":
        pass
    hops.stopping = True
    await asyncio.wait(tasks, timeout=5)
    await nc.close()
    app.close()


async def _destination(dsn: str, prefix: str, url: str, conn: Connection) -> None:
    """Runs a round per request: `cases` submitted at once, answered when all completed."""
    app = BareRegion(env=_env(dsn, prefix, "bare_destination"))
    nc = await nats.connect(url, name="tongban-bench-bare-destination")
    arrived: dict[UUID, float] = {}
    completed: dict[UUID, float] = {}
    round_done = asyncio.Event()
    target = 0

    def on_commit(done: list[UUID]) -> None:
        now = time.monotonic()
        for case in done:
            completed[case] = now
        if len(completed) >= target:
            round_done.set()

    hops = Hops(app, nc, "b2a", "a2b", _share(TransferCase.ContactLetterIssued),
                process_destination, on_commit)
    queue: asyncio.Queue[tuple[str, int, float]] = asyncio.Queue()

    def save(items: list[tuple[str, int, float]]) -> None:
        created = []
        for ref, amount, at in items:
            case = TransferCase(ref, amount)
            case.accept()
            case.issue_contact_letter(ref, amount)
            arrived[case.id] = at
            created.append(case)
        app.save(*created)

    async def submitter() -> None:  # group commit: whatever has arrived, up to 50
        while True:
            items = [await queue.get()]
            while len(items) < GROUP_COMMIT and not queue.empty():
                items.append(queue.get_nowait())
            await asyncio.to_thread(save, items)
            hops.wake.set()

    requests: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    _listen(conn, asyncio.get_running_loop(), requests)
    tasks = [asyncio.create_task(c) for c in (hops.relay(), hops.inbox(), submitter())]
    conn.send({"ready": True})
    while (request := await requests.get())["op"] == "round":
        cpu, started = time.process_time(), time.monotonic()
        target = len(completed) + request["cases"]
        round_done.clear()
        for index in range(request["cases"]):
            queue.put_nowait((f"{request['name']}-{index}", 100_000 + index, started))
        await round_done.wait()
        ours = [completed[c] - started for c in completed if arrived[c] == started]
        conn.send({"cases": len(ours), "elapsed_s": max(ours), "first_s": min(ours),
                   "destination_cpu_s": time.process_time() - cpu})
    hops.stopping = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await nc.close()
    app.close()


def _main(role: str, dsn: str, prefix: str, url: str, conn: Connection) -> None:
    if role == "origin":
        event_loop.run(_origin(dsn, prefix, url, conn))
    else:
        event_loop.run(_destination(dsn, prefix, url, conn))


async def _provision(url: str) -> None:
    nc = await nats.connect(url, name="tongban-bench-bare")
    js = nc.jetstream(timeout=10)
    try:
        for hop, stream in STREAMS.items():
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(stream)
            await js.add_stream(api.StreamConfig(name=stream, subjects=[f"{hop}.*"],
                                                 storage=api.StorageType.FILE,
                                                 duplicate_window=120))
            await js.add_consumer(stream, api.ConsumerConfig(
                durable_name=f"bare_{hop}", ack_policy=api.AckPolicy.ALL, ack_wait=60,
                max_ack_pending=20_000))
    finally:
        await nc.close()


async def _unprovision(url: str) -> None:
    nc = await nats.connect(url, name="tongban-bench-bare")
    try:
        js = nc.jetstream(timeout=10)
        for stream in STREAMS.values():
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(stream)
    finally:
        await nc.close()




class BarePipeline:
    """The two bare regions, started once and warmed up, then measured round after round.

    Why rounds in one warm pair: a single burst of a few hundred cases lasts under a second on a
    slow machine, so one scheduler stall of another process moves it by half (issue 17); the
    median of several rounds does not follow one stall, and the spread of the rounds says how
    far to trust it."""

    def __init__(self, dsn: str, nats_url: str, schema_prefix: str, nats_pid: int = 0) -> None:
        self.dsn, self.url, self.prefix = dsn, nats_url, f"{schema_prefix}bare_"
        self.nats_pid = nats_pid
        self.processes: list[Any] = []
        self.conns: list[Connection] = []

    def __enter__(self) -> BarePipeline:
        asyncio.run(_provision(self.url))
        context = multiprocessing.get_context("spawn")
        try:
            for role in ("origin", "destination"):
                ours, theirs = context.Pipe()
                process = context.Process(target=_main, args=(role, self.dsn, self.prefix,
                                                              self.url, theirs),
                                          name=f"tongban-bench-bare-{role}", daemon=True)
                process.start()
                self.processes.append(process)
                self.conns.append(ours)
                if not ours.poll(120):
                    raise RuntimeError(f"the bare {role} did not start within 120 s")
                ours.recv()
        except BaseException:
            self.__exit__()
            raise
        return self

    def round(self, name: str, cases: int, timeout_s: float = 300.0) -> dict[str, float]:
        """`cases` submitted at once; completed cases per second from their arrival to the last
        completion, and what the machine did meanwhile (`contention.usage`)."""
        pids = [p.pid for p in self.processes]
        before = contention.Sample.take(pids, self.nats_pid)
        self.conns[1].send({"op": "round", "name": name, "cases": cases})
        if not self.conns[1].poll(timeout_s):
            raise RuntimeError(f"the bare pipeline did not complete {cases} cases "
                               f"within {timeout_s} s")
        result = self.conns[1].recv()
        used = contention.usage(before, contention.Sample.take(pids, self.nats_pid),
                                result["cases"])
        return {"cases": result["cases"], "elapsed_s": round(result["elapsed_s"], 3),
                "cases_per_second": round(result["cases"] / result["elapsed_s"], 1),
                "first_completion_ms": round(1000 * result["first_s"], 1), **used}

    def __exit__(self, *_: object) -> None:
        try:
            for conn in self.conns:
                with contextlib.suppress(OSError):
                    conn.send({"op": "stop"})
            for process in self.processes:
                process.join(20)
        finally:
            for process in self.processes:
                if process.is_alive():
                    process.terminate()
                    process.join(10)
            PostgresStore(self.dsn, schema_prefix=self.prefix).drop_all()
            asyncio.run(_unprovision(self.url))


def measure(dsn: str, nats_url: str, schema_prefix: str, cases: int, rounds: int = 1,
            warmup: int = WARMUP, nats_pid: int = 0) -> dict[str, Any]:
    """The bare pipeline's completed cases per second: a warm-up of `warmup` cases, then
    `rounds` rounds of `cases` submitted at once; the figure is the rounds' median. Schemas and
    streams are removed afterwards."""
    with BarePipeline(dsn, nats_url, schema_prefix, nats_pid) as pipeline:
        pipeline.round("warmup", warmup)
        measured = [pipeline.round(f"round{n}", cases) for n in range(rounds)]
    return summary(measured)


def summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The median round's figures (the bound), and every round."""
    middle = median_round(rounds, lambda r: r["cases_per_second"])
    return {"cases": middle["cases"], "elapsed_s": middle["elapsed_s"],
            "cases_per_second": middle["cases_per_second"], "rounds": rounds}
