"""The household oracles scan each side on from where the last step stopped
(`simulations.household_oracles`): at every step they must say what a scan of the side's whole
history says, on runs where they find something (a broken origin) and where they do not.

Why: both judge every side of a touched case at every step, so a memo that went stale (a first
event missed, a count carried wrong) would change a verdict between steps without any final
check noticing — the final check scans afresh and would report only what is still wrong then.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from domain.protocols import household_origin
from domain.protocols.household_states import Origin
from simulations import checkers, household_oracles
from simulations.faults import ALL_FAULTS
from simulations.mutants import compiled
from simulations.runner import run

REGIONS = ("150900", "140200", "130700")
CHECKS = (household_oracles.permit_expiry, household_oracles.withdrawal_after_deregistration)


def compared(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Put each household oracle in `CASE_CHECKS` behind a wrapper that also judges the case
    from its whole history (the final check's way) and asserts the two agree; counts the
    violations seen per step."""
    found: Counter[str] = Counter()

    def both(check):
        def judged(world, workload, case_id):
            step = check(world, workload, case_id)
            if not world.checks.final:
                world.checks.final = True
                try:
                    whole = check(world, workload, case_id)
                finally:
                    world.checks.final = False
                assert [str(v) for v in step] == [str(v) for v in whole], case_id
                found[check.__name__] += len(step)
            return step
        return judged

    wrapped = [both(c) if c in CHECKS else c for c in checkers.CASE_CHECKS]
    assert len([c for c in checkers.CASE_CHECKS if c in CHECKS]) == len(CHECKS)
    monkeypatch.setattr(checkers, "CASE_CHECKS", wrapped)
    return found


def test_a_permit_honoured_past_its_expiry_is_judged_alike_step_by_step(monkeypatch) -> None:
    found = compared(monkeypatch)
    monkeypatch.setattr(Origin, "permit_valid", lambda self, now: (
        self.permit_expires_at is not None
        and now < self.permit_expires_at + dt.timedelta(hours=8)))
    run(1, 40, REGIONS, ("timing_edges",), mix={"household_move": 1})
    assert found["permit_expiry"] > 0


def test_a_withdrawal_honoured_after_deregistration_is_judged_alike_step_by_step(
        monkeypatch) -> None:
    found = compared(monkeypatch)
    monkeypatch.setattr(household_origin, "_withdrawn",
                        compiled("withdrawal honoured after 注销")["_withdrawn"])
    run(1, 120, faults=ALL_FAULTS)
    assert found["withdrawal_after_deregistration"] > 0


def test_the_real_code_is_judged_alike_step_by_step(monkeypatch) -> None:
    found = compared(monkeypatch)
    result = run(2, 60, REGIONS, ALL_FAULTS, mix={"household_move": 1})
    assert sum(found.values()) == 0 and not result.violations
