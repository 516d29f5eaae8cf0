"""One region's node as a bench process: the real node, an automatic back-end, and a probe.

Why a process per region: that is how nodes run (`tongban node`), and it is the only way to
give each node its own CPU time and peak RSS (`resource.getrusage`) — and, on two cores, its
own interpreter lock (throughput.md §2.1: +27 % over one process).

The parent steers the worker over a pipe with small dict messages, answered one by one:
`phase` (start: reset the phase counters; the destination starts submitting), `status`,
`collect` (the phase's figures and timings, then forget them, so memory stays flat) and `stop`.
Everything else runs on the node's own event loop; the pipe is read by a thread of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import resource
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from domain.kernel import Event
from regions.adapters.brokers.nats import NatsBroker
from regions.adapters.stores.sql import PostgresStore
from regions.core.config import RegionConfig
from regions.core.messages import HighWaterMark, LinkMessage, ResendRequest, WireItem
from regions.core.outcome import Outcome
from regions.core.ports import BrokerError, Outgoing, PubAck
from regions.core.sides import SideView
from regions.core.store import Stream
from regions.runtime import collector, event_loop
from regions.runtime.bootstrap import Region, build_region
from regions.runtime.driver import NodeDriver, recipient_of
from regions.runtime.views import attach_views
from regions.wire import subjects
from simulations.bench import hops
from simulations.bench.autopilot import Autopilot, submission

log = logging.getLogger("tongban.bench")

#: The event that finishes a case on each side: the destination completes, the origin hears so.
FINISHING = {"destination": "TransferCompleted", "origin": "ConclusionReceived"}
PAGE = resource.getpagesize()
LINK_KINDS = {LinkMessage: "link_events", HighWaterMark: "marks",
              ResendRequest: "resend_requests"}
FEED_SUBJECTS = f"{subjects.PREFIX}.feed."
LINK_SUBJECTS = f"{subjects.PREFIX}.evt."
#: How a control message's `Nats-Msg-Id` begins (`HighWaterMark.id`, `ResendRequest.id`): every
#: other message on a link carries events, one or a batch (`regions.wire.link.encode_many`).
CONTROL_IDS = ("hwm.", "resend.")


def rss_mb() -> float:
    """This process's resident set now (MB)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 1_048_576


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


@dataclass(frozen=True)
class WorkerSettings:
    region: str
    peer: str
    role: str  # "destination" (submits) or "origin"
    dsn: str
    schema_prefix: str
    nats_url: str
    checkpoints: tuple[int, ...] = ()
    profile_dir: str = ""  # when set, cProfile the whole worker into <dir>/<role>.prof
    hops: bool = False  # when set, stamp each event's hops and the collector's pauses


class Probe:
    """Commit times of shared events and receipts, finished cases, transactions and rows."""

    def __init__(self, role: str, checkpoints: Sequence[int]) -> None:
        self.finishing = FINISHING[role]
        self.checkpoints = set(checkpoints)
        self.recording = False
        self.sent: dict[str, float] = {}
        self.received: dict[str, float] = {}
        self.arrivals: dict[str, float] = {}
        self.finished_at: dict[str, float] = {}
        self.finished = 0
        self.rss_at: dict[int, float] = {}
        self.counters = {"transactions": 0, "event_rows": 0, "published": 0,
                         "link_messages": 0, "marks": 0, "resend_requests": 0, "feed_messages": 0,
                         "resent": 0, "link_events": 0}
        #: Event rows over the whole run by what they record (docs/performance.md reads this):
        #: `side:<domain event>`, `register:<domain event>`, or `<aggregate>.<event>`.
        self.rows_by_type: dict[str, int] = {}

    def on_commit(self, view: SideView, events: list[Event]) -> None:
        now = time.monotonic()
        if self.recording:
            first = view.version - len(events) + 1
            for offset, event in enumerate(events):
                if event.to_region:
                    self.sent[f"{view.side_id}:{first + offset}"] = now
        for event in events:
            if self.finishing == event.TYPE:
                self.finished += 1
                if self.recording:
                    self.finished_at[view.case_id] = now
                if self.finished in self.checkpoints:
                    self.rss_at[self.finished] = round(rss_mb(), 1)

    def on_receive(self, message: LinkMessage, outcome: Outcome) -> None:
        if self.recording:
            self.received[message.event_id] = time.monotonic()

    def instrument(self, region: Region, broker: NatsBroker) -> None:
        """Count write transactions and event rows (every writer saves through the event store) and
        published messages."""
        app = region.node.app
        save = app.save
        publish_many = broker.publish_many

        def counted_save(*objects: Any, **kwargs: Any) -> Any:
            rows = sum(len(getattr(o, "pending_events", ())) for o in objects)
            for o in objects:
                for event in getattr(o, "pending_events", ()):
                    kind = (f"{o.kind}:{event.type}" if isinstance(o, Stream)
                            else f"{type(o).__name__}.{type(event).__name__}")
                    self.rows_by_type[kind] = self.rows_by_type.get(kind, 0) + 1
            result = save(*objects, **kwargs)
            self.counters["transactions"] += 1
            self.counters["event_rows"] += rows
            return result

        async def counted_publish(outs: Sequence[Outgoing]) -> list[PubAck]:
            acks = await publish_many(outs)
            self.counters["published"] += len(outs)
            self.counters["feed_messages"] += sum(o.subject.startswith(FEED_SUBJECTS)
                                                  for o in outs)
            self.counters["link_messages"] += sum(
                o.subject.startswith(LINK_SUBJECTS) and not (o.msg_id or "").startswith(CONTROL_IDS)
                for o in outs)
            return acks

        app.save = counted_save  # type: ignore[method-assign]
        broker.publish_many = counted_publish  # type: ignore[method-assign]

    def instrument_driver(self, driver: NodeDriver) -> None:
        """Break the published messages down: messages of shared events (`link_messages`,
        counted as published: one, or a batch of several), high-water marks, re-send requests
        and the back-end feed's messages add up to `published`; `link_events` counts the shared
        events they carried and `resent` the events re-sent on a receiver's request (included
        in `link_events`).

        Link items are counted where the driver hands them to the broker: `publish_links`
        (the relay's batches, heartbeats' marks, the inbox's re-send requests), `publish_resent`
        and the relay's catch-up of a link left behind (`retry_links`). The feed's are counted by
        subject in `instrument`. (Wrapping `driver.publish` alone missed the relay: it read 0.)"""
        publish_links, publish_resent = driver.publish_links, driver.publish_resent
        relay = driver.region.relay
        catch_up = relay.catch_up

        def count(items: Sequence[WireItem]) -> None:
            for item in items:
                self.counters[LINK_KINDS[type(item)]] += 1

        async def counted_links(items: list[WireItem]) -> dict[str, tuple[int, BrokerError]]:
            failed = await publish_links(items)
            count([i for i in items if recipient_of(i) not in failed])
            return failed

        async def counted_resent(items: list[WireItem], request: ResendRequest) -> None:
            await publish_resent(items, request)
            count(items)
            self.counters["resent"] += len(items)

        def counted_catch_up(destination: str, now: dt.datetime) -> list[WireItem]:
            items = catch_up(destination, now)
            count(items)
            return items

        driver.publish_links = counted_links  # type: ignore[method-assign]
        driver.publish_resent = counted_resent  # type: ignore[method-assign]
        relay.catch_up = counted_catch_up  # type: ignore[method-assign]


class Submitter:
    """The applicants at the destination's window: paced arrivals, or a closed-loop burst."""

    def __init__(self, region: Region, peer: str, autopilot: Autopilot, probe: Probe) -> None:
        self.region = region
        self.peer = peer
        self.autopilot = autopilot
        self.probe = probe
        self.submitted = 0
        self.active = False

    async def run(self, cases: int, rate: float | None, seconds: float | None,
                  window: int) -> None:
        self.active = True
        try:
            started = time.monotonic()
            done = 0
            while done < cases and (seconds is None or time.monotonic() - started < seconds):
                if rate is not None:
                    due = min(cases, int((time.monotonic() - started) * rate) + 1)
                else:
                    in_flight = self.submitted - self.probe.finished
                    due = min(cases, done + max(0, window - in_flight))
                while done < due:
                    self._submit_one()
                    done += 1
                await asyncio.sleep(0.002 if rate is not None else 0.01)
        finally:
            self.active = False

    def _submit_one(self) -> None:
        now = dt.datetime.now(dt.UTC)
        request = submission(self.region.code, self.peer, self.submitted, now, uuid.uuid4())
        self.submitted += 1
        if self.probe.recording:
            self.probe.arrivals[request.case_id] = time.monotonic()
        self.autopilot.enqueue(request)


class Worker:
    def __init__(self, settings: WorkerSettings, conn: Connection, rss_after_imports: float):
        self.settings = settings
        self.conn = conn
        self.rss_after_imports = rss_after_imports
        self.probe = Probe(settings.role, settings.checkpoints)
        self._baseline: dict[str, float] = {}
        self._submitting: asyncio.Task[None] | None = None

    async def serve(self) -> None:
        s = self.settings
        store = PostgresStore(s.dsn, schema_prefix=s.schema_prefix, pool_size=2, max_overflow=2)
        broker = await NatsBroker.connect(s.nats_url, name=f"tongban-bench-{s.region}")
        config = RegionConfig(region=s.region, peers=(s.peer,), store="postgres", dsn=s.dsn,
                              broker="nats", nats_url=s.nats_url, heartbeat_seconds=1.0,
                              gap_bound_seconds=10.0)
        region = build_region(config, clock=lambda: dt.datetime.now(dt.UTC), ids=uuid.uuid4,
                              broker=broker, store=store)
        self.driver = NodeDriver(region, broker, fetch_batch=256, fetch_timeout=0.5)
        # The case views are part of the product: kept in their view tables as `tongban node`
        # keeps them, so the figures are end to end with the views on.
        self.views = attach_views(region, self.driver, store)
        self.autopilot = Autopilot(region, s.peer)
        self.submitter = Submitter(region, s.peer, self.autopilot, self.probe)
        self.probe.instrument(region, broker)
        self.probe.instrument_driver(self.driver)
        if s.hops:  # propagation hop by hop (simulations/bench/hops.py)
            hops.attach(self)
        region.node.listeners.append(self.probe.on_commit)
        region.node.listeners.append(self.autopilot.on_commit)
        region.node.receive_listeners.append(self.probe.on_receive)
        self.driver.services.append(self.autopilot.run)
        self.loop = asyncio.get_running_loop()
        if s.profile_dir:  # the database thread does most of the work: profile it too
            import cProfile

            self.db_profiler = cProfile.Profile()
            await self.driver.db(self.db_profiler.enable)
        running = asyncio.create_task(self.driver.run())
        threading.Thread(target=self._control, name="bench-control", daemon=True).start()
        self.conn.send({"ready": True, "rss_after_imports_mb": round(self.rss_after_imports, 1),
                        "rss_after_start_mb": round(rss_mb(), 1)})
        try:
            await running
        finally:
            await broker.close()
            self.views.close()
            store.close()

    def _control(self) -> None:
        """The pipe, read on a thread; each request is handled on the event loop."""
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                message = {"op": "stop"}
            future = asyncio.run_coroutine_threadsafe(self.handle(message), self.loop)
            try:
                reply = future.result()
            except Exception as exc:  # report, don't die silently
                log.exception("bench control %s failed", message.get("op"))
                reply = {"error": repr(exc)}
            with contextlib.suppress(OSError):
                self.conn.send(reply)
            if message.get("op") == "stop":
                return

    async def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        op = message["op"]
        if op == "phase":
            return self._start_phase(message)
        if op == "status":
            return {"submitted": self.submitter.submitted, "submitting": self.submitter.active,
                    "finished": self.probe.finished, "queued": len(self.autopilot.queue),
                    "refused": self.autopilot.stats["refused"],
                    "errors": self.driver.counters["errors"]}
        if op == "collect":
            return self._collect()
        if op == "stop":
            if self.settings.profile_dir:
                from pathlib import Path

                await self.driver.db(self.db_profiler.disable)
                self.db_profiler.dump_stats(
                    Path(self.settings.profile_dir) / f"{self.settings.role}-db.prof")
            self.driver.stop()
            return {"cpu_seconds": round(cpu_seconds(), 3), "peak_rss_mb": round(peak_rss_mb(), 1),
                    "rss_mb": round(rss_mb(), 1), "rss_at_cases_mb": self.probe.rss_at,
                    "finished": self.probe.finished,
                    "rows_by_type": dict(sorted(self.probe.rows_by_type.items())),
                    "autopilot": dict(self.autopilot.stats), "driver": dict(self.driver.counters)}
        raise ValueError(f"unknown bench operation {op!r}")

    def _start_phase(self, message: dict[str, Any]) -> dict[str, Any]:
        probe = self.probe
        for timings in (probe.sent, probe.received, probe.arrivals, probe.finished_at):
            timings.clear()
        probe.recording = bool(message["record"])
        self._baseline = {"cpu_seconds": cpu_seconds(), **probe.counters,
                          "consumed": self.driver.counters["consumed"]}
        if self.settings.role == "destination":
            self._submitting = asyncio.create_task(self.submitter.run(
                message["cases"], message["rate"], message["seconds"], message["window"]))
        return {"ok": True}

    def _collect(self) -> dict[str, Any]:
        probe, base = self.probe, self._baseline
        now = {"cpu_seconds": cpu_seconds(), **probe.counters,
               "consumed": self.driver.counters["consumed"]}
        report: dict[str, Any] = {key: now[key] - base.get(key, 0) for key in now}
        report["cpu_seconds"] = round(report["cpu_seconds"], 3)
        report.update(rss_mb=round(rss_mb(), 1), peak_rss_mb=round(peak_rss_mb(), 1),
                      sent=dict(probe.sent), received=dict(probe.received),
                      arrivals=dict(probe.arrivals), finished_at=dict(probe.finished_at))
        for timings in (probe.sent, probe.received, probe.arrivals, probe.finished_at):
            timings.clear()
        probe.recording = False
        return report


def worker_main(settings: WorkerSettings, conn: Connection) -> None:
    """Process entry point (spawned): the RSS now is the node's after its imports."""
    rss_after_imports = rss_mb()
    collector.tune()  # as `tongban node` does (api/node.py)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format=f"%(asctime)s {settings.region} %(name)s %(levelname)s %(message)s")
    if not settings.profile_dir:
        event_loop.run(Worker(settings, conn, rss_after_imports).serve())
        return
    import cProfile
    from pathlib import Path

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        event_loop.run(Worker(settings, conn, rss_after_imports).serve())
    finally:
        profiler.disable()
        profiler.dump_stats(Path(settings.profile_dir) / f"{settings.role}.prof")
