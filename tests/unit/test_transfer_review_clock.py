"""The destination's review clock (issue 15, item 2): from the submission of a transfer
application to the 联系函 or a written refusal, 15 working days (unemployment 5, housing fund 3;
人社部发〔2009〕187号, 失业保险关系转移 / 住房公积金异地转移接续 rules in reference/domain.md),
stopped while the applicant supplies missing materials (补正).

Before: the clock started only at `AcceptIntake` (submission recorded no statutory deadline), so
a case left unaccepted had no deadline at all, and the policy cleared it at once.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from domain.deadlines import met_of
from domain.protocols import PROTOCOLS
from domain.protocols.intake import (
    AcceptIntake,
    ProvideSupplement,
    RejectIntake,
    RequestSupplement,
)
from domain.protocols.transfer import options
from tests.fixtures.transfers import TRANSFERS, TransferWorld, staff

DEST, ORIGIN = "150600", "610800"


def submitted(process: str) -> tuple[TransferWorld, str]:
    world = TransferWorld(TRANSFERS, random.Random(3))
    return world, world.submit(process, "e1" * 32, DEST, (ORIGIN,), 1)


def deadlines(world: TransferWorld, case: str, kind: str) -> list:  # type: ignore[type-arg]
    return [e for e in world.sides[(case, DEST)].events
            if kind == e.TYPE and getattr(e, "step", "") == "contact_letter"]


@pytest.mark.parametrize("process, days", [("pension_transfer", 15),
                                           ("unemployment_transfer", 5),
                                           ("housing_fund_transfer", 3)])
def test_submission_starts_the_review_clock(process: str, days: int) -> None:
    world, case = submitted(process)
    [started] = deadlines(world, case, "DeadlineSet")
    assert f"{days} working days" in started.basis
    assert started.at == world.now


def test_the_clock_stops_during_the_supplement_and_runs_on_with_the_days_left() -> None:
    world, case = submitted("pension_transfer")
    world.now += dt.timedelta(days=7)  # a week of review: 5 working days used (no holiday)
    world.act(case, DEST, RequestSupplement(actor=staff(DEST), missing_kinds=("id_card",)))
    [paused] = deadlines(world, case, "DeadlinePaused")
    assert paused.remaining_days == 10
    world.now += dt.timedelta(days=20)  # the applicant's time does not count
    side = world.sides[(case, DEST)]
    supply = next(c for c in options(PROTOCOLS["pension_transfer"].decider(world.rules).spec,
                                      side.state, world.now, world.rng)
                  if isinstance(c, ProvideSupplement))
    world.act(case, DEST, supply)
    resumed = deadlines(world, case, "DeadlineSet")[-1]
    assert "10 working days" in resumed.basis and resumed.at == world.now


def test_the_letter_meets_the_clock() -> None:
    world, case = submitted("pension_transfer")
    world.act(case, DEST, AcceptIntake(actor=staff(DEST)))
    assert len(deadlines(world, case, "DeadlineSet")) == 1  # acceptance does not restart it
    assert [met_of(e) for e in world.sides[(case, DEST)].events if met_of(e)] == [
        ("contact_letter",)]  # met by the letter itself
    assert "contact_letter" not in world.sides[(case, DEST)].state.book


def test_a_written_refusal_meets_the_clock() -> None:
    world, case = submitted("unemployment_transfer")
    world.act(case, DEST, RejectIntake(actor=staff(DEST), reason="不予受理: 申请人未在本地参保"))
    assert deadlines(world, case, "DeadlineCleared")
    assert not world.sides[(case, DEST)].state.book
