"""`tongban report quarterly|reconciliation` and `tongban projections status|rebuild`: the read models over a
region's store, from the command line.

The node keeps its views in memory, rebuilt from its log at start-up (`api.node.attach_views`);
these commands do the same replay over the store the node uses (the same `--store` flags or
`TONGBAN_*` variables), so they work beside a running node and need no extra tables.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from api.cli.quarantine import AsJson, Dsn, Region, Schema, SqliteDir, Store, _config, _open_store
from domain.kernel import InvalidValue
from projections.views import Views

report_app = typer.Typer(help="Reports from a region's case views.", no_args_is_help=True)
projections_app = typer.Typer(
    help="The read models: status and a timed rebuild.", no_args_is_help=True
)
Quarter = Annotated[str, typer.Option(help="e.g. 2026Q4 (ends on the 25th, Beijing time).")]
Format = Annotated[str, typer.Option("--format", help="csv, json or md.")]


def replay(
    command: str,
    region: str | None,
    store: str | None,
    dsn: str | None,
    schema: str | None,
    sqlite_dir: Path | None,
) -> tuple[Views, int, int, float]:
    """(views, their position, the log's head, seconds) after replaying the whole log."""
    from domain.protocols import PROTOCOLS
    from regions.core.side_events import SideEventTailer
    from regions.core.tailer import MemoryCursor
    from regions.runtime.bootstrap import default_rules

    config = _config(command, region, store, dsn, schema, sqlite_dir, None)
    opened = _open_store(command, config)
    try:
        app = opened.open(config.region)
        rules = default_rules(config)
        views = Views({p: spec.decider(rules) for p, spec in PROTOCOLS.items()})
        tailer = SideEventTailer(config.region, app, cursor=MemoryCursor())
        started = time.perf_counter()
        now = dt.datetime.now(dt.UTC)
        while (batch := tailer.step(now)) is not None:
            views.feed(batch.items)
            tailer.advance(batch, now)
        seconds = time.perf_counter() - started
        head = app.recorder.max_notification_id() or 0
        position = tailer.position
    finally:
        opened.close()
    return views, position, head, seconds


def period(command: str, quarter: str, fmt: str) -> tuple[dt.datetime, dt.datetime]:
    """The report's [start, end) and a checked format; exit 2 with a clear line otherwise."""
    from projections.report import quarter_period

    try:
        if fmt not in ("csv", "json", "md"):
            raise InvalidValue(f"--format must be csv, json or md, got {fmt!r}")
        return quarter_period(quarter)
    except InvalidValue as exc:
        print(f"tongban report {command}: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None


@report_app.command("quarterly")
def quarterly_command(
    quarter: Quarter,
    region: Region = None,
    store: Store = None,
    dsn: Dsn = None,
    schema: Schema = None,
    sqlite_dir: SqliteDir = None,
    fmt: Format = "md",
) -> None:
    """Per item, mode and role: received, completed, on-time rate, handling days (calendar and
    working), overdue, ratings (average, 差评, follow-ups open and overdue)."""
    from projections.report import quarterly, render

    start, end = period("quarterly", quarter, fmt)
    from regions.runtime.bootstrap import default_rules

    views, _, _, _ = replay("quarterly", region, store, dsn, schema, sqlite_dir)
    config = _config("quarterly", region, store, dsn, schema, sqlite_dir, None)
    rows = quarterly(views.cases.values(), start, end, default_rules(config).calendar)
    print(render(rows, fmt, region=str(region or ""), quarter=quarter.upper()), end="")


@report_app.command("reconciliation")
def reconciliation_command(
    quarter: Quarter,
    region: Region = None,
    store: Store = None,
    dsn: Dsn = None,
    schema: Schema = None,
    sqlite_dir: SqliteDir = None,
    fmt: Format = "md",
) -> None:
    """Transfers sent and received in the quarter, in fen: matched, mismatched (with the
    difference), corrected, outstanding."""
    from projections.reconciliation import reconcile, render

    start, end = period("reconciliation", quarter, fmt)
    views, _, _, _ = replay("reconciliation", region, store, dsn, schema, sqlite_dir)
    code = str(region) if region else next((v.region for v in views.cases.values()), "")
    rec = reconcile(views.cases.values(), code, start, end)
    print(render(rec, fmt, period=quarter.upper()), end="")


@projections_app.command("status")
def status_command(
    region: Region = None,
    store: Store = None,
    dsn: Dsn = None,
    schema: Schema = None,
    sqlite_dir: SqliteDir = None,
    as_json: AsJson = False,
) -> None:
    """The log's head, the cases the views hold, and how long a full rebuild takes here.

    A running node's own lag is on its /readyz and /metrics (tongban_projection_lag_events)."""
    import json

    views, position, head, seconds = replay("status", region, store, dsn, schema, sqlite_dir)
    figures = {
        "view": "cases",
        "position": position,
        "head": head,
        "lag": 0,  # replayed to the end here; a node's own lag is on its /readyz
        "cases": len(views.cases),
        "rebuild_seconds": round(seconds, 3),
    }
    if as_json:
        print(json.dumps(figures))
        return
    print("view   position     head   lag   cases  rebuild")
    print(
        f"cases  {figures['position']:>8} {head:>8} {figures['lag']:>5} {figures['cases']:>7}"
        f"  {seconds:.2f} s (in memory in the node; rebuilt at start-up)"
    )
