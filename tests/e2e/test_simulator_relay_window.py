"""The simulator steps the relay's window as the driver does (`simulations/flows.py`), so a
window that moves the position over a batch before the acks of one before it is caught (the
mutant "relay's position passes a batch before the acks of one before it").

Why: the simulator used to relay one batch at a time, its acks at once, so the window's order
(`tail_flow.Window`: batches awaiting acks together, the position moving over them oldest first)
was never exercised there, and breaking it passed every seed (the harness's batch at 565c60a:
MISSED). Now acks come back in seeded order, a later batch's often first, and the position's
moves are judged (`relay_skipped`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from regions.core.tailer import Batch
from regions.runtime.tail_flow import Window
from simulations.faults import ALL_FAULTS
from simulations.mutants import MUTANTS, rules
from simulations.runner import run

MUTANT = "relay's position passes a batch before the acks of one before it"


def landing_any(self: Window[Any], done: Callable[[Any], bool]) -> tuple[Batch[Any], Any] | None:
    """The harness's edit of `Window.landing`: whichever batch in flight is done, not the
    oldest."""
    for landed in self.flying:
        if done(landed[1]):
            self.flying.remove(landed)
            return landed
    return None


def test_the_harness_edits_what_this_test_patches() -> None:
    path, _, mutant = MUTANTS[MUTANT]
    assert path == "regions/runtime/tail_flow.py"
    assert "for landed in self.flying:" in mutant and "self.flying.remove(landed)" in mutant


def test_a_window_passing_a_batch_before_the_earlier_ones_acks_is_caught(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Window, "landing", landing_any)
    result = run(1, 120, faults=ALL_FAULTS)
    assert "relay_skipped" in rules(result.violations), result.violations[:3]


def test_the_real_window_meets_later_acks_first_and_passes_every_oracle() -> None:
    result = run(1, 120, faults=ALL_FAULTS)
    edges = result.world.edges
    assert edges["relay_batches_in_flight"] and edges["relay_later_batch_acked_first"]
    assert edges["inbox_fetched_ahead"]
    assert result.violations == []
