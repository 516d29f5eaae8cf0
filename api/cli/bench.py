"""`tongban bench`: the raw bounds and the end-to-end figures of two nodes, in one run."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from simulations.bench.run import Plan, run_bench
from simulations.bench.services import BenchError

err = Console(stderr=True)
#: Cores the other processes may keep busy before the rates stop measuring the pipelines alone.
SHARED_MACHINE = 0.25


def bench(
    quick: Annotated[bool, typer.Option(
        "--quick", help="A run of a few minutes: short phases, five burst rounds between six "
                        "bare pipeline rounds, RSS checkpoints at 500 cases and at the end "
                        "instead of 10,000 and 100,000.")] = False,
    json_out: Annotated[bool, typer.Option(
        "--json", help="Print the figures as one JSON line, the last of stdout.")] = False,
    dsn: Annotated[str | None, typer.Option(
        envvar="TONGBAN_DSN", help="PostgreSQL DSN; default: 127.0.0.1:5432 if it answers, "
                                   "else a throwaway embedded server.")] = None,
    cases: Annotated[int | None, typer.Option(
        min=50, help="Cases in the burst phase (default 1,200 with --quick, else 10,000).")] = None,
    soak_to: Annotated[int, typer.Option(
        min=10_000, help="Full run: keep going until this many cases for the RSS growth.")
    ] = 100_000,
    stamp_hops: Annotated[bool, typer.Option(
        "--hops", help="Stamp each shared event at every hop in both nodes and the collector's "
                       "pauses: phases[*].hops of the JSON (docs/performance.md). Off, it reads "
                       "{\"off\": ...}: the stamps wrap calls on the nodes' path, which trees "
                       "older than the instrument do not pay.")] = False,
    profile: Annotated[Path | None, typer.Option(
        file_okay=False, help="Write each node's cProfile to DIR/origin.prof and "
                              "DIR/destination.prof (slows the nodes; for finding why).")] = None,
) -> None:
    """Measure PostgreSQL, eventsourcing and JetStream alone, then two nodes completing pension
    transfers, and print how the end-to-end figures compare with the bounds."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    plan = (Plan.quick_plan(cases or 1_200) if quick
            else Plan.full_plan(cases or 10_000, soak_to))
    try:
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
        report = run_bench(plan, dsn, lambda line: err.print(
            line, highlight=False, markup=False, soft_wrap=True),
            str(profile.resolve()) if profile is not None else "", stamp_hops)
    except BenchError as exc:
        err.print(f"bench failed: {exc}", style="bold red", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if json_out:
        print(json.dumps(report, ensure_ascii=False, separators=(",", ":")))
    else:
        _print(report)


def _print(report: dict[str, Any]) -> None:
    out = Console(file=sys.stdout)
    bounds = Table(title="raw bounds (alone, on this machine)")
    bounds.add_column("bound")
    bounds.add_column("per second", justify="right")
    for name, value in report["bounds"].items():
        bounds.add_row(name, f"{value:,.0f}")
    out.print(bounds)
    phases = Table(title="two nodes on PostgreSQL + NATS, pension transfers")
    for column in ("phase", "offered/s", "cases/s", "completions/s", "p50 ms", "p99 ms", "txn/case",
                   "msgs/case", "rows/case", "CPU ms/case"):
        phases.add_column(column, justify="right")
    for name, p in report["phases"].items():
        phases.add_row(name, str(p["offered_cases_per_second"] or "burst"),
                       f"{p['cases_per_second']}" + ("" if p["sustained"] else " (saturated)"),
                       str(p.get("completion_rate") or "—"),
                       str(p["latency_p50_ms"]), str(p["latency_p99_ms"]),
                       str(p["transactions_per_case"]), str(p["messages_per_case"]),
                       str(p["event_rows_per_case"]), str(p["cpu_ms_per_case"]))
    out.print(phases)
    ratios = Table(title="end-to-end ÷ bound (burst)")
    ratios.add_column("figure")
    ratios.add_column("ratio", justify="right")
    for name, value in report["ratios"].items():
        ratios.add_row(name, "—" if value is None else f"{value:.3f}")
    out.print(ratios)
    processes = Table(title="processes (whole run)")
    for column in ("process", "CPU s", "peak RSS MB"):
        processes.add_column(column, justify="right")
    for name, p in report["processes"].items():
        processes.add_row(name, f"{p['cpu_seconds']:.1f}", f"{p['peak_rss_mb']:.1f}")
    out.print(processes)
    for name, rss in report["rss"].items():
        out.print(f"RSS {name}: after imports {rss['after_imports_mb']} MB, after start "
                  f"{rss['after_start_mb']} MB, at cases {rss['at_cases_mb']}, "
                  f"at end {rss['at_end_mb']} MB")
    rounds = report["burst_rounds"]
    out.print(f"bare pipeline (same services, no features): "
              f"{report['bare_pipeline_cases_per_second']} cases/s (median of "
              f"{len(report['bare_pipeline']['rounds'])} rounds, around the {len(rounds)} "
              f"burst rounds); the product is "
              f"{report['ratio_to_bare_pipeline']}× of it (median of the pairs' ratios, "
              f"range {report['ratio_to_bare_pipeline_range']}); per CPU ms a case, "
              f"{report['cpu_ratio_to_bare_pipeline']}×")
    if (report["other_cores_busy"] or 0) > SHARED_MACHINE:
        out.print(f"the machine was shared: other processes kept {report['other_cores_busy']} "
                  f"cores busy during the rounds, so each rate is the share of the CPU the "
                  f"scheduler gave it; the CPU ratio does not depend on that share")
    out.print(f"cases/s {report['cases_per_second']}, latency p50/p99 "
              f"{report['latency_p50_ms']}/{report['latency_p99_ms']} ms "
              f"({report['latency_phase']})")
