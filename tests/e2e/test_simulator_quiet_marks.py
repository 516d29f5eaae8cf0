"""After the heal a region's heartbeat is left out while its marks could tell no receiver anything
(`simulations.quiet`, issue 17): the marks still find what is lost, and otherwise cost nothing."""

from __future__ import annotations

import pytest

from simulations.runner import run
from simulations.steps import census
from tests.fixtures.lost_batch import lose_first_relay_batch


def test_a_message_lost_after_the_heal_without_a_fault_is_still_announced_and_asked_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A relay batch that never reaches the broker once the faults are off (what a defect would
    do): its receiver is short of the origin's mark, so the origin's heartbeat runs, the mark
    shows the gap, the receiver asks, and the run converges with the message applied."""
    lost = lose_first_relay_batch(monkeypatch, while_faults_on=False)
    result = run(seed=1, cases=30, faults=())
    assert lost, "no relay batch after the heal to lose"
    origin, receiver, seq = lost[0]
    assert result.converged
    assert result.world.resend_requests > 0
    assert result.world.regions[receiver].region.node.inlink_position(origin) >= seq


def test_after_the_heal_a_run_that_loses_nothing_announces_no_marks_to_receivers_that_hold_them(
        ) -> None:
    """Before, each link's mark went out again on the relay's ladder for the whole drain (about
    one publish, pull and batch per link a day, ~5,300 in a 120-case run); now only while a
    receiver is short of one."""
    _, counted = census(1, 30, ())
    workload_marks = counted.marks_made["workload"]  # made; sent: only to receivers short
    rounds, _, marks = counted.background["after"]
    assert workload_marks > 0 and rounds > 100
    assert marks <= rounds / 50, f"{marks} marks in {rounds} rounds after the heal"
