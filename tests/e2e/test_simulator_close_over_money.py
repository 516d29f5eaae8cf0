"""Staff who close a transfer although a sheet or money already came (the mutant "staff close a
transfer whose sheet or money came", simulations/mutants.py): the simulator must reach it and
name it.

Why: closes were drawn only for silent origins, which never send anything, so a destination that
let staff close over money passed every seed of the harness's batch. The workload now tempts
staff to close a transfer needing a person with a sheet or money in (the protocol refuses it:
reference §1 invariant 1), and the `closed_transfer` oracle reads the destination's own log for
a close ordered after a sheet or money came (the case may still complete: the origin answers
"already transferred", so the end state alone does not show it).
"""

from __future__ import annotations

import pytest

from domain.protocols import transfer_destination
from simulations.faults import ALL_FAULTS
from simulations.mutants import compiled, rules
from simulations.runner import run

MUTANT = "staff close a transfer whose sheet or money came"
SEED, CASES = 2, 120  # seed 1 of the harness's batch draws no such visit; seed 2 does


@pytest.fixture
def close_over_money(monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness's one-line edit, compiled from the real file, its `_close` patched in."""
    mutated = compiled(MUTANT)["DestinationSide"]
    monkeypatch.setattr(transfer_destination.DestinationSide, "_close",
                        mutated._close)  # type: ignore[attr-defined]


def test_a_close_over_money_is_caught(close_over_money) -> None:
    result = run(SEED, CASES, faults=ALL_FAULTS)
    assert "closed_transfer" in rules(result.violations), result.violations[:3]


def test_staff_are_tempted_and_the_real_destination_refuses() -> None:
    result = run(SEED, CASES, faults=ALL_FAULTS)
    assert result.world.edges["close_over_money_tried"] > 0
    assert result.violations == []
