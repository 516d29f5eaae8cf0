"""Installing the year's official schedule rechecks every pending provisional deadline (issue 15,
item 3): a due date reckoned on the fallback moves later when the official schedule says so, and
never earlier."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from domain.calendar import CHINA
from domain.kernel import Actor
from domain.protocols.consultation import Consult
from domain.values import CaseNumber, RegionCode
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import Region, build_region

REGION = "150600"
START = dt.datetime(2026, 12, 21, 10, 0, tzinfo=CHINA)  # a Monday; 2027 has no official data yet
PERSON = Actor("applicant", "anonymous", REGION)
#: An official 2027 schedule with a one-off week off (11–15 January) no fallback can foresee.
ONE_OFF_WEEK = {
    "year": 2027,
    "source": "a notice giving 2027-01-11…15 off (test)",
    "holidays": ["2027-01-01", *(f"2027-01-{d:02d}" for d in range(11, 16))],
    "workdays": [],
}


def end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=CHINA)


def start(store: MemoryStore, *files: Path, now: dt.datetime = START) -> Region:
    return build_region(RegionConfig(region=REGION, holiday_files=files), clock=lambda: now,
                        ids=uuid.uuid4, broker=None, store=store)


def complain(region: Region) -> str:
    number = CaseNumber.new(RegionCode(REGION), START.date(), uuid.UUID(int=15))
    outcome = region.node.submit(
        str(number.case_id), str(number), "consultation",
        Consult(actor=PERSON, case_number=str(number), kind="complain", subject="办理太慢",
                text="一个月仍未办结"), START)
    assert outcome.ok, outcome
    return str(number.case_id)


def reply_due(region: Region, case_id: str) -> dt.datetime:
    view = region.node.side(case_id)
    assert view is not None and view.state is not None
    return view.state.book["reply"].due_at


def holiday_file(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "cn-2027.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_fallback_deadline_moves_later_when_the_official_schedule_is_installed(
        tmp_path: Path) -> None:
    store = MemoryStore()
    case = complain(start(store))
    # 15 working days on the conservative fallback (元旦 window 12-30…01-03 off): 01-14.
    assert reply_due(start(store), case) == end_of(dt.date(2027, 1, 14))
    restarted = start(store, holiday_file(tmp_path, ONE_OFF_WEEK))
    # the official schedule takes 11–15 January off too: the 15th working day is 01-19.
    assert reply_due(restarted, case) == end_of(dt.date(2027, 1, 19))
