"""Where a shared event's propagation time goes, hop by hop (the bench's measuring instrument).

Why: the bench's propagation (`figures.propagation`) spans the origin's commit of a shared event
to the destination's commit of its receipt, and one number cannot say which hop holds the tail.
Each worker stamps (`time.monotonic()`, one clock for every process on Linux) what passes through
its own node, keyed by the event id; the parent joins both workers' stamps per event:

- `committed`: the origin's commit (the probe's `sent`);
- `read`: the relay's tailer returned the batch holding it (database thread);
- `publish`: the driver handed it to the broker (`publish_links`);
- `published`: the broker's JetStream acks for that batch came back;
- `fetched`: the destination's pull returned it (`broker.fetch`);
- `deciding`: the destination's inbox began its transaction (database thread);
- `received`: the destination committed it (the probe's `received`);
- `acked`: the destination's acks for its batch were confirmed (after `received`, outside
  the propagation: the inbox's next batch is taken meanwhile, `inbox_pipeline`).

Also the garbage collector's pauses per process (gc.callbacks). Nothing here changes the node:
the wrappers call through. Hooked from the worker with `attach(worker)` only when the bench runs
with `--hops`: the wrappers cost the nodes a little on every batch, which a run of an older
tree — without them — does not pay, so by default a phase's `hops` is `OFF` and old and new
runs compare like for like.
"""

from __future__ import annotations

import gc
import itertools
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from regions.core.messages import LinkMessage
from regions.wire.link import MSG_ID_HEADER
from simulations.bench.figures import milliseconds, percentile

#: The hops in order; each span is the time from the stamp before it.
ORDER = ("committed", "read", "publish", "published", "fetched", "deciding", "received", "acked")
#: A phase's `hops` when the run stamped none (`tongban bench` without `--hops`).
OFF: Mapping[str, Any] = {"off": "not stamped: run with --hops"}


class Hops:
    def __init__(self) -> None:
        self.stamps: dict[str, dict[str, float]] = {}
        #: (generation, wall s, CPU s of the collecting thread, start on `time.monotonic()`) per
        #: collection: the start places a pause against the events it held up.
        self.gc_pauses: list[tuple[int, float, float, float]] = []
        self._gc_started = self._gc_cpu = 0.0
        #: The database thread's tasks while recording: (what, slack s, submitted, started,
        #: ended on `time.monotonic()`, the thread's CPU s): who held it when a hop waited.
        self.db_tasks: list[tuple[str, float, float, float, float, float]] = []

    def stamp(self, key: str, hop: str) -> None:
        self.stamps.setdefault(key, {}).setdefault(hop, time.monotonic())

    def _gc(self, phase: str, info: Mapping[str, Any]) -> None:
        if phase == "start":
            self._gc_started, self._gc_cpu = time.monotonic(), time.thread_time()
        elif self._gc_started:
            self.gc_pauses.append((info["generation"], time.monotonic() - self._gc_started,
                                   time.thread_time() - self._gc_cpu, self._gc_started))

    def _timed_sink(self, probe: Any, sink: Any) -> Any:
        async def timed(items: list[Any]) -> Any:
            started = time.monotonic()
            try:
                return await sink(items)
            finally:
                if probe.recording:
                    self.db_tasks.append(("views.sink", -1.0, started, started, time.monotonic(),
                                          0.0))
        return timed

    def install(self, worker: Any) -> None:
        probe, driver = worker.probe, worker.driver
        region, broker = driver.region, driver.broker
        relay = region.relay
        step, publish_links = relay.step, driver.publish_links
        fetch, handle, ack = broker.fetch, region.inbox.handle, driver._ack

        def links(items: Sequence[Any]) -> list[str]:
            return [i.event_id for i in items if isinstance(i, LinkMessage)]

        def stamped_step(*args: Any, **kwargs: Any) -> Any:
            batch = step(*args, **kwargs)
            if batch is not None and probe.recording:
                for key in links(batch.items):
                    self.stamp(key, "read")
            return batch

        async def stamped_links(items: list[Any]) -> Any:
            keys = links(items) if probe.recording else []
            for key in keys:
                self.stamp(key, "publish")
            failed = await publish_links(items)
            for key in keys:
                self.stamp(key, "published")
            return failed

        async def stamped_fetch(*args: Any, **kwargs: Any) -> Any:
            deliveries = await fetch(*args, **kwargs)
            if probe.recording:
                for d in deliveries:
                    for key in _events_of(d.data, d.headers):
                        self.stamp(key, "fetched")
            return deliveries

        def stamped_handle(incoming: Sequence[Any], *args: Any) -> Any:
            if probe.recording:
                for i in incoming:
                    for key in _events_of(i.data, i.headers):
                        self.stamp(key, "deciding")
            return handle(incoming, *args)

        async def stamped_ack(deliveries: list[Any]) -> None:
            await ack(deliveries)
            if probe.recording:
                for d in deliveries:
                    for key in _events_of(d.data, d.headers):
                        self.stamp(key, "acked")

        db = driver._db
        db_call = db.call

        def timed_call(loop: Any, slack: float, fn: Any, /, *args: Any) -> Any:
            if not probe.recording:
                return db_call(loop, slack, fn, *args)
            submitted = time.monotonic()

            def timed(*inner: Any) -> Any:
                started, cpu = time.monotonic(), time.thread_time()
                try:
                    return fn(*inner)
                finally:
                    self.db_tasks.append((_name(fn), slack, submitted, started, time.monotonic(),
                                          time.thread_time() - cpu))
            return db_call(loop, slack, timed, *args)

        db.call = timed_call
        for tail in driver.tails:  # the views' writer runs on a thread of its own
            if tail.name == "views":
                tail.sink = self._timed_sink(probe, tail.sink)
        relay.step = stamped_step
        driver._ack = stamped_ack
        driver.publish_links = stamped_links
        broker.fetch = stamped_fetch
        region.inbox.handle = stamped_handle
        gc.callbacks.append(self._gc)
        start_phase, collect = worker._start_phase, worker._collect

        def start(message: dict[str, Any]) -> dict[str, Any]:
            self.stamps.clear()
            self.gc_pauses.clear()
            self.db_tasks.clear()
            return start_phase(message)

        def collected() -> dict[str, Any]:
            report: dict[str, Any] = collect()
            report["hops"] = dict(self.stamps)
            report["gc_pauses"] = list(self.gc_pauses)
            report["db_tasks"] = list(self.db_tasks)
            self.stamps.clear()
            self.gc_pauses.clear()
            self.db_tasks.clear()
            return report

        worker._start_phase, worker._collect = start, collected


def attach(worker: Any) -> None:
    """The worker's one-line hook (after its probe and driver exist)."""
    Hops().install(worker)


def _name(fn: Any) -> str:
    """A database task's name: its function's qualified name (a bound method's, a partial's)."""
    fn = getattr(fn, "func", fn)
    return str(getattr(fn, "__qualname__", None) or type(fn).__name__)


def _event_of(headers: Mapping[str, str] | None) -> str:
    msg_id = (headers or {}).get(MSG_ID_HEADER, "")
    return msg_id.rsplit(":", 1)[0]


def _events_of(data: bytes, headers: Mapping[str, str] | None) -> list[str]:
    """The shared events a delivery carries: a batch's members by their CloudEvents `id` (the
    event id; its msg id names only the first, with a digest), a single message by its msg id."""
    if data[:1] != b"[":
        return [_event_of(headers)]
    try:
        members = json.loads(data)
    except ValueError:
        return []
    return [str(m.get("id", "")) for m in members if isinstance(m, dict)]


def table(reports: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """p50/p99 per hop over both directions, from the two workers' collected reports; and for the
    events at or above the p99 (`tail`), what held them: their mean hops, which hop was each
    one's longest, and how many of them a collector's pause (in either node) overlapped."""
    spans: dict[str, list[float]] = {}
    windows: list[tuple[float, float]] = []  # each event's (committed, received)
    for sender, receiver in (("origin", "destination"), ("destination", "origin")):
        out, into = reports[sender], reports[receiver]
        for key, committed in out.get("sent", {}).items():
            stamps = {"committed": committed, **out.get("hops", {}).get(key, {})}
            theirs = into.get("hops", {}).get(key, {})
            stamps.update({h: t for h, t in theirs.items() if h in ("fetched", "deciding", "acked")})
            if key in into.get("received", {}):
                stamps["received"] = into["received"][key]
            if not all(h in stamps for h in ORDER):
                continue
            windows.append((stamps["committed"], stamps["received"]))
            for before, hop in itertools.pairwise(ORDER):
                spans.setdefault(f"{before}->{hop}", []).append(stamps[hop] - stamps[before])
    result: dict[str, Any] = {
        span: {"p50_ms": milliseconds(percentile(v, 50)), "p99_ms": milliseconds(percentile(v, 99)),
               "max_ms": milliseconds(max(v)), "n": len(v)} for span, v in spans.items()}
    path = {span: v for span, v in spans.items() if not span.endswith("->acked")}
    totals = [sum(t) for t in zip(*path.values(), strict=True)] if path else []
    if totals:  # the slowest 2 %: what their time was spent on, on average
        cut = sorted(totals)[int(len(totals) * 0.98)]
        slow = [i for i, t in enumerate(totals) if t >= cut]
        result["slowest_2pct_mean_ms"] = {
            span: milliseconds(sum(v[i] for i in slow) / len(slow)) for span, v in spans.items()}
        result["tail"] = _tail(path, totals, windows, reports)
    for name, report in reports.items():
        for generation in (0, 1, 2):
            pauses = [(p[1], p[2]) for p in report.get("gc_pauses", []) if p[0] == generation]
            result[f"gc_{name}_gen{generation}"] = {
                "count": len(pauses), "max_ms": milliseconds(max((s for s, _ in pauses),
                                                                 default=0.0)),
                "total_ms": milliseconds(sum(s for s, _ in pauses)),
                "cpu_total_ms": milliseconds(sum(c for _, c in pauses))}
    return result


def _tail(path: Mapping[str, list[float]], totals: list[float],
          windows: list[tuple[float, float]],
          reports: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The events at or above the p99 of the propagation: their hops, and the collections that
    ran while they were on their way (a pause holds every thread of its process: the loop, the
    database thread; pauses stamped without a start are not placed)."""
    cut = percentile(totals, 99) or 0.0
    tail = [i for i, t in enumerate(totals) if t >= cut]
    longest: dict[str, int] = {}
    for i in tail:
        span = max(path, key=lambda s: path[s][i])
        longest[span] = longest.get(span, 0) + 1
    pauses = [(p[3], p[3] + p[1]) for r in reports.values() for p in r.get("gc_pauses", [])
              if len(p) > 3]
    held = [sum(max(0.0, min(end, windows[i][1]) - max(start, windows[i][0]))
                for start, end in pauses) for i in tail]
    return {"p99_ms": milliseconds(cut), "events": len(tail),
            "mean_ms": {span: milliseconds(sum(v[i] for i in tail) / len(tail))
                        for span, v in path.items()},
            "longest_hop": dict(sorted(longest.items(), key=lambda kv: -kv[1])),
            "overlapping_a_collection": sum(h > 0 for h in held),
            "collection_ms_inside_mean": milliseconds(sum(held) / len(tail))}


def dump(directory: str, phase: str, reports: Mapping[str, Mapping[str, Any]]) -> None:
    """Every stamp and pause of a phase as JSON (`<directory>/<phase>-<n>.json`), for reading a
    tail event by event (`TONGBAN_BENCH_HOPS_DUMP`)."""
    import os

    os.makedirs(directory, exist_ok=True)
    keep = ("sent", "received", "hops", "gc_pauses", "db_tasks")
    n = sum(name.startswith(phase) for name in os.listdir(directory))
    with open(os.path.join(directory, f"{phase}-{n}.json"), "w") as out:
        json.dump({who: {k: r.get(k) for k in keep} for who, r in reports.items()}, out)
