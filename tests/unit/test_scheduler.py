"""The scheduler runs actions by virtual instant, and those at the same instant in the order they
were scheduled (the insertion number decides a tie; names and actions are never compared)."""

from __future__ import annotations

import datetime as dt
from functools import partial

from simulations.scheduler import EPOCH, Scheduler


def test_actions_run_by_instant_then_in_the_order_scheduled() -> None:
    sched = Scheduler(1)
    ran: list[str] = []
    later = EPOCH + dt.timedelta(seconds=5)
    for label in ("b", "a", "c"):  # same instant: scheduled order, not the names'
        sched.at(later, label, partial(ran.append, label))
    sched.after(dt.timedelta(seconds=1), "first", lambda: ran.append("first"))
    sched.at(EPOCH - dt.timedelta(days=1), "past", lambda: ran.append("past"))  # runs now
    assert sched.next_at() == EPOCH and sched.pending() == 5
    names: list[str] = []
    while (name := sched.step()) is not None:
        names.append(name)
    assert ran == names == ["past", "first", "b", "a", "c"]
    assert sched.now == later and sched.steps == 5 and sched.next_at() is None
