"""What the simulator does per message must not be wasted work (issue 17: the simulator's speed
caps how many seeded fault schedules CI can afford).

These count the simulator's own operations on a run, never time: a count is reproducible on a
loaded machine where a timing is not.
"""

from __future__ import annotations

import pytest

from regions.adapters.brokers.memory import MemoryBroker
from regions.core.ports import Delivery
from simulations.runner import run


def test_a_clean_run_never_fetches_an_inbox_that_has_nothing_to_deliver(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An inbox tick that took everything the stream held schedules no second fetch: a publish
    schedules the receiver's inbox itself, and an unacknowledged delivery its retry. The empty
    second fetch per batch was a third of the simulator's inbox time (profile at 150 cases)."""
    fetches: list[int] = []
    real_fetch = MemoryBroker.fetch_now

    def counted(self: MemoryBroker, consumer: str, stream: str, batch: int) -> list[Delivery]:
        out = real_fetch(self, consumer, stream, batch)
        fetches.append(len(out))
        return out

    monkeypatch.setattr(MemoryBroker, "fetch_now", counted)
    result = run(seed=3, cases=40, faults=())
    assert result.violations == []
    assert len(fetches) > 40
    assert fetches.count(0) == 0, f"{fetches.count(0)} empty fetches of {len(fetches)}"
