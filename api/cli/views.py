"""`tongban report quarterly|reconciliation` and `tongban projections status|rebuild`: the read models over a
region's store, from the command line (the same `--store` flags or `TONGBAN_*` variables as
the node).

On SQLite and PostgreSQL the node keeps its views in view tables with their tracking row
(`regions.adapters.stores.views`): `status` reads each view's position beside the log's head,
`rebuild` rebuilds them beside a running node (shadow table, catch up, swap), and the reports
read the tables after catching them up (exactly once: the tracking row decides, so this is safe
beside the node's own writer). The memory store has no tables: there the commands replay.
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
    """(views, their position, the log's head, seconds): the view tables caught up to the head
    and read (SQLite, PostgreSQL), or the whole log replayed (memory)."""
    from domain.protocols import PROTOCOLS
    from regions.adapters.stores.sql import PostgresStore, SqliteStore
    from regions.adapters.stores.view_tables import ViewTables
    from regions.adapters.stores.views import DurableViews, ViewWriter, catch_up
    from regions.core.side_events import SideEventTailer
    from regions.core.tailer import MemoryCursor
    from regions.runtime.bootstrap import default_rules

    config = _config(command, region, store, dsn, schema, sqlite_dir, None)
    opened = _open_store(command, config)
    try:
        app = opened.open(config.region)
        rules = default_rules(config)
        views = Views({p: spec.decider(rules) for p, spec in PROTOCOLS.items()})
        started = time.perf_counter()
        if isinstance(opened, SqliteStore | PostgresStore):
            tables = ViewTables.for_store(opened, config.region)
            try:
                catch_up(ViewWriter(tables, app, config.region, views.deciders))
                views.cases = dict(DurableViews(tables, config.region).cases)
                position = tables.position()
            finally:
                tables.close()
        else:
            tailer = SideEventTailer(config.region, app, cursor=MemoryCursor())
            now = dt.datetime.now(dt.UTC)
            while (batch := tailer.step(now)) is not None:
                views.feed(batch.items)
                tailer.advance(batch, now)
            position = tailer.position
        seconds = time.perf_counter() - started
        head = app.recorder.max_notification_id() or 0
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

    views, _, _, _ = replay("report quarterly", region, store, dsn, schema, sqlite_dir)
    config = _config("report quarterly", region, store, dsn, schema, sqlite_dir, None)
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
    views, _, _, _ = replay("report reconciliation", region, store, dsn, schema, sqlite_dir)
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
    """Each view's position, the log's head, and the lag in events and in seconds (how long
    ago the oldest event not yet applied was recorded). A rebuild in progress shows as
    `cases_next`. A running node's own lag is also on its /readyz and /metrics."""
    import json

    from regions.adapters.stores.view_tables import (
        LIVE,
        LIVE_TRACKING,
        SHADOW,
        SHADOW_TRACKING,
        ViewTables,
    )
    from regions.adapters.stores.views import lag

    config = _config("projections status", region, store, dsn, schema, sqlite_dir, None)
    opened = _open_store("projections status", config)
    try:
        app = opened.open(config.region)
        tables = ViewTables.for_store(opened, config.region)
        try:
            now = dt.datetime.now(dt.UTC)
            head = app.recorder.max_notification_id() or 0
            rows = []
            for name in (LIVE_TRACKING, SHADOW_TRACKING):
                position = tables.recorder.max_tracking_id(name)
                if position is None:
                    continue
                events, seconds = lag(app, config.region, position, now)
                table = LIVE if name == LIVE_TRACKING else SHADOW
                count = tables.select(f"SELECT count(*) AS n FROM {tables.dialect.table(table)}")
                rows.append({"view": name, "position": position, "head": head,
                             "lag_events": events, "lag_seconds": round(seconds, 1),
                             "rows": int(count[0]["n"])})
        finally:
            tables.close()
    finally:
        opened.close()
    if as_json:
        print(json.dumps({row.pop("view"): row for row in rows}))
        return
    print("view         position     head  lag (events)  lag (s)     rows")
    for row in rows:
        print(f"{row['view']:<12} {row['position']:>8} {row['head']:>8} "
              f"{row['lag_events']:>13} {row['lag_seconds']:>8} {row['rows']:>8}")


@projections_app.command("rebuild")
def rebuild_command(
    region: Region = None,
    store: Store = None,
    dsn: Dsn = None,
    schema: Schema = None,
    sqlite_dir: SqliteDir = None,
    as_json: AsJson = False,
) -> None:
    """Rebuild the view tables from the log beside a running node: a shadow table up to the
    head, caught up, then swapped in with its tracking position under one lock."""
    import json

    from domain.protocols import PROTOCOLS
    from regions.adapters.stores.view_rebuild import rebuild
    from regions.adapters.stores.view_tables import ViewTables
    from regions.runtime.bootstrap import default_rules

    config = _config("projections rebuild", region, store, dsn, schema, sqlite_dir, None)
    opened = _open_store("projections rebuild", config)
    try:
        app = opened.open(config.region)
        tables = ViewTables.for_store(opened, config.region)
        rules = default_rules(config)
        try:
            done = rebuild(tables, app, config.region,
                           {p: spec.decider(rules) for p, spec in PROTOCOLS.items()})
        finally:
            tables.close()
    finally:
        opened.close()
    figures = {"view": "cases", "head_at_start": done.head_at_start, "position": done.position,
               "events": done.events, "under_lock": done.under_lock,
               "seconds": round(done.seconds, 3)}
    if as_json:
        print(json.dumps(figures))
        return
    print(f"cases: rebuilt from the log, {done.events} events in {done.seconds:.2f} s "
          f"(head {done.head_at_start} at start, swapped in at {done.position}, "
          f"{done.under_lock} applied under the swap lock)")
