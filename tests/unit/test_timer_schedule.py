"""A restart on the memory store asks only the sides changed since the last rebuild for their
next timer (`timer.Schedule`), and schedules exactly what a rebuild from the whole log does —
whoever wrote the change, and a case opened since."""

from __future__ import annotations

import datetime as dt
import random
import uuid

from domain.calendar import china_date
from domain.kernel import Actor
from domain.protocols import pension
from domain.protocols.intake import AcceptIntake
from domain.protocols.transfer import application
from domain.values import CaseNumber, RegionCode
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.timer import DeadlineTimer
from regions.runtime.bootstrap import Region, build_region
from simulations.workload import draw_applicant

DEST, ORIGIN = "150600", "610800"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
CONFIG = RegionConfig(region=DEST, peers=(ORIGIN,))
STAFF = Actor("staff", "0451", DEST, "社保经办")


def _submit(region: Region, n: int) -> str:
    person = draw_applicant(random.Random(n))
    number = CaseNumber.new(RegionCode(DEST), china_date(T0), uuid.UUID(int=n))
    case_id = str(number.case_id)
    applicant = Actor("applicant", person.citizen.masked, DEST)
    assert region.node.submit(case_id, str(number), pension.PROCESS, application(
        pension.PROCESS, number, person.person_key, [ORIGIN], applicant), T0).ok
    return case_id


def _from_the_whole_log(region: Region) -> dict[str, dt.datetime]:
    """What a timer that starts with nothing schedules (a durable store's process)."""
    fresh = DeadlineTimer(region.node)
    fresh.rebuild()
    return dict(fresh._next)


def test_a_restart_schedules_what_a_rebuild_from_the_whole_log_does() -> None:
    store = MemoryStore()
    region = build_region(CONFIG, clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store)
    cases = [_submit(region, n) for n in range(1, 6)]
    region.restart()
    first = region.timer.opened.schedule
    assert first is not None and set(first.due) == set(cases)
    assert dict(region.timer._next) == _from_the_whole_log(region)

    assert region.node.command(cases[0], AcceptIntake(actor=STAFF), T0).ok  # seen by the timer
    other = build_region(CONFIG, clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store)
    assert other.node.command(cases[1], AcceptIntake(actor=STAFF), T0).ok  # never seen by it
    cases.append(_submit(other, 6))  # opened since
    region.restart()
    assert region.timer.opened.schedule is not first
    assert set(region.timer._next) == set(cases)
    assert dict(region.timer._next) == _from_the_whole_log(region)


def test_a_schedule_is_not_taken_over_by_other_folds() -> None:
    """Other rules or protocols (the calendar installed: new folds) ask every side again."""
    store = MemoryStore()
    region = build_region(CONFIG, clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store)
    case_id = _submit(region, 1)
    region.restart()
    saved = region.timer.opened.schedule
    assert saved is not None
    region.timer.opened.schedule = type(saved)(saved.position, object(), {}, saved.failed)
    region.restart()  # the saved schedule (empty, other folds) is not used
    assert set(region.timer._next) == {case_id}
