"""One bench run: services, bounds, two node processes, the phases, the figures, clean-up.

Phases run one after another on the same two nodes, each drained before the next starts (every
case completed at the destination and concluded at the origin), so their figures never mix:
- `warmup`: fills caches and JIT-free Python paths; not reported;
- `paced-100`, `paced-300`: arrivals at a fixed rate; the propagation latency is read here
  (a saturated run measures queueing, not propagation: throughput.md §2.2);
- `burst`: a closed loop that keeps a window of cases in flight; completed cases per second.
  It runs in rounds, each between two rounds of the bare pipeline (`simulations.bench.bare`,
  warmed up beside the idle nodes): on a shared machine a figure of a second or two follows
  what other processes do in that second, so the bound and the product are measured side by
  side, several times, and each figure is its rounds' median;
- `soak` (full run): more bursts until the RSS checkpoints are passed, nothing recorded.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any

from regions.adapters.brokers.nats_server import NatsServer
from regions.adapters.brokers.provision import provision
from regions.adapters.stores.sql import PostgresStore
from simulations.bench import bare, bounds, contention, hops
from simulations.bench.figures import (
    PhaseFigures,
    ProcessFigures,
    median,
    median_round,
    milliseconds,
    pairs,
    percentile,
    propagation,
    ratios,
    spread,
)
from simulations.bench.services import (
    BenchError,
    choose_postgres,
    postgres_cpu_seconds,
    process_cpu_seconds,
    process_peak_rss_mb,
)
from simulations.bench.worker import WorkerSettings, worker_main

DESTINATION, ORIGIN = "150600", "610800"  # 鄂尔多斯 receives transfers from 榆林
#: A phase whose finished counts do not move for this long has stalled (s).
STALL_TIMEOUT = 60.0
#: Burst rounds (each between two bare pipeline rounds): the quick run's rounds last a second or
#: two each, so it takes more of them for a steady median.
BURST_ROUNDS_QUICK, BURST_ROUNDS_FULL = 5, 3
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Phase:
    name: str
    cases: int
    rate: float | None = None  # arrivals per second; None: closed loop
    seconds: float | None = None  # stop submitting after this long
    window: int = 400  # closed loop: cases in flight
    record: bool = True
    rounds: int = 1  # burst: rounds, each between two bare pipeline rounds


@dataclass(frozen=True)
class Plan:
    quick: bool
    phases: tuple[Phase, ...]
    checkpoints: tuple[int, ...]

    @classmethod
    def quick_plan(cls, cases: int = 1200) -> Plan:
        """Under a minute: short paced runs and a burst of `cases` (at most 15 s of arrivals)."""
        return cls(True, (
            Phase("warmup", 100, record=False, window=100),
            Phase("paced-100", 300, rate=100, seconds=3),
            Phase("paced-300", 600, rate=300, seconds=2),
            Phase("burst", cases, seconds=15, rounds=BURST_ROUNDS_QUICK),
        ), checkpoints=(500,))

    @classmethod
    def full_plan(cls, cases: int = 10_000, soak_to: int = 100_000) -> Plan:
        phases = [
            Phase("warmup", 500, record=False),
            Phase("paced-100", 3_000, rate=100, seconds=30),
            Phase("paced-300", 9_000, rate=300, seconds=30),
            Phase("burst", cases, rounds=BURST_ROUNDS_FULL),
        ]
        done = 500 + 3_000 + 9_000 + cases * BURST_ROUNDS_FULL
        chunk = 10_000
        while done < soak_to:
            phases.append(Phase(f"soak-{done}", min(chunk, soak_to - done), record=False))
            done += chunk
        return cls(False, tuple(phases), checkpoints=(10_000, soak_to))


@dataclass
class WorkerHandle:
    name: str
    process: Any
    conn: Connection
    ready: dict[str, Any] = field(default_factory=dict)

    def ask(self, message: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
        try:
            self.conn.send(message)
            if not self.conn.poll(timeout):
                raise BenchError(f"{self.name} did not answer {message['op']!r} "
                                 f"within {timeout} s")
            reply: dict[str, Any] = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise BenchError(f"the {self.name} node exited (exit code "
                             f"{self.process.exitcode}); its log is above") from exc
        if "error" in reply:
            raise BenchError(f"{self.name}: {reply['error']}")
        return reply


def run_bench(plan: Plan, dsn: str | None, progress: Progress,
              profile_dir: str = "", stamp_hops: bool = False) -> dict[str, Any]:
    """Everything `tongban bench` prints, as one dict. `stamp_hops`: each phase's propagation
    hop by hop (`simulations.bench.hops`), which wraps calls on the nodes' path; off, a
    phase's `hops` is `hops.OFF` and the nodes run as trees without the instrument did."""
    prefix = f"tbb{uuid.uuid4().hex[:8]}_"
    postgres = choose_postgres(dsn)
    progress(f"PostgreSQL: {postgres.origin}; schema prefix {prefix}")
    nats = NatsServer(name="tongban-bench")
    workers: list[WorkerHandle] = []
    try:
        nats.start()
        progress(f"NATS: private nats-server at {nats.url} (sync_interval: always)")
        progress("measuring the raw bounds...")
        raw = bounds.measure(postgres.dsn, nats.url, prefix, quick=plan.quick)
        progress(f"bounds: {raw}")
        asyncio.run(provision([DESTINATION, ORIGIN], nats.url, ack_wait=60.0,
                              max_ack_pending=10_000))
        workers = _spawn(postgres.dsn, prefix, nats.url, plan.checkpoints, profile_dir,
                         stamp_hops)
        phases: list[PhaseFigures] = []
        for phase in plan.phases:
            if phase.name == "burst":
                bursts, bare_figures = _burst_rounds(phase, workers, postgres.dsn, prefix,
                                                     nats, progress, stamp_hops)
                phases.extend(bursts)
            else:
                phases.append(_run_phase(phase, workers, nats.pid or 0, progress, stamp_hops))
        # paced phases stop submitting after their time, so they may complete fewer cases than
        # planned: top up until the last RSS checkpoint is actually reached
        done = workers[1].ask({"op": "status"})["finished"]
        if not plan.quick and done < max(plan.checkpoints):
            phases.append(_run_phase(Phase(f"soak-{done}", max(plan.checkpoints) - done,
                                           record=False), workers, nats.pid or 0, progress,
                                     stamp_hops))
        finals = {w.name: w.ask({"op": "stop"}) for w in workers}
        for worker in workers:
            worker.process.join(30)
        return _report(plan, postgres.origin, raw, phases, workers, finals, nats.pid or 0,
                       bare_figures)
    finally:
        for worker in workers:
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(10)
        nats.stop()
        try:
            PostgresStore(postgres.dsn, schema_prefix=prefix).drop_all()
        finally:
            postgres.stop()


def _spawn(dsn: str, prefix: str, url: str, checkpoints: tuple[int, ...],
           profile_dir: str = "", stamp_hops: bool = False) -> list[WorkerHandle]:
    context = multiprocessing.get_context("spawn")  # a clean interpreter: honest RSS and CPU
    workers = []
    for name, region, peer in (("origin", ORIGIN, DESTINATION),
                               ("destination", DESTINATION, ORIGIN)):
        ours, theirs = context.Pipe()
        settings = WorkerSettings(region, peer, name, dsn, prefix, url, checkpoints, profile_dir,
                                  stamp_hops)
        process = context.Process(target=worker_main, args=(settings, theirs),
                                  name=f"tongban-bench-{name}", daemon=True)
        process.start()
        workers.append(WorkerHandle(name, process, ours))
    for worker in workers:
        if not worker.conn.poll(120):
            raise BenchError(f"the {worker.name} node did not start within 120 s")
        worker.ready = worker.conn.recv()
    return workers


def _run_phase(phase: Phase, workers: list[WorkerHandle], nats_pid: int,
               progress: Progress, stamp_hops: bool = False) -> PhaseFigures:
    origin, destination = workers
    servers_before = (process_cpu_seconds(nats_pid), postgres_cpu_seconds())
    started = time.monotonic()
    request = {"op": "phase", "record": phase.record, "cases": phase.cases, "rate": phase.rate,
               "seconds": phase.seconds, "window": phase.window}
    finished_before = destination.ask({"op": "status"})["finished"]
    origin.ask(request)
    destination.ask(request)
    target = -1
    seen, moved_at = (-1, -1), time.monotonic()
    while True:
        time.sleep(0.1)
        d, o = destination.ask({"op": "status"}), origin.ask({"op": "status"})
        if not d["submitting"]:
            target = d["submitted"]
        if d["refused"] or o["refused"]:
            raise BenchError(f"{phase.name}: commands were refused (destination {d['refused']},"
                             f" origin {o['refused']}); see the log above")
        if target >= 0 and d["finished"] >= target and o["finished"] >= target:
            break
        if (d["finished"], o["finished"]) != seen:
            seen, moved_at = (d["finished"], o["finished"]), time.monotonic()
        elif time.monotonic() - moved_at > STALL_TIMEOUT:
            raise BenchError(f"{phase.name} stalled: destination {d}, origin {o}")
    reports = {"origin": origin.ask({"op": "collect"}),
               "destination": destination.ask({"op": "collect"})}
    figures = _phase_figures(phase, reports, time.monotonic() - started,
                             target - finished_before)
    figures.hops = hops.table(reports) if stamp_hops else dict(hops.OFF)
    if stamp_hops and os.environ.get("TONGBAN_BENCH_HOPS_DUMP"):
        hops.dump(os.environ["TONGBAN_BENCH_HOPS_DUMP"], phase.name, reports)
    figures.servers = {
        "nats-server": {"cpu_seconds": round(process_cpu_seconds(nats_pid) - servers_before[0], 3),
                        "peak_rss_mb": round(process_peak_rss_mb(nats_pid), 1)},
        "postgres (all on this machine)": {
            "cpu_seconds": round(postgres_cpu_seconds() - servers_before[1], 3)}}
    progress(f"{phase.name}: {figures.completed} cases, "
             f"{figures.cases_per_second:.1f} cases/s, p50/p99 "
             f"{milliseconds(percentile(figures.latencies_s, 50))}/"
             f"{milliseconds(percentile(figures.latencies_s, 99))} ms, RSS origin/destination "
             f"{reports['origin']['rss_mb']}/{reports['destination']['rss_mb']} MB")
    return figures


def _burst_rounds(phase: Phase, workers: list[WorkerHandle], dsn: str, prefix: str,
                  nats: NatsServer, progress: Progress, stamp_hops: bool
                  ) -> tuple[list[PhaseFigures], dict[str, Any]]:
    """`phase.rounds` product bursts, each between two bare pipeline rounds of as many cases
    (bare, burst, bare, burst, ..., bare): a burst lasts two to three times a bare round, so
    the bare rounds on both sides of it see the machine as it was around it. The bare regions
    start and warm up here, beside the idle nodes, and leave after the last round."""
    nats_pid = nats.pid or 0
    node_pids = [w.process.pid for w in workers]
    progress("starting and warming up the bare pipeline (the same services, none of the "
             "features)...")
    bursts: list[PhaseFigures] = []
    bare_rounds: list[dict[str, Any]] = []
    with bare.BarePipeline(dsn, nats.url, prefix, nats_pid) as pipeline:
        pipeline.round("warmup", bare.WARMUP)
        for number in range(phase.rounds + 1):
            if number:
                before = contention.Sample.take(node_pids, nats_pid)
                burst = _run_phase(replace(phase, name=f"burst-{number}"), workers,
                                   nats_pid, progress, stamp_hops)
                burst.machine = contention.usage(
                    before, contention.Sample.take(node_pids, nats_pid), burst.completed)
                bursts.append(burst)
            idle = sum(process_cpu_seconds(pid) for pid in node_pids)
            figures = pipeline.round(f"round{number}", phase.cases)
            figures["nodes_idle_cpu_ms"] = round(1000 * (sum(
                process_cpu_seconds(pid) for pid in node_pids) - idle), 1)
            bare_rounds.append(figures)
            progress(f"bare pipeline round {number}: {figures}")
    return bursts, bare.summary(bare_rounds)


def _phase_figures(phase: Phase, reports: dict[str, dict[str, Any]], wall: float,
                   finished: int) -> PhaseFigures:
    origin, destination = reports["origin"], reports["destination"]
    latencies = (propagation(destination["sent"], origin["received"])
                 + propagation(origin["sent"], destination["received"]))
    arrivals, finished_at = destination["arrivals"], destination["finished_at"]
    recorded = bool(phase.record and arrivals and finished_at)
    if recorded:  # first arrival to last completion
        elapsed = max(finished_at.values()) - min(arrivals.values())
        completed = len(finished_at)
    else:  # from the phase request to the drained status: slightly pessimistic
        elapsed, completed = wall, finished
    case_latencies = [finished_at[c] - arrivals[c] for c in finished_at if c in arrivals]
    figures = PhaseFigures(phase.name, phase.rate, completed, elapsed, latencies, case_latencies,
                           recorded=recorded)
    if recorded:
        figures.finish_span_s = max(finished_at.values()) - min(finished_at.values())
    figures.processes = {name: ProcessFigures.of(report) for name, report in reports.items()}
    return figures


def _report(plan: Plan, pg_origin: str, raw: dict[str, float], phases: list[PhaseFigures],
            workers: list[WorkerHandle], finals: dict[str, dict[str, Any]],
            nats_pid: int, bare_figures: dict[str, Any]) -> dict[str, Any]:
    # every burst round keeps its place between the bare rounds around it: one that completed
    # nothing (nodes stalled beside a moving bound) is a rate and a ratio of 0, not dropped
    rounds = [p for p in phases if p.recorded and p.name.startswith("burst-")]
    if not any(p.completed for p in rounds):
        raise BenchError("the burst phase completed no case")
    burst = median_round(rounds, lambda p: p.cases_per_second)
    measured = {p.name: p for p in phases
                if p.recorded and p.completed and p not in rounds} | {"burst": burst}
    soak = [{"phase": p.name, "cases": p.completed, "cases_per_second": round(
        p.cases_per_second, 1), "rss_mb": {n: f.rss_mb for n, f in p.processes.items()}}
        for p in phases if not p.recorded and p.name.startswith("soak")]
    headline = measured.get("paced-300") or burst
    paired = pairs(rounds, bare_figures["rounds"])
    rss = {w.name: {"after_imports_mb": w.ready["rss_after_imports_mb"],
                    "after_start_mb": w.ready["rss_after_start_mb"],
                    "at_cases_mb": {str(k): v for k, v in
                                    sorted(finals[w.name]["rss_at_cases_mb"].items())},
                    "at_end_mb": finals[w.name]["rss_mb"]} for w in workers}
    return {
        "quick": plan.quick,
        "postgres": pg_origin,
        "cases_per_second": round(burst.cases_per_second, 1),
        "bare_pipeline_cases_per_second": bare_figures["cases_per_second"],
        # the median of the pairs' ratios: each compares two rounds a few seconds apart
        "ratio_to_bare_pipeline": median([p["ratio"] for p in paired]),
        "ratio_to_bare_pipeline_range": spread([p["ratio"] for p in paired]),
        "cpu_ratio_to_bare_pipeline": median([p["cpu_ratio"] for p in paired]),
        # cores the machine's other processes kept busy during the rounds (median): when it
        # is well above 0, each rate is the share of the CPU the scheduler gave it
        "other_cores_busy": median([p[side]["other_cores_busy"] for p in paired
                                    for side in ("product", "bare")]),
        "bare_pipeline": bare_figures,
        "burst_rounds": paired,
        "latency_p50_ms": milliseconds(percentile(headline.latencies_s, 50)),
        "latency_p99_ms": milliseconds(percentile(headline.latencies_s, 99)),
        "latency_phase": headline.name,
        "transactions_per_case": burst.to_dict()["transactions_per_case"],
        "messages_per_case": burst.to_dict()["messages_per_case"],
        "bounds": raw,
        "ratios": ratios(burst, raw),
        "phases": {name: {**p.to_dict(), "servers": p.servers, "hops": p.hops}
                   for name, p in measured.items()},
        "processes": {name: {"cpu_seconds": f["cpu_seconds"], "peak_rss_mb": f["peak_rss_mb"]}
                      for name, f in finals.items()} | {
            "nats-server": {"cpu_seconds": round(process_cpu_seconds(nats_pid), 3),
                            "peak_rss_mb": round(process_peak_rss_mb(nats_pid), 1)}},
        "rss": rss,
        "event_rows_per_case_by_type": {
            name: {kind: round(count / max(1, finals[name]["finished"]), 2)
                   for kind, count in finals[name]["rows_by_type"].items()}
            for name in finals},
        "rss_checkpoints": list(plan.checkpoints),
        # The case views ran in every node (view tables on PostgreSQL): events each applied.
        "views_applied": {name: f["driver"].get("views_applied", 0) for name, f in finals.items()},
        "warmup_cases": sum(p.completed for p in phases
                            if not p.recorded and not p.name.startswith("soak")),
        "soak": soak,
    }
