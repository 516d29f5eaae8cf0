"""The `tongban` command line: one Typer app, one module per command group."""

from __future__ import annotations

import typer

from api.cli import catalog

app = typer.Typer(
    name="tongban",
    help="tongban (通办): a multi-region ledger for cross-province government-service cases.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(catalog.app, name="catalog")


def main() -> None:
    app()
