"""`tongban simulate`: a seeded multi-region run under injected faults, with a report."""

from __future__ import annotations

import json
import logging
import random
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from regions.adapters.stores.memory import MemoryStore
from regions.adapters.stores.sql import SqliteStore
from regions.core.ports import Store
from regions.runtime import collector
from simulations.faults import parse_faults
from simulations.report import summarise, write_report
from simulations.runner import DEFAULT_REGIONS, run
from simulations.world import MAX_ACK_PENDING

err = Console(stderr=True)
DEFAULT_CODES = ",".join(DEFAULT_REGIONS)


def _regions(text: str) -> tuple[str, ...]:
    codes = tuple(c.strip() for c in text.split(",") if c.strip())
    bad = [c for c in codes if len(c) != 6 or not c.isdigit()]
    if bad:
        raise typer.BadParameter(f"not 6-digit GB/T 2260 region codes: {', '.join(bad)}")
    if len(set(codes)) < 2:
        raise typer.BadParameter("give at least two distinct regions")
    return codes


def simulate(
    seed: Annotated[int | None, typer.Option(help="Seed (random and printed when absent).")] = None,
    cases: Annotated[int, typer.Option(min=1, max=1_000_000, help="Number of cases.")] = 200,
    regions: Annotated[str, typer.Option(help="Comma-separated region codes.")] = DEFAULT_CODES,
    faults: Annotated[str, typer.Option(help="none, all, or a comma list of kinds.")] = "none",
    store: Annotated[str, typer.Option(help="memory or sqlite.")] = "memory",
    report: Annotated[Path | None, typer.Option(help="Directory for summary.json.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    max_ack_pending: Annotated[int, typer.Option(
        min=1, help="The inbox consumers' cap on unacknowledged deliveries (production's by "
                    "default; a small one shows a link that holds deliveries deadlocking)."
    )] = MAX_ACK_PENDING,
    verbose: Annotated[bool, typer.Option(
        "--verbose", help="Print the nodes' warnings as they happen (counted otherwise).")] = False,
) -> None:
    """Run several region nodes under a seeded, fault-injecting scheduler and check them."""
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    # First, so a crash still shows the seed; beside the JSON, not in it (`--json | jq`).
    print(f"seed={seed}", file=sys.stderr if json_out else sys.stdout, flush=True)
    try:
        kinds = parse_faults(faults)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from exc
    codes = _regions(regions)
    collector.tune()  # the nodes' heap, as in a node process (regions.runtime.collector)
    warnings = _NodeWarnings(verbose)
    with warnings, _stores(store) as store_factory:
        summary = summarise(run(seed, cases, codes, kinds, store_factory=store_factory,
                                max_ack_pending=max_ack_pending))
    if warnings.count and not verbose:
        print(f"{warnings.count} node warnings (the injected faults at work); --verbose prints "
              "them", file=sys.stderr)
    if report is not None:
        write_report(summary, report)
    if json_out:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        _print_table(summary)
    if summary["invariant_violations"] or summary["disagreements"] or summary["lost"] \
            or summary["duplicate_effects"] or not summary["converged"]:
        cmd = ["tongban", "simulate", "--seed", str(seed), "--cases", str(cases),
               "--regions", ",".join(codes), "--faults", faults, "--store", store]
        if max_ack_pending != MAX_ACK_PENDING:
            cmd += ["--max-ack-pending", str(max_ack_pending)]
        err.print("[bold red]invariants broken[/]; first violations:")
        for line in summary["violations"][:10]:
            err.print(f"  - {line}", markup=False, highlight=False)  # keep `[rule]` names
        err.print(f"reproduce with: {shlex.join(cmd)}", markup=False, highlight=False)
        raise typer.Exit(1)


class _NodeWarnings(logging.Handler):
    """Counts the nodes' warnings, and prints them only when asked.

    Why: under injected faults a node logs what its operator should see (a deadline the newly
    installed calendar moved, a quarantined message); a run of thousands of cases logs hundreds,
    which buried the report. Errors are still printed."""

    def __init__(self, verbose: bool) -> None:
        super().__init__(logging.WARNING)
        self.verbose = verbose
        self.count = 0
        self._printer = logging.StreamHandler(sys.stderr)
        self._printer.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if self.verbose or record.levelno >= logging.ERROR:
            self._printer.handle(record)
        else:
            self.count += 1  # only what was held back

    def __enter__(self) -> _NodeWarnings:
        root = logging.getLogger()
        self._level = root.level
        root.addHandler(self)
        root.setLevel(min(root.level, logging.WARNING) if root.level else logging.WARNING)
        return self

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._level)


@contextmanager
def _stores(kind: str) -> Iterator[Callable[[], Store]]:
    """In-memory stores, or one SQLite file per region in a temporary directory that lasts
    until the summary is made (the same seed gives the same trace on either)."""
    if kind == "memory":
        yield MemoryStore
        return
    if kind != "sqlite":
        raise typer.BadParameter(f"unknown store {kind!r}: memory or sqlite", param_hint="--store")
    with tempfile.TemporaryDirectory(prefix="tongban-sim-") as directory:
        sqlite = SqliteStore(directory)
        try:
            yield lambda: sqlite
        finally:
            sqlite.close()


def _print_table(summary: dict[str, object]) -> None:
    from rich.table import Table

    table = Table(title=f"simulation seed={summary['seed']}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in ("cases", "completed", "rejected", "refused", "withdrawn", "lapsed", "closed",
                "needs_attention", "open", "disagreements", "lost", "duplicate_effects",
                "invariant_violations", "commits", "virtual_days", "latency_p50_ms",
                "latency_p99_ms", "wall_seconds", "cases_per_second", "trace_hash"):
        table.add_row(key, str(summary[key]))
    Console(file=sys.stdout).print(table)
    if summary.get("faults_injected"):
        print("faults injected:", json.dumps(summary["faults_injected"]))
