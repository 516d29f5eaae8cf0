"""What `tongban simulate` prints when it finds something: each violation with its rule name,
and a node that raises during the run reported as a named violation with the repro command."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from functools import partial

import pytest
from typer.testing import CliRunner

from api.cli import app
from domain.protocols import PROTOCOLS, pension
from domain.protocols.transfer import DestinationState, TransferDecider
from simulations import runner
from tests.fixtures import broken_protocols

REGIONS = "150900,140200,130700"
cli = importlib.import_module("api.cli.simulate")  # the module (the package exports the function)


@dataclass
class RaisesOnCompletion(TransferDecider):
    """A node bug: the destination raises where it should decide completion."""

    def _completion_due(self, s: DestinationState) -> bool:
        raise ValueError("link check: sequence went backwards")


def _with(monkeypatch: pytest.MonkeyPatch, protocols: dict) -> None:
    real_run = runner.run
    monkeypatch.setattr(cli, "run", lambda *a, **k: real_run(
        *a, **k, protocols={**PROTOCOLS, **protocols}, mix={"pension_transfer": 1}))


def test_violations_are_printed_with_their_rule_names(monkeypatch: pytest.MonkeyPatch) -> None:
    _with(monkeypatch, broken_protocols.destination_completes_without_funds())
    result = CliRunner().invoke(app, ["simulate", "--seed", "1", "--cases", "60",
                                      "--regions", REGIONS])
    assert result.exit_code == 1
    listed = [line for line in result.output.splitlines() if line.startswith("  - ")]
    assert listed and all(line.startswith("  - [") for line in listed), result.output
    assert "reproduce with: tongban simulate --seed 1" in result.output


def test_an_exception_inside_a_node_is_a_named_violation_with_the_repro_command(
        monkeypatch: pytest.MonkeyPatch) -> None:
    raising = replace(PROTOCOLS[pension.PROCESS], decider=partial(RaisesOnCompletion, pension.SPEC))
    _with(monkeypatch, {pension.PROCESS: raising})
    result = CliRunner().invoke(app, ["simulate", "--seed", "1", "--cases", "30",
                                      "--regions", REGIONS])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "[node_exception]" in result.output
    assert "ValueError: link check: sequence went backwards" in result.output
    assert "reproduce with: tongban simulate --seed 1 --cases 30" in result.output
