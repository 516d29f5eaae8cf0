"""The store commands that share `api/cli/quarantine.py`'s helpers (`tongban report`,
`tongban projections`) sign a refusal with their own name: an operator must see which command
refused, not `tongban quarantine …`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app as cli

COMMANDS = [("report", "quarterly", "--quarter", "2026Q4"),
            ("report", "reconciliation", "--quarter", "2026Q4"),
            ("projections", "status"), ("projections", "rebuild")]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_missing_store_is_refused_in_the_commands_own_name(tmp_path: Path,
                                                              command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--region", "130700", "--store", "sqlite",
                                      "--sqlite-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"tongban {command[0]} {command[1]}: no store for region "
                                    "130700"), result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing created


@pytest.mark.parametrize("command", [*COMMANDS, ("quarantine", "list"),
                                     ("links", "received", "--origin", "610800",
                                      "--peers", "610800")],
                         ids=lambda c: " ".join(c[:2]))
def test_an_unreachable_database_is_refused_in_the_commands_own_name(
        command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--region", "150600", "--store", "postgres",
                                      "--dsn", "postgresql://nobody@127.0.0.1:9/none"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"tongban {command[0]} {command[1]}: cannot reach "
                                    "PostgreSQL"), result.stderr
