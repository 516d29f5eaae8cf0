"""`tongban catalog`: placeholder until the catalogue lands."""

import typer

app = typer.Typer(help="The 138 catalogue items of the plan.", no_args_is_help=True)


@app.command("list")
def list_items() -> None:
    """List all items."""
    raise typer.Exit(1)
