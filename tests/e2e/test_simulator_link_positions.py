"""A receiver's link position never falls in a run, crashes and every other fault included.

Why: `simulations.quiet` keeps, per origin, the relay's marks as they were when every receiver
last held them (`SimRegion.quiet_marks`), and trusts them while the marks stay the same: valid
only if no receiver's recorded position (`RegionNode.inlink_position`, read from its store) ever
goes back. The simulator restores no store from a backup — a crash restarts the node on the
store it had — and this pins it: were a restart ever to reopen an older store, this fails, and
the memo must be dropped there (`World.crash` drops every region's already).
"""

from __future__ import annotations

from typing import Any

import pytest

from simulations.faults import ALL_FAULTS
from simulations.runner import run
from simulations.world import World


def test_no_receivers_link_position_falls_in_a_run_with_crashes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[tuple[str, str], int] = {}
    fallen: list[str] = []
    crashes = [0]
    real_background, real_crash = World.background, World.crash

    def background(world: World) -> None:
        for receiver, sim in world.regions.items():
            node = sim.region.node
            for origin in world.regions:
                if origin != receiver:
                    now = node.inlink_position(origin)
                    before = seen.get((origin, receiver), 0)
                    if now < before:
                        fallen.append(f"{origin}->{receiver} {before} -> {now} "
                                      f"at {world.sched.now.isoformat()}")
                    seen[(origin, receiver)] = now
        real_background(world)

    def crash(world: World, code: str) -> Any:
        crashes[0] += 1
        return real_crash(world, code)

    monkeypatch.setattr(World, "background", background)
    monkeypatch.setattr(World, "crash", crash)
    result = run(seed=3, cases=40, faults=ALL_FAULTS)
    assert result.converged and not result.violations
    assert crashes[0] > 0, "no crash in this run: pick a seed whose plan crashes a node"
    assert max(seen.values()) > 0
    assert not fallen, fallen[:5]
