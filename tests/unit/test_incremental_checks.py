"""The simulator's per-step checks judge a side's new events as a judgement of its whole history
would (`checkers.unjudged`): an event judged against what came before it sees what came before
it, also when that came in an earlier step."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from domain.deadlines import DeadlineRecomputed, DeadlineSet
from domain.kernel import Actor, Event
from simulations import checkers, oracles

CASE, REGION = "case-1", "150900"
T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
SYSTEM = Actor("system", "deadline_timer")


def world() -> Any:
    node = SimpleNamespace(side=lambda case_id: None)
    return SimpleNamespace(checks=checkers.Observations(),
                           regions={REGION: SimpleNamespace(region=SimpleNamespace(node=node))})


def committed(w: Any, *events: Event) -> None:
    key = (CASE, REGION)
    w.checks.side_events[key].extend(events)
    w.checks.by_case[CASE][key] = w.checks.side_events[key]


def rules(found: list[Any]) -> set[str]:
    return {v.rule for v in found}


def test_a_recomputation_a_step_later_is_judged_against_the_deadline_it_replaces() -> None:
    due = T0 + dt.timedelta(days=21)
    w = world()
    committed(w, DeadlineSet(at=T0, actor=SYSTEM, step="transfer_out", due_at=due, escalate_at=due,
                             basis="15 working days", calendar_version="v"))
    oracles.deadlines(w, None, CASE)  # type: ignore[arg-type]
    earlier = T0 + dt.timedelta(days=7)  # claims to replace a deadline that never held
    committed(w, DeadlineRecomputed(at=T0 + dt.timedelta(days=1), actor=SYSTEM, step="transfer_out",
                                    due_at=earlier + dt.timedelta(days=1), escalate_at=due,
                                    previous_due_at=earlier, official_due_at=earlier,
                                    basis="15 working days", calendar_version="v2"))
    per_step = oracles.deadlines(w, None, CASE)  # type: ignore[arg-type]
    w.checks.final = True
    whole = oracles.deadlines(w, None, CASE)  # type: ignore[arg-type]
    assert "deadline_recomputed_earlier" in rules(whole)
    assert "deadline_recomputed_earlier" in rules(per_step)
