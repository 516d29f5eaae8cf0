"""The `tongban` command line: one Typer app, one module per command group."""

from __future__ import annotations

import typer

from api.cli import audit, backend, calendar, catalog, links, nats, quarantine, staff, views
from api.cli.bench import bench
from api.cli.node import node
from api.cli.simulate import simulate

app = typer.Typer(
    name="tongban",
    help="tongban (通办): a multi-region ledger for cross-province government-service cases.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(catalog.app, name="catalog")
app.add_typer(calendar.app, name="calendar")
app.add_typer(nats.app, name="nats")
app.add_typer(backend.app, name="backend")
app.add_typer(quarantine.app, name="quarantine")
app.add_typer(links.app, name="links")
app.add_typer(views.report_app, name="report")
app.add_typer(staff.app, name="staff")
app.add_typer(audit.app, name="audit")
app.add_typer(views.projections_app, name="projections")
app.command("node")(node)
app.command("simulate")(simulate)
app.command("bench")(bench)


def main() -> None:
    app()
