"""The relay's window and the inbox's pipeline as sans-IO rules (`tail_flow.Window`,
`inbox_pipeline.Pipeline`): what the asyncio driver and the simulator both step.

Why here: the simulator's catching a break of these orders (simulations/flows.py) is only worth
something if it steps the driver's own rules; these state them without either driver.
"""

from __future__ import annotations

from regions.core.tailer import Batch
from regions.runtime.inbox_pipeline import Pipeline
from regions.runtime.tail_flow import Window


def test_the_position_moves_over_the_oldest_batch_only_once_its_sink_returned() -> None:
    window: Window[str] = Window(4, handed=10)
    done: set[str] = set()
    window.hand_on(Batch(["a"], 11), "first")
    window.hand_on(Batch(["b"], 12), "second")
    assert window.handed == 12  # the next read starts after the last handed on, landed or not
    done.add("second")  # the later batch's acks came back first
    assert window.landing(done.__contains__) is None
    done.add("first")
    landed = window.landing(done.__contains__)
    assert landed is not None and landed[0].position == 11
    landed = window.landing(done.__contains__)
    assert landed is not None and landed[0].position == 12
    assert window.landing(done.__contains__) is None and window.oldest() is None


def test_a_full_window_reads_nothing_more_until_its_oldest_lands() -> None:
    window: Window[int] = Window(2, handed=0)
    window.hand_on(Batch([], 1), 1)
    assert not window.full()
    window.hand_on(Batch([], 2), 2)
    assert window.full() and window.oldest() == 1
    assert window.landing(lambda sink: sink == 1) is not None
    assert not window.full()


def test_the_inbox_decides_one_batch_at_a_time_what_was_fetched_meanwhile_next() -> None:
    pipe: Pipeline[str] = Pipeline(3)
    pipe.fetched(["d1"])
    assert pipe.to_decide() == ["d1"]
    pipe.fetched(["d2", "d3"])  # fetched ahead while d1's commit is pending
    assert pipe.to_decide() is None  # one commit at a time
    assert pipe.room() == 1  # fetched-ahead deliveries count against the batch
    pipe.decided()
    assert pipe.to_decide() == ["d2", "d3"] and pipe.ahead == []
    assert pipe.room() == 3
