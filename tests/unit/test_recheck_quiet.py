"""A start's calendar recheck settles again only the sides changed since the last start's
recheck (or whose policies now ask something), and leaves a run exactly as a recheck of every
side does (`timer.DeadlineTimer._still_quiet`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest

from domain.deadlines import recheck_commands
from domain.kernel import DomainError
from domain.protocols.intake import AcceptIntake
from regions.adapters.stores.memory import MemoryStore
from regions.core.timer import DeadlineTimer
from regions.runtime.bootstrap import build_region, default_rules
from simulations.faults import parse_faults
from simulations.report import summarise
from simulations.runner import run
from tests.unit.test_timer_schedule import CONFIG, STAFF, T0, _submit


def _decided(decider: Any, state: Any, now: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
    """What a recheck decides at `now`, without the instant it is stamped with."""
    command = recheck_commands("150600")[0]
    try:
        events = decider.decide(state, command, now)
    except DomainError as exc:
        return [("refused", {"code": exc.code})]
    return [(type(e).__name__, {k: v for k, v in dataclasses.asdict(e).items() if k != "at"})
            for e in events]


def test_a_recheck_decides_from_the_state_and_the_calendar_alone() -> None:
    """What the carry relies on: the clock only stamps a recheck's events, for every protocol
    and every state a run leaves (the calendar install's regions included)."""
    result = run(1, 40, faults=parse_faults("all"))
    seen = 0
    for sim in result.world.regions.values():
        node = sim.region.node
        for view in (node.caches.folds or {}).values():
            if view.state is None:
                continue
            decider = node.protocols[view.process].decider
            at = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
            assert _decided(decider, view.state, at) == \
                _decided(decider, view.state, at + dt.timedelta(days=400)), view.case_id
            seen += 1
    assert seen > 50


def test_a_start_settles_again_only_the_sides_changed_since_the_last(
        monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore()
    region = build_region(CONFIG, clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store)
    cases = [_submit(region, n) for n in range(1, 6)]
    asked: list[str] = []
    settle_all = DeadlineTimer._decides_nothing

    def spy(self: DeadlineTimer, case_id: str, command: Any, now: dt.datetime) -> Any:
        asked.append(case_id)
        return settle_all(self, case_id, command, now)

    monkeypatch.setattr(DeadlineTimer, "_decides_nothing", spy)
    region.restart()
    assert sorted(asked) == sorted(cases)  # the first start after the writes: every side
    asked.clear()
    region.restart()
    assert asked == []  # nothing changed: none settled again
    assert region.node.command(cases[0], AcceptIntake(actor=STAFF), T0).ok
    region.restart()
    assert asked == [cases[0]]  # the changed one only
    asked.clear()
    region.rules = default_rules(CONFIG)  # another calendar (other rules): every side again
    region.restart()
    assert sorted(asked) == sorted(cases)


def test_the_carry_leaves_a_run_as_a_recheck_of_every_side_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    carried: list[str] = []
    still_quiet = DeadlineTimer._still_quiet

    def counting(self: DeadlineTimer, case_id: str, now: dt.datetime) -> bool:
        quiet = still_quiet(self, case_id, now)
        if quiet:
            carried.append(case_id)
        return quiet

    monkeypatch.setattr(DeadlineTimer, "_still_quiet", counting)
    with_carry = summarise(run(7, 120, faults=parse_faults("all")))["trace_hash"]
    assert len(carried) > 20
    monkeypatch.setattr(DeadlineTimer, "_still_quiet", lambda self, case_id, now: False)
    assert summarise(run(7, 120, faults=parse_faults("all")))["trace_hash"] == with_carry
