"""The calendar_install fault (simulations/calendar_install.py): regions that reckoned 2026 on the
fallback install the official schedule mid-run; its oracle fails on a node that forgets a
recorded date or moves one earlier, and stays silent on the real code."""

from __future__ import annotations

from domain import deadlines
from domain.protocols.transfer import TransferDecider
from domain.provisional import Judgement
from simulations.report import summarise
from simulations.runner import run

REGIONS = ("150900", "140200", "130700")
FAULTS = ("calendar_install",)


def rules(violations: list[str]) -> set[str]:
    return {v.split("]")[0].lstrip("[") for v in violations}


def test_the_real_code_rechecks_every_date_and_moves_some_later() -> None:
    result = run(1, 60, REGIONS, FAULTS, mix={"pension_transfer": 1})
    assert result.violations == []
    s = summarise(result)
    assert s["faults_injected"]["calendar_install"] >= 1
    assert s["edges"]["calendar_install_moved_later"] >= 1  # the one-off week in March
    assert s["events"]["DeadlineRecomputed"] and s["events"]["WaitingTimerRecomputed"]


def test_a_node_that_rechecks_only_its_deadlines_is_caught(monkeypatch) -> None:
    """Issue 15's defect: a transfer's waiting timer stayed on the fallback's date."""
    def book_only(self, state, command, now):
        return [] if self.is_terminal(state) else (
            deadlines.decide_recheck(state.book, command, now, self.rules) or [])
    monkeypatch.setattr(TransferDecider, "_recheck", book_only)
    found = rules(run(1, 60, REGIONS, FAULTS, mix={"pension_transfer": 1}).violations)
    assert "calendar_install" in found


def test_a_recheck_that_applies_an_earlier_official_date_is_caught(monkeypatch) -> None:
    monkeypatch.setattr(deadlines, "judge",
                        lambda recorded, recomputed, provisional: Judgement(
                            "earlier" if recomputed < recorded else "later", recomputed, True))
    found = rules(run(1, 60, REGIONS, FAULTS, mix={"pension_transfer": 1}).violations)
    assert "calendar_install" in found
