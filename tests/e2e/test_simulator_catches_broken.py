"""The simulator must be able to fail: a deliberately broken protocol is caught by its checkers."""

from __future__ import annotations

import pytest

from domain.protocols import PROTOCOLS
from simulations.runner import run
from tests.fixtures import broken_protocols

REGIONS = ("150900", "140200", "130700")  # a three-region pilot group: several origins happen


def broken_registry(variant: dict) -> dict:
    return {**PROTOCOLS, **variant}


@pytest.mark.parametrize("variant", [
    broken_protocols.destination_completes_without_funds,
    broken_protocols.origin_proceeds_without_all_hold,
])
def test_the_simulator_catches_a_deliberately_broken_transfer_protocol(variant) -> None:
    caught = []
    for seed in range(1, 13):
        result = run(seed, 120, REGIONS, (), protocols=broken_registry(variant()),
                     mix={"pension_transfer": 1})
        if result.violations:
            caught.append((seed, result.violations[0]))
            break
    assert caught, "twelve seeds ran the broken protocol without a single violation"


def test_the_real_protocols_pass_the_same_runs() -> None:
    for seed in range(1, 3):
        assert run(seed, 60, REGIONS, (), mix={"pension_transfer": 1}).violations == []
