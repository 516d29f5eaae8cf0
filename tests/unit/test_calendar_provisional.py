"""Provisional deadlines: coverage of the coming days, and rechecking once official data comes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from domain.calendar import CHINA, WorkingCalendar, is_provisional, parse_holiday_file
from domain.kernel import InvalidValue
from domain.provisional import RecordedDeadline, official_coverage, recheck

D = dt.date


def local(year: int, month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=CHINA)


def notice_2027(**changes: Any) -> WorkingCalendar:
    """A hypothetical 2027 notice (the real one is not known here): 元旦 1–3 January, 春节
    5–12 February with Saturday 13 February worked."""
    data: dict[str, Any] = {
        "year": 2027,
        "source": "test: a hypothetical 2027 notice",
        "holidays": ["2027-01-01", "2027-01-02", "2027-01-03",
                     *(f"2027-02-{d:02d}" for d in range(5, 13))],
        "workdays": ["2027-02-13"],
    }
    data.update(changes)
    return WorkingCalendar.with_files(parse_holiday_file(data, name="cn-2027.json"))


# --------------------------------------------------------------------------- provisional marking


def test_versions_with_a_fallback_tag_are_provisional_old_weekday_guesses_included() -> None:
    assert is_provisional("chinesecalendar-1.11.0+fallback")
    assert is_provisional("chinesecalendar-1.11.0+cn-2027.json@1a2b3c4d+fallback")
    assert is_provisional("chinesecalendar-1.11.0+weekday-fallback")  # recorded by old releases
    assert not is_provisional("chinesecalendar-1.11.0")
    assert not is_provisional("chinesecalendar-1.11.0+cn-2027.json@1a2b3c4d")


def test_dates_inside_the_official_data_keep_their_version_unchanged() -> None:
    """The simulator's trace hash depends on it: 2025 and 2026 dates are reckoned as before."""
    result = WorkingCalendar().add_working_days(local(2025, 9, 30, 10), 5)
    assert result.calendar_version == "chinesecalendar-1.11.0"
    assert not result.provisional


# --------------------------------------------------------------------------- coverage


def test_on_4_december_2026_the_next_sixty_days_lack_official_data_from_30_december() -> None:
    coverage = official_coverage(WorkingCalendar(), D(2026, 12, 4))
    assert (coverage.first, coverage.last) == (D(2026, 12, 5), D(2027, 2, 2))
    assert coverage.first_missing == D(2026, 12, 30)
    assert len(coverage.missing) == 35  # 30 Dec 2026 to 2 Feb 2027
    assert not coverage.complete
    assert "2026-12-30" in coverage.warning and "holiday file" in coverage.warning


def test_coverage_is_complete_when_the_horizon_stays_inside_official_data() -> None:
    assert official_coverage(WorkingCalendar(), D(2026, 10, 1)).complete
    assert official_coverage(WorkingCalendar(), D(2026, 10, 1)).warning == ""
    assert official_coverage(notice_2027(), D(2026, 12, 4)).complete


def test_a_holiday_file_moves_the_gap_to_the_next_years_new_year_window() -> None:
    coverage = official_coverage(notice_2027(), D(2027, 11, 15))
    assert coverage.first_missing == D(2027, 12, 30)


def test_coverage_takes_an_instant_as_its_china_local_day_and_a_custom_horizon() -> None:
    instant = dt.datetime(2026, 12, 28, 17, tzinfo=dt.UTC)  # 29 Dec 01:00 in Beijing
    coverage = official_coverage(WorkingCalendar(), instant, horizon_days=1)
    assert coverage.first == coverage.last == D(2026, 12, 30)
    assert coverage.missing == (D(2026, 12, 30),)
    with pytest.raises(InvalidValue, match="positive"):
        official_coverage(WorkingCalendar(), D(2026, 12, 4), horizon_days=0)


# --------------------------------------------------------------------------- recheck


def recorded_on(calendar: WorkingCalendar, start: dt.datetime, n: int) -> RecordedDeadline:
    reckoned = calendar.add_working_days(start, n)
    return RecordedDeadline(start, n, reckoned.due_at, reckoned.calendar_version, "15 WD")


def test_a_fallback_date_is_never_moved_earlier_by_the_official_schedule() -> None:
    record = recorded_on(WorkingCalendar(), local(2026, 12, 21, 10), 15)
    assert record.provisional
    result = recheck(record, notice_2027())
    assert result.verdict == "earlier" and not result.apply
    assert result.due_at == record.due_at  # the recorded date stands
    assert result.recomputed.last_day == D(2027, 1, 12)  # the fallback said 14 January
    assert result.shift_days == -2
    assert not result.still_provisional


def test_a_date_the_old_weekday_guess_recorded_too_early_moves_later() -> None:
    # What earlier releases recorded: Monday–Friday, so 1 January counted as worked.
    record = RecordedDeadline(local(2026, 12, 21, 10), 15, local(2027, 1, 12),
                              "chinesecalendar-1.11.0+weekday-fallback")
    result = recheck(record, notice_2027())
    assert result.verdict == "later" and result.apply
    assert result.due_at == local(2027, 1, 13)  # the 15th working day is Tue 12 January
    assert result.shift_days == 1


def test_a_one_off_holiday_beyond_the_fallbacks_windows_moves_the_date_later() -> None:
    record = recorded_on(WorkingCalendar(), local(2027, 3, 1, 10), 5)  # Tue 2 … Mon 8 Mar
    one_off = notice_2027(holidays=["2027-01-01", "2027-03-04"])  # an unforeseeable day off
    result = recheck(record, one_off)
    assert result.verdict == "later"
    assert result.recomputed.last_day == D(2027, 3, 9)


def test_an_official_date_rechecked_on_the_same_data_is_unchanged() -> None:
    record = recorded_on(WorkingCalendar(), local(2025, 9, 30, 10), 5)
    result = recheck(record, notice_2027())
    assert result.verdict == "unchanged" and not result.apply
    assert result.due_at == record.due_at


def test_a_recheck_without_new_data_is_still_provisional() -> None:
    record = recorded_on(WorkingCalendar(), local(2027, 1, 28, 10), 15)
    result = recheck(record, WorkingCalendar())
    assert result.verdict == "unchanged" and result.still_provisional
