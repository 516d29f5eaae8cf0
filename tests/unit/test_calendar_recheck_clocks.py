"""Every date a side records from a working-day reckoning is rechecked when the official schedule
is installed (issue 15, "a calendar that holds"), not only the book's `DeadlineSet`s: a transfer
side's waiting timer (`TransferWaitingTimerSet`) and a poor rating's follow-up due date
(`FollowUpOpened.due_at`) reckoned on the fallback move later when the official schedule says so,
as a recorded event, and never earlier."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from pathlib import Path

from domain.calendar import CHINA, is_provisional
from domain.kernel import Actor
from domain.protocols import transfer
from domain.protocols.application_events import Approve, DeliverResult
from domain.protocols.casework_events import Rate
from domain.protocols.intake import AcceptIntake
from domain.values import CaseNumber, RegionCode
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import Region, build_region
from tests.unit.test_application import WINDOW, submit

HOME, AWAY = "150600", "610800"
START = dt.datetime(2026, 12, 21, 10, 0, tzinfo=CHINA)  # a Monday; 2027 has no official data yet
STAFF = Actor("staff", "w-1", HOME, "transfer_officer")
OFFICER = Actor("staff", "dept-1", HOME, "审批", "")
APPLICANT = Actor("applicant", "b2b2", HOME)
#: The fallback's 春节 break (02-04…02-12 off) and a one-off week (01-11…15) no fallback foresees.
ONE_OFF_WEEK = {
    "year": 2027,
    "source": "a notice giving 2027-01-11…15 off besides 元旦 and 春节 (test)",
    "holidays": ["2027-01-01", *(f"2027-01-{d:02d}" for d in range(11, 16)),
                 "2027-02-04", "2027-02-05", *(f"2027-02-{d:02d}" for d in range(8, 13))],
    "workdays": [],
}
#: As far as the law fixes it: 元旦 alone in January, 春节 as the fallback keeps it.
NO_ONE_OFF = {**ONE_OFF_WEEK, "holidays": ["2027-01-01", "2027-02-04", "2027-02-05",
                                           *(f"2027-02-{d:02d}" for d in range(8, 13))]}


def end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=CHINA)


def start(store: MemoryStore, *files: Path) -> Region:
    return build_region(RegionConfig(region=HOME, peers=(AWAY,), holiday_files=files),
                        clock=lambda: START, ids=uuid.uuid4, broker=None, store=store)


def holiday_file(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "cn-2027.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def number(serial: int) -> CaseNumber:
    return CaseNumber.new(RegionCode(HOME), START.date(), uuid.UUID(int=serial))


# --------------------------------------------------------------------------- transfer waits


def waiting_transfer(region: Region) -> str:
    """A pension transfer whose 联系函 went out on 2026-12-21: the destination waits for the
    origin, 30 working days (`awaiting_counterpart`)."""
    case = number(17)
    command = transfer.application("pension_transfer", case, "e1" * 32, (AWAY,), STAFF)
    assert region.node.submit(str(case.case_id), str(case), "pension_transfer", command, START).ok
    assert region.node.command(str(case.case_id), AcceptIntake(actor=STAFF), START).ok
    return str(case.case_id)


def waiting_due(region: Region, case_id: str) -> tuple[str, dt.datetime]:
    view = region.node.side(case_id)
    assert view is not None and view.state is not None and view.state.waiting is not None
    return view.state.waiting


def test_a_transfer_waiting_timer_on_the_fallback_moves_later_when_the_schedule_is_installed(
        tmp_path: Path) -> None:
    store = MemoryStore()
    case = waiting_transfer(start(store))
    # 30 working days on the fallback (12-30…01-01 and 春节 off): the end of 02-15.
    assert waiting_due(start(store), case) == ("awaiting_counterpart", end_of(dt.date(2027, 2, 15)))
    restarted = start(store, holiday_file(tmp_path, ONE_OFF_WEEK))
    # officially 12-30/31 are worked but 01-11…15 are not: the 30th working day is 02-18.
    assert waiting_due(restarted, case) == ("awaiting_counterpart", end_of(dt.date(2027, 2, 18)))
    [moved] = [r.event for r in restarted.timer.rechecked if r.case_id == case]
    assert moved.TYPE == "WaitingTimerRecomputed"
    assert not is_provisional(moved.calendar_version)
    assert start(store, holiday_file(tmp_path, ONE_OFF_WEEK)).timer.rechecked == []


def test_an_earlier_official_waiting_date_is_recorded_but_the_recorded_one_stands(
        tmp_path: Path) -> None:
    store = MemoryStore()
    case = waiting_transfer(start(store))
    restarted = start(store, holiday_file(tmp_path, NO_ONE_OFF))
    assert waiting_due(restarted, case) == ("awaiting_counterpart", end_of(dt.date(2027, 2, 15)))
    [kept] = [r.event for r in restarted.timer.rechecked if r.case_id == case]
    # officially 12-30/31 are worked: the 30th working day is 02-02, before 春节; 02-15 stands.
    assert kept.official_due_at == end_of(dt.date(2027, 2, 2))
    assert not is_provisional(kept.calendar_version)


# --------------------------------------------------------------------------- 差评 follow-ups


def rated_poorly(region: Region) -> str:
    """A local application completed on 2026-12-21 and rated 1: a follow-up, 15 working days."""
    case = number(18)
    command = dataclasses.replace(submit(mode="local"), channel="window", case_number=str(case))
    assert region.node.submit(str(case.case_id), str(case), "single_region_approval", command,
                              START).ok
    for step in (AcceptIntake(actor=WINDOW), Approve(actor=OFFICER),
                 DeliverResult(actor=WINDOW, channel="post", tracking_no="EMS1"),
                 Rate(actor=APPLICANT, score=1, comment="等太久")):
        outcome = region.node.command(str(case.case_id), step, START)
        assert outcome.ok, (step, outcome)
    return str(case.case_id)


def follow_up_due(region: Region, case_id: str) -> dt.datetime | None:
    view = region.node.side(case_id)
    assert view is not None and view.state is not None
    return view.state.keep.follow_up_due


def test_a_follow_up_due_date_on_the_fallback_moves_later_when_the_schedule_is_installed(
        tmp_path: Path) -> None:
    store = MemoryStore()
    case = rated_poorly(start(store))
    assert follow_up_due(start(store), case) == end_of(dt.date(2027, 1, 14))
    restarted = start(store, holiday_file(tmp_path, ONE_OFF_WEEK))
    assert follow_up_due(restarted, case) == end_of(dt.date(2027, 1, 19))
    [moved] = [r.event for r in restarted.timer.rechecked if r.case_id == case]
    assert moved.TYPE == "FollowUpRecomputed"
    view = restarted.node.side(case)
    assert view is not None and view.state.phase == "completed"  # an annotation moves nothing


# --------------------------------------------------------------------------- stored shapes


def test_a_waiting_timer_stored_before_its_reckoning_was_recorded_loads_with_it() -> None:
    """Schema v1 (no `reckoning`): the upcaster reads it from the basis, from the event's own
    instant, so a waiting timer recorded by an older node is rechecked like a new one."""
    from domain.kernel import event_from_payload, to_payload
    from domain.reckoning import Reckoning

    at = START.astimezone(dt.UTC)
    stored = {"at": at.isoformat(), "actor": to_payload(Actor.system("waiting_timer", HOME)),
              "to_region": "", "waiting_state": "awaiting_counterpart",
              "status": "awaiting_transfer", "due_at": end_of(dt.date(2027, 2, 15)).isoformat(),
              "basis": "pension_transfer waiting in awaiting_counterpart: 30 working days "
                       "(local default for awaiting_counterpart, not statute)",
              "calendar_version": "chinesecalendar-1.11.0+fallback"}
    event = event_from_payload("TransferWaitingTimerSet", stored, schema_version=1)
    assert event.reckoning == Reckoning("working_days", 30, START)  # type: ignore[attr-defined]
    unknown = event_from_payload("TransferWaitingTimerSet", {**stored, "basis": "agreed"}, 1)
    assert unknown.reckoning is None  # type: ignore[attr-defined]


def test_a_period_whose_last_day_only_the_fallback_calls_a_working_day_is_provisional() -> None:
    """30 calendar days from 2026-12-21 end on 2027-01-20, a Wednesday the fallback counts as
    worked: an official schedule may yet give it off (民法典 第二百零三条 would then extend it)."""
    from domain.calendar import WorkingCalendar
    from domain.limits import Rules

    spec = Rules(WorkingCalendar()).waiting_limit("pension_transfer", "submitted", START)
    assert spec.due_at == end_of(dt.date(2027, 1, 20))
    assert is_provisional(spec.calendar_version)
