"""`tongban backend pension`: bad flags are refused clearly before anything connects."""

from __future__ import annotations

from typer.testing import CliRunner

from api.cli import app


def test_backend_pension_refuses_a_region_code_that_is_not_gb_t_2260() -> None:
    result = CliRunner().invoke(app, ["backend", "pension", "--region", "990600"])
    assert result.exit_code == 2
    assert "--region" in result.output and "990600" in result.output


def test_backend_pension_refuses_a_consumer_name_jetstream_would_not_take() -> None:
    result = CliRunner().invoke(app, ["backend", "pension", "--region", "150600",
                                      "--name", "pension.backend"])
    assert result.exit_code == 2
    assert "--name" in result.output


def test_backend_pension_needs_a_region() -> None:
    result = CliRunner(env={"TONGBAN_REGION": None}).invoke(app, ["backend", "pension"])
    assert result.exit_code == 2
    assert "region" in result.output.lower()
