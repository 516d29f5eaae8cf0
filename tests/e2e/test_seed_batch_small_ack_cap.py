"""Seeds under every fault with the inbox consumers capped at one unacknowledged delivery
(issue 11, finding 4): an inbox that held deliveries behind a gap unacknowledged filled the cap,
and JetStream then delivered nothing more — not even the re-send of the missing message. (The
simulator's traffic is sparse, so these seeds rarely hold anything for long: the targeted
loss is `tests/unit/test_gap_deadlock.py`.) Production's cap (1000) runs in
`test_seed_batch.py`, the simulator's default."""

from __future__ import annotations

import pytest

from simulations.faults import ALL_FAULTS
from simulations.report import summarise
from simulations.runner import run

SEEDS = (1, 2)
CASES = 60


@pytest.mark.parametrize("seed", SEEDS)
def test_a_small_cap_on_unacknowledged_deliveries_loses_and_stalls_nothing(seed: int) -> None:
    s = summarise(run(seed, CASES, faults=ALL_FAULTS, max_ack_pending=1))
    assert s["converged"], s["violations"][:5]
    assert (s["disagreements"], s["lost"], s["duplicate_effects"]) == (0, 0, 0), s["violations"]
    assert s["invariant_violations"] == 0, s["violations"]
    assert s["open"] == 0
