"""A heartbeat's mark is published only while its receiver is short of it (`quiet.tells`), in the
faults' phase too: the marks still find what is lost, and the ones that restate what a receiver
recorded (most of a run's: a publish, a pull and a marks-only batch each) are left unsent."""

from __future__ import annotations

from typing import Any

import pytest

from regions.core.messages import HighWaterMark
from simulations.faults import ALL_FAULTS
from simulations.runner import run
from simulations.steps import census
from simulations.world import World
from tests.fixtures.lost_batch import lose_first_relay_batch


def test_a_message_lost_while_the_workload_runs_is_still_announced_and_asked_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A relay batch that never reaches the broker during the workload, with no fault to blame
    (what a defect would do): its receiver is short of the origin's mark, so the mark goes
    out, shows the gap, the receiver asks, and the run converges with the message applied."""
    lost = lose_first_relay_batch(monkeypatch, while_faults_on=True)
    result = run(seed=1, cases=30, faults=())
    assert lost, "no relay batch during the workload to lose"
    origin, receiver, seq = lost[0]
    assert result.converged
    # in a clean run a re-send is itself reported (the message was lost without a fault)
    assert [v.split("]")[0] for v in result.violations] == ["[needless_resend"]
    assert result.world.resend_requests > 0
    assert result.world.regions[receiver].region.node.inlink_position(origin) >= seq


def test_each_mark_published_is_one_its_receiver_was_short_of(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every heartbeat mark that went out found its receiver's recorded position below it, and
    most marks made restated a position (so the lever has something to leave out)."""
    published: list[tuple[int, int]] = []
    real = World.send_quietly

    def send_quietly(world: World, sender: str, item: Any, resent: Any = None) -> None:
        if type(item) is HighWaterMark and world.regions.get(item.destination) is not None:
            position = world.regions[item.destination].region.node.inlink_position(sender)
            published.append((position, item.link_seq))
        real(world, sender, item, resent)

    monkeypatch.setattr(World, "send_quietly", send_quietly)
    result, counted = census(2, 40, ALL_FAULTS)
    assert result.converged and not result.violations
    made = counted.marks_made["workload"]
    sent = counted.background["workload"][2]
    assert 0 < sent < made / 2, (sent, made)
    heartbeats = [p for p in published if p[0] < p[1]]
    assert len(heartbeats) >= sent  # catch-ups' marks (`retry_links`) may restate, these not
