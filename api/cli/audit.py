"""`tongban audit list --region CODE`: the operator reads who saw unmasked personal data — which
staff member, when, which case, which document, and why (`regions.core.audit`).

The store flags are the node's (`--store`, `--dsn`, `--schema`, `--sqlite-dir`, or their
`TONGBAN_*` variables); reading is safe while the node runs. Exit codes: 0 listed, 2 bad input
or no store for the region.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from regions.core import audit
from regions.core.config import RegionConfig

app = typer.Typer(help="The audit log of unmasked reads of personal data.",
                  no_args_is_help=True)


@app.command("list")
def list_command(
        region: Annotated[str | None, typer.Option(help="GB/T 2260 code of the region.")] = None,
        store: Annotated[str | None, typer.Option(help="sqlite or postgres.")] = None,
        dsn: Annotated[str | None, typer.Option(help="PostgreSQL DSN.")] = None,
        schema: Annotated[str | None, typer.Option(help="PostgreSQL schema.")] = None,
        sqlite_dir: Annotated[Path | None, typer.Option(help="Directory of SQLite files.")] = None,
        case: Annotated[str, typer.Option(help="Only this case number.")] = "",
        staff_id: Annotated[str, typer.Option("--staff", help="Only this staff id.")] = "",
        as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text.")] = False,
) -> None:
    """Every unmasked read, oldest first: when, who (role), case, field, purpose."""
    from regions.adapters.stores.setup import store_for
    from regions.adapters.stores.sql import SqliteStore, StoreConfigError

    given: dict[str, Any] = {"region": region, "store": store, "dsn": dsn, "schema": schema,
                             "sqlite_dir": sqlite_dir}
    try:
        config = RegionConfig(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
                        for e in exc.errors()))
    if config.store == "memory":
        _fail("--store must be sqlite or postgres (a memory store lives only in its node)")
    try:
        opened = store_for(config)
    except StoreConfigError as exc:
        _fail(str(exc))
    if isinstance(opened, SqliteStore) and not opened.path_for(config.region).exists():
        _fail(f"no store for region {config.region} at {opened.path_for(config.region)}")
    try:
        found = list(audit.entries(opened.open(config.region), case_number=case,
                                   staff_id=staff_id, limit=10**9))
    finally:
        close = getattr(opened, "close", None)
        if close is not None:
            close()
    if as_json:
        print(json.dumps([e.__dict__ for e in found], ensure_ascii=False))
        return
    if not found:
        print(f"no unmasked reads recorded in region {config.region}")
    for e in found:
        print(f"{e.at}  {e.staff_id} ({e.role})  {e.case_number}  {e.field}  {e.purpose}")


def _fail(message: str) -> NoReturn:
    print(f"tongban audit list: {message}", file=sys.stderr)
    raise typer.Exit(2)
