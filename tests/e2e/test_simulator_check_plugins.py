"""Checks others add to the simulator run where its own do: on each touched case after every
step, on every case at the end, and run-wide checks once at the end."""

from __future__ import annotations

from collections import Counter

import pytest

from domain import invariants as inv
from simulations import checkers
from simulations.runner import run

REGIONS = ("150900", "140200", "130700")


def test_an_added_case_check_sees_every_case_step_by_step_and_its_violations_are_reported(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: Counter[str] = Counter()
    final_calls = []

    def count(world, workload, case_id):
        seen[case_id] += 1
        assert world.checks.events_of(case_id), "a touched case has events"
        return []

    def flag_once(world, workload):
        final_calls.append(len(workload.cases_started))
        return [inv.Violation("-", "plugged", "a run-wide check reported this")]

    monkeypatch.setattr(checkers, "CASE_CHECKS", [*checkers.CASE_CHECKS, count])
    monkeypatch.setattr(checkers, "FINAL_CHECKS", [*checkers.FINAL_CHECKS, flag_once])
    result = run(3, 20, REGIONS, (), mix={"pension_transfer": 1})
    started = set(result.workload.cases_started)
    assert set(seen) == started
    assert all(n >= 2 for n in seen.values())  # at least once while running, once at the end
    assert final_calls == [20]
    assert any("plugged" in v for v in result.violations)


def test_a_case_checks_events_are_only_that_cases() -> None:
    result = run(3, 20, REGIONS, (), mix={"pension_transfer": 1})
    assert result.violations == []
    for case_id in result.workload.cases_started:
        keys = result.world.checks.events_of(case_id)
        assert keys and all(key[0] == case_id for key in keys)
