"""`inbox_pipeline.Shared` queues a take exactly while something waits for one.

`Shared` keeps no "a take is queued" flag: a fetch that gives what waits its first delivery
asks for a take, and a take takes everything that waits. Here fetches, takes (one at a time,
as on the database thread; some of them failing) and acks that fail are interleaved at random
against a model counting the takes queued and not started: while nothing failed, something
waits exactly when one take is queued, no take is asked for twice, and every take that starts
has something to take. So `run_inbox`, once no take is in flight and no pull, has nothing left
to take — why its loop ends there without queueing one more.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regions.runtime.inbox_pipeline import Shared

STEPS = st.lists(st.one_of(
    st.tuples(st.just("fetch"), st.integers(0, 5)),
    st.tuples(st.just("take"), st.booleans()),  # True: its transaction fails
    st.tuples(st.just("ack fails"), st.just(0)),
), max_size=60)


class Failed(Exception):
    pass


@settings(max_examples=300, deadline=None)
@given(STEPS)
def test_something_waits_exactly_while_a_take_is_queued_for_it(steps: list[Any]) -> None:
    shared: Shared[int] = Shared(batch=8)
    queued = 0  # takes asked for (`fetched` said True) that have not started
    fetched: list[int] = []
    decided: list[int] = []
    for op, arg in steps:
        if op == "fetch":
            got = list(range(len(fetched), len(fetched) + arg))
            fetched += got
            if shared.fetched(got):
                queued += 1
        elif op == "take" and queued:
            queued -= 1

            def decide(batch: list[int], fails: bool = arg) -> int:
                if fails:
                    raise Failed
                decided.extend(batch)
                return len(batch)

            try:
                result = shared.decide(decide)
            except Failed:
                assert shared.broken
                continue
            assert result is not None or shared.broken  # a take always has something
        elif op == "ack fails":
            with shared.lock:
                shared.broken = True  # what `run_inbox`'s settling does
        if not shared.broken:
            assert queued == (1 if shared.pipe.ahead else 0)
            assert decided + shared.pipe.ahead == fetched  # in fetch order, none lost
    if not shared.broken:
        assert queued or not shared.pipe.ahead  # no take in flight: nothing left to take


@pytest.mark.parametrize("got", [[], [1]])
def test_a_broken_pipeline_asks_for_no_take(got: list[int]) -> None:
    shared: Shared[int] = Shared(batch=8)
    shared.broken = True
    assert not shared.fetched(got)
