"""Staff who close a transfer although a sheet or money already came (the mutant "staff close a
transfer whose sheet or money came", simulations/mutants.py): the simulator must reach it and
name it.

Why: closes were drawn only for silent origins, which never send anything, so a destination that
let staff close over money passed every seed of the harness's batch. The workload now tempts
staff to close a transfer needing a person with a sheet or money in (the protocol refuses it:
reference §1 invariant 1), and the `closed_transfer` oracle reads the destination's own log for
a close ordered after a sheet or money came (the case may still complete: the origin answers
"already transferred", so the end state alone does not show it). Since the driver ran the
relay's window (SIMWINDOW) that state no longer came by chance — every temptation fell on a
withdrawing case, refused as already ending whatever the mutant — so the workload seeks it: a
few bank notices one fen over the sheet of a pension item's transfer awaiting its money
(`closing.credit_off_the_sheet`), and staff tempted only where the money check alone refuses.
"""

from __future__ import annotations

import pytest

from domain.protocols import transfer_destination
from simulations.faults import ALL_FAULTS
from simulations.mutants import compiled, rules
from simulations.report import summarise
from simulations.runner import run

MUTANT = "staff close a transfer whose sheet or money came"
#: The mutation harness's batch (`python -m simulations.mutants --seeds 3 --cases 120`): which
#: of its seeds lets the close through over money moves with the trace (each of 1-3 since the
#: state is sought), so the test asks what the harness asks — that the batch catches it.
SEEDS, CASES = (1, 2, 3), 120


@pytest.fixture
def close_over_money(monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness's one-line edit, compiled from the real file, its `_close` patched in."""
    mutated = compiled(MUTANT)["DestinationSide"]
    monkeypatch.setattr(transfer_destination.DestinationSide, "_close",
                        mutated._close)  # type: ignore[attr-defined]


def test_a_close_over_money_is_caught(close_over_money) -> None:
    found = [rules(run(seed, CASES, faults=ALL_FAULTS).violations) for seed in SEEDS]
    assert any("closed_transfer" in seen for seen in found), found


def test_staff_are_tempted_and_the_real_destination_refuses() -> None:
    results = [run(seed, CASES, faults=ALL_FAULTS) for seed in SEEDS]
    assert all(r.world.edges["close_over_money_tried"] > 0 for r in results)
    assert [r.violations for r in results] == [[], [], []]


def test_the_summary_lists_the_steering_apart_from_the_edges_reached() -> None:
    """The notices one fen over (`closing.credit_off_the_sheet`) are the workload steering
    towards the tempted close's state, not a boundary the run reached: the summary's `edges`
    (what the CI batch reads as reached) lists none of them; `steering` counts them."""
    summary = summarise(run(1, CASES, faults=ALL_FAULTS))
    assert "credit_off_for_tempted_close" not in summary["edges"]
    assert summary["edges"]["close_over_money_tried"] > 0
    assert 0 < summary["steering"]["credit_off_for_tempted_close"] <= 2
