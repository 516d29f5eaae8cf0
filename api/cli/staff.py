"""`tongban staff issue-token|revoke|list`: the operator's side of staff identity (`api.staff`)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from api.staff import ROLES, TokenFile
from domain.kernel import InvalidValue
from domain.values import RegionCode

app = typer.Typer(help="Staff tokens for the HTTP API and pages.", no_args_is_help=True)
File = Annotated[Path, typer.Option("--file", envvar="TONGBAN_STAFF_TOKENS",
                                    help="The node's staff token file (TONGBAN_STAFF_TOKENS).")]
RegionOpt = Annotated[str, typer.Option("--region", help="GB/T 2260 code the staff work for.")]
IdOpt = Annotated[str, typer.Option("--id", help="The staff member's id (工号).")]


def _fail(command: str, message: str) -> None:
    print(f"tongban staff {command}: {message}", file=sys.stderr)
    raise typer.Exit(2)


def _region(command: str, code: str) -> str:
    try:
        return str(RegionCode.parse(code))
    except InvalidValue as exc:
        _fail(command, f"--region: {exc}")
        raise


@app.command("issue-token")
def issue(region: RegionOpt, role: Annotated[str, typer.Option(help="window, department or "
                                                                  "supervisor")],
          staff_id: IdOpt, file: File,
          days: Annotated[int, typer.Option(min=1, max=366, help="Valid for this many days.")]
          = 30) -> None:
    """Print a new token (shown once; only its hash is kept)."""
    code = _region("issue-token", region)
    if role not in ROLES:
        _fail("issue-token", f"--role must be one of {', '.join(ROLES)}, got {role!r}")
    if not staff_id.strip() or len(staff_id) > 40:
        _fail("issue-token", "--id must be 1-40 characters")
    token = TokenFile(file).issue(code, role, staff_id.strip(),  # type: ignore[arg-type]
                                  days, dt.datetime.now(dt.UTC))
    print(token)


@app.command("revoke")
def revoke(region: RegionOpt, staff_id: IdOpt, file: File) -> None:
    """Revoke every token of one staff member of one region (takes effect at once)."""
    count = TokenFile(file).revoke(staff_id, _region("revoke", region))
    print(f"revoked {count} token(s)")


@app.command("list")
def list_tokens(file: File) -> None:
    """Who holds tokens (never the tokens)."""
    grants = TokenFile(file).grants()
    print(json.dumps([{"region": g.region, "role": g.role, "id": g.staff_id,
                       "expires_at": g.expires_at, "revoked": g.revoked}
                      for g in grants.values()], ensure_ascii=False, indent=1))


