"""The simulator's `hostile_peer` fault (issue 11): crafted messages in every region's inbox —
poison bytes, deep nesting, subjects that do not parse, forged origins, a rogue peer cancelling
cases it is not party to, opening sides under others' numbers, naming two cases at once — have
no effect on any case.

"No effect" is checked the strongest way the simulator has: the run's trace (every side's every
event, in commit order) is the trace of the same seed without the fault, and the fault's own
invariant holds (nothing hostile applied, every hostile message quarantined). A node whose inbox
lets a non-party through breaks both.
"""

from __future__ import annotations

import pytest

from regions.core import membership
from simulations import runner

FAULTS = ("drop", "duplicate", "reorder", "crash_mid_transaction")
SEED, CASES = 4, 140  # enough inbox batches for >= 20 hostile injections (23: since the marks
# that tell nobody anything are left unsent, 8f5cd80, a run has fewer inbox batches to ride on)


def test_hostile_messages_change_nothing_in_any_case() -> None:
    honest = runner.run(SEED, cases=CASES, faults=FAULTS)
    attacked = runner.run(SEED, cases=CASES, faults=(*FAULTS, "hostile_peer"))
    hostile = attacked.world.hostile
    assert hostile is not None and sum(hostile.injected.values()) >= 20
    assert len(hostile.kinds) >= 5, hostile.kinds  # most kinds of attack were made
    assert attacked.violations == [] and honest.violations == []
    assert attacked.world.trace.hexdigest() == honest.world.trace.hexdigest()
    assert hostile.applied == 0


def test_the_fault_catches_an_inbox_that_lets_a_non_party_through(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(membership, "refusal", lambda node, message, uow: "")
    honest = runner.run(SEED, cases=CASES, faults=FAULTS)
    attacked = runner.run(SEED, cases=CASES, faults=(*FAULTS, "hostile_peer"))
    assert any(v.startswith("[hostile_peer]") for v in attacked.violations), attacked.violations
    assert attacked.world.trace.hexdigest() != honest.world.trace.hexdigest()
