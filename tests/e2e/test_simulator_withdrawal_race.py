"""A withdrawal racing the 迁移证 (issue 16's last missed mutant): the simulator must reach it
on purpose and name an origin that honours it after 注销.

Why: the mutant "withdrawal honoured after 注销" (simulations/mutants.py) escaped the harness's
batch over seeds 1–8 — the applicant who withdraws milliseconds after the origin's 迁出登记 was
drawn, then held back by the patience meant for a permit's expiry, so the withdrawal never
reached an origin that had already deregistered the person. Only the household unit and
property tests caught it. Here the mutant is applied in process, from the harness's own table,
and the harness's batch (seeds 1–3, 120 cases, every fault) must name it.
"""

from __future__ import annotations

import pytest

from domain.protocols import household_origin
from simulations.faults import ALL_FAULTS
from simulations.mutants import compiled, rules
from simulations.runner import run

MUTANT = "withdrawal honoured after 注销"
SEEDS, CASES = (1, 2, 3), 120  # the harness's default batch: `--seeds 3 --cases 120`


@pytest.fixture
def honoured_after_deregistration(monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness's one-line edit, compiled from the real file, its `_withdrawn` patched in."""
    monkeypatch.setattr(household_origin, "_withdrawn", compiled(MUTANT)["_withdrawn"])


def test_a_withdrawal_honoured_after_deregistration_is_caught_in_every_seed_of_the_batch(
        honoured_after_deregistration) -> None:
    """Each seed of the harness's batch reaches the race and names the origin that cancelled a
    move it had already registered out (not just one lucky seed: the race is sought)."""
    for seed in SEEDS:
        result = run(seed, CASES, faults=ALL_FAULTS)
        assert "withdrawal_after_deregistration" in rules(result.violations), (
            seed, result.violations[:3])
        assert result.world.edges["withdrew_across_deregistration"] > 0, seed


def test_the_race_is_reached_and_the_real_origin_refuses_it() -> None:
    result = run(SEEDS[0], CASES, faults=ALL_FAULTS)
    assert result.world.edges["withdrew_across_deregistration"] > 0
    assert result.violations == []
