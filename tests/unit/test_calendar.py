"""Working days with 调休, calendar days and months, on real 2025–2027 dates, and holiday files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest

import domain
from domain.calendar import (
    CHINA,
    PACKAGE_LAST_DAY,
    HolidayFile,
    WorkingCalendar,
    china_date,
    is_provisional,
    parse_holiday_file,
)
from domain.kernel import InvalidValue

SAMPLE_PATH = Path(domain.__file__).parent / "holidays" / "cn-2027.sample.json"
D = dt.date


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CHINA)


def sample_file() -> HolidayFile:
    return parse_holiday_file(
        json.loads(SAMPLE_PATH.read_text(encoding="utf-8")), name=SAMPLE_PATH.name
    )


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar.with_files(sample_file())


# --------------------------------------------------------------------------- the package's span


def test_package_data_ends_on_the_last_day_of_2026_and_refuses_2027() -> None:
    assert D(2026, 12, 31) == PACKAGE_LAST_DAY
    assert chinese_calendar.is_workday(D(2026, 12, 31))  # a Thursday, known
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2027, 1, 4))


def test_each_day_says_which_data_decided_it(calendar: WorkingCalendar) -> None:
    assert calendar.day_source(D(2026, 12, 31)) == "chinesecalendar"
    assert calendar.day_source(D(2027, 1, 1)) == "holiday-file"
    assert calendar.day_source(D(2028, 1, 3)) == "fallback"
    assert WorkingCalendar().day_source(D(2027, 1, 1)) == "fallback"


def test_the_last_days_of_a_known_year_fall_to_the_fallback_while_the_next_new_year_is_unknown(
    calendar: WorkingCalendar,
) -> None:
    # The 2019 notice gave Mon 2018-12-31 off: December's tail is decided by next year's notice.
    assert not chinese_calendar.is_workday(D(2018, 12, 31))
    bare = WorkingCalendar()
    assert bare.day_source(D(2026, 12, 29)) == "chinesecalendar"
    assert bare.day_source(D(2026, 12, 30)) == "fallback"
    assert not bare.is_working_day(D(2026, 12, 30))  # a Wednesday inside the 元旦 2027 window
    assert calendar.day_source(D(2026, 12, 30)) == "chinesecalendar"  # 2027 is known
    assert calendar.day_source(D(2027, 12, 30)) == "fallback"  # 2028 is not


# --------------------------------------------------------------------------- 调休 on real dates


def test_national_day_and_mid_autumn_2025_are_off_and_their_adjusted_weekend_days_are_worked(
    calendar: WorkingCalendar,
) -> None:
    assert calendar.is_working_day(D(2025, 9, 28))  # Sunday worked (调休)
    assert not any(calendar.is_working_day(D(2025, 10, day)) for day in range(1, 9))
    assert calendar.is_working_day(D(2025, 10, 11))  # Saturday worked (调休)
    assert not calendar.is_working_day(D(2025, 10, 12))  # an ordinary Sunday


def test_five_working_days_across_national_day_2025_end_at_midnight_after_the_fifth(
    calendar: WorkingCalendar,
) -> None:
    # From Tue 30 Sep: 9 Oct (Thu), 10 (Fri), 11 (Sat, 调休), 13 (Mon), 14 (Tue).
    result = calendar.add_working_days(local(2025, 9, 30, 10), 5)
    assert result.due_at == local(2025, 10, 15)
    assert result.due_at.tzinfo == dt.UTC
    assert result.due_at == dt.datetime(2025, 10, 14, 16, tzinfo=dt.UTC)
    assert result.fallback_from is None and result.warning == ""


def test_the_start_day_never_counts_even_when_the_clock_starts_just_after_midnight(
    calendar: WorkingCalendar,
) -> None:
    # Fri 26 Sep 2025 00:01: one working day later is Sun 28 Sep (调休), not Friday itself.
    assert calendar.add_working_days(local(2025, 9, 26, 0, 1), 1).due_at == local(2025, 9, 29)
    assert calendar.add_working_days(local(2025, 9, 26, 0, 1), 0).due_at == local(2025, 9, 27)


def test_the_start_day_is_the_china_local_day_not_the_utc_day(calendar: WorkingCalendar) -> None:
    start = dt.datetime(2025, 10, 10, 16, 30, tzinfo=dt.UTC)  # Sat 11 Oct 00:30 in Beijing
    assert china_date(start) == D(2025, 10, 11)
    assert calendar.add_working_days(start, 1).due_at == local(2025, 10, 14)  # Mon 13 Oct


def test_spring_festival_2026_skips_nine_days_and_works_both_adjusted_saturdays(
    calendar: WorkingCalendar,
) -> None:
    assert calendar.add_working_days(local(2026, 2, 13, 9), 1).due_at == local(
        2026, 2, 15
    )  # Sat 14
    assert calendar.add_working_days(local(2026, 2, 14, 9), 1).due_at == local(
        2026, 2, 25
    )  # Tue 24
    # 14, 24, 25, 26, 27 Feb, then Sat 28 Feb (调休)
    assert calendar.add_working_days(local(2026, 2, 13, 9), 6).due_at == local(2026, 3, 1)


# --------------------------------------------------------------------------- beyond 2026


def test_a_deadline_into_2027_uses_the_holiday_file(calendar: WorkingCalendar) -> None:
    # 29, 30, 31 Dec; 1 Jan 2027 (元旦, from the file) is off; Mon 4 and Tue 5 Jan.
    result = calendar.add_working_days(local(2026, 12, 28, 10), 5)
    assert result.due_at == local(2027, 1, 6)
    assert result.fallback_from is None
    assert result.calendar_version.startswith("chinesecalendar-1.11.0+cn-2027.sample.json@")
    assert "weekday-fallback" not in result.calendar_version


def test_without_a_holiday_file_2027_falls_back_conservatively_and_says_so() -> None:
    # Tue 29 Dec; 30 Dec–3 Jan is the 元旦 window; Mon 4 to Thu 7 Jan.
    result = WorkingCalendar().add_working_days(local(2026, 12, 28, 10), 5)
    assert result.due_at == local(2027, 1, 8)
    assert result.fallback_from == D(2026, 12, 30)
    assert result.calendar_version == "chinesecalendar-1.11.0+fallback"
    assert result.provisional and is_provisional(result.calendar_version)
    assert "2026-12-30" in result.warning and "conservative" in result.warning


def test_beyond_the_holiday_file_the_fallback_is_used_and_flagged(
    calendar: WorkingCalendar,
) -> None:
    # Mon 27 Dec 2027: 28, 29 Dec from the file; 30 Dec–3 Jan 2028 in the 元旦 window; 4–6 Jan.
    result = calendar.add_working_days(local(2027, 12, 27, 10), 5)
    assert result.due_at == local(2028, 1, 7)
    assert result.fallback_from == D(2027, 12, 30)
    assert result.calendar_version.endswith("+fallback")
    assert "cn-2027.sample.json" in result.calendar_version


def test_spring_festival_2027_from_the_sample_file(calendar: WorkingCalendar) -> None:
    # Thu 4 Feb 2027; 除夕 5 Feb to 初三 8 Feb are off: the next working day is Tue 9 Feb.
    assert calendar.add_working_days(local(2027, 2, 4, 15), 1).due_at == local(2027, 2, 10)


# --------------------------------------------------------------------------- calendar days, months


def test_a_permit_valid_forty_calendar_days_ends_with_the_fortieth_day_after_issue(
    calendar: WorkingCalendar,
) -> None:
    # Issued Tue 30 Sep 2025: day 1 is 1 Oct, day 40 is 9 Nov; holidays do not matter.
    assert calendar.add_calendar_days(local(2025, 9, 30, 15), 40).due_at == local(2025, 11, 10)


@pytest.mark.parametrize(
    ("start", "months", "last_day"),
    [
        (D(2025, 1, 15), 1, D(2025, 2, 15)),
        (D(2025, 1, 31), 1, D(2025, 2, 28)),  # no 31 February: the month's last day
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2025, 12, 10), 1, D(2026, 1, 10)),
        (D(2025, 8, 31), 3, D(2025, 11, 30)),
    ],
)
def test_a_month_ends_on_the_corresponding_day_or_the_months_last_day(
    calendar: WorkingCalendar,
    start: dt.date,
    months: int,
    last_day: dt.date,
) -> None:
    result = calendar.add_calendar_months(local(start.year, start.month, start.day, 11), months)
    assert result.due_at == local(last_day.year, last_day.month, last_day.day) + dt.timedelta(
        days=1
    )


# --------------------------------------------------------------------------- counting between


def test_working_days_between_counts_the_days_after_the_first_that_have_begun_before_the_second(
    calendar: WorkingCalendar,
) -> None:
    due = local(2025, 10, 15)
    assert calendar.working_days_between(local(2025, 9, 30, 10), due).days == 5
    assert calendar.working_days_between(local(2025, 10, 13, 9), due).days == 1  # only Tue 14
    assert calendar.working_days_between(local(2025, 10, 14, 23), due).days == 0
    assert calendar.working_days_between(local(2025, 10, 20), due).days == 0  # already past
    assert calendar.calendar_days_between(local(2025, 9, 30, 10), due).days == 14


def test_counting_into_unknown_years_reports_the_fallback() -> None:
    count = WorkingCalendar().working_days_between(local(2026, 12, 30), local(2027, 1, 6))
    assert count.days == 2  # 31 Dec to 3 Jan are the 元旦 window; Mon 4 and Tue 5 Jan
    assert count.fallback_from == D(2026, 12, 31)
    assert count.calendar_version.endswith("+fallback")
    assert "2026-12-31" in count.warning


# --------------------------------------------------------------------------- bad input


def test_naive_instants_and_negative_counts_are_refused(calendar: WorkingCalendar) -> None:
    with pytest.raises(InvalidValue, match="aware"):
        calendar.add_working_days(dt.datetime(2025, 10, 9, 10), 5)
    with pytest.raises(InvalidValue, match="aware"):
        calendar.working_days_between(local(2025, 10, 9), dt.datetime(2025, 10, 20))
    with pytest.raises(InvalidValue, match="non-negative"):
        calendar.add_working_days(local(2025, 10, 9), -1)
    with pytest.raises(InvalidValue, match="calendar date"):
        calendar.is_working_day(local(2025, 10, 9))  # a datetime is a date subclass


# --------------------------------------------------------------------------- holiday files


def good_file(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "year": 2027,
        "source": "国办发明电 sample",
        "holidays": ["2027-01-01"],
        "workdays": ["2027-01-09"],
    }
    data.update(changes)
    return data


def test_a_holiday_file_adds_its_days_off_and_its_adjusted_working_weekend_days() -> None:
    calendar = WorkingCalendar.with_files(parse_holiday_file(good_file()))
    assert not calendar.is_working_day(D(2027, 1, 1))  # Friday off
    assert calendar.is_working_day(D(2027, 1, 9))  # Saturday worked
    assert not calendar.is_working_day(D(2027, 1, 10))  # Sunday
    assert calendar.calendar_version.startswith("chinesecalendar-1.11.0+cn-2027.json@")


def test_holiday_files_can_be_given_as_json_text() -> None:
    assert parse_holiday_file(json.dumps(good_file())) == parse_holiday_file(good_file())


def test_two_files_for_one_year_with_different_days_have_different_versions() -> None:
    first = parse_holiday_file(good_file(), name="cn-2027.json")
    second = parse_holiday_file(
        good_file(holidays=["2027-01-01", "2027-02-05"]), name="cn-2027.json"
    )
    assert first.label != second.label
    with pytest.raises(InvalidValue, match="two holiday files"):
        WorkingCalendar.with_files(first, second)


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (good_file(year=2026), "already covers"),
        (good_file(year="2027"), "integer"),
        (good_file(source=" "), "source"),
        (good_file(holidays=["2027-1-1"]), "YYYY-MM-DD"),
        (good_file(holidays=["20270101"]), "YYYY-MM-DD"),
        (good_file(holidays=["2028-01-01"]), "not in 2027"),
        (good_file(holidays=["2027-01-01", "2027-01-01"]), "twice"),
        (good_file(holidays="2027-01-01"), "list"),
        (good_file(workdays=["2027-01-04"]), "already is a weekday"),
        (good_file(holidays=["2027-01-09"]), "both as holiday and as workday"),
        (good_file(note="x"), "unknown"),
        ({"year": 2027, "source": "x", "holidays": []}, "missing"),
        ([], "JSON object"),
    ],
)
def test_malformed_holiday_files_are_refused_with_the_reason(data: Any, complaint: str) -> None:
    with pytest.raises(InvalidValue, match=complaint):
        parse_holiday_file(data)


def test_a_holiday_file_that_is_not_json_is_refused() -> None:
    with pytest.raises(InvalidValue, match="not valid JSON"):
        parse_holiday_file("{year: 2027")


def test_the_2027_sample_lists_exactly_the_days_the_2024_holiday_law_fixes() -> None:
    """元旦 1, 春节 4 (除夕–初三), 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3; no 调休 invented."""
    from lunardate import LunarDate

    data = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
    new_year = LunarDate(2027, 1, 1).to_solar_date()
    qingming = [
        d
        for d, name in chinese_calendar.get_solar_terms(D(2027, 4, 1), D(2027, 4, 30))
        if name == "清明"
    ]
    expected = {
        D(2027, 1, 1),
        *(new_year + dt.timedelta(days=k) for k in (-1, 0, 1, 2)),
        *qingming,
        D(2027, 5, 1),
        D(2027, 5, 2),
        LunarDate(2027, 5, 5).to_solar_date(),
        LunarDate(2027, 8, 15).to_solar_date(),
        D(2027, 10, 1),
        D(2027, 10, 2),
        D(2027, 10, 3),
    }
    assert len(expected) == 13
    assert {D.fromisoformat(d) for d in data["holidays"]} == expected
    assert data["workdays"] == []
    assert "SAMPLE" in data["source"]
