"""Past the official data: the conservative statutory fallback (issue 15, item 3).

The two acceptance checks failed before the fallback existed (the Monday–Friday guess gave
2027-01-11 and 2027-02-18).
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from lunardate import LunarDate

from domain.calendar import WorkingCalendar
from domain.holidays import fallback
from domain.holidays.fallback import FESTIVALS, WINDOW_YEARS
from domain.kernel import InvalidValue

D = dt.date
LABELS = {festival.package_label: festival for festival in FESTIVALS}


def last_day(calendar: WorkingCalendar, start: D, n: int) -> D:
    """The n-th working day after `start`: the day before the exclusive due instant."""
    return calendar.working_days_after(start, n).last_day


# --------------------------------------------------------------------------- acceptance


def test_fifteen_working_days_from_21_december_2026_skip_new_year_2027() -> None:
    assert last_day(WorkingCalendar(), D(2026, 12, 21), 15) >= D(2027, 1, 13)


def test_fifteen_working_days_from_28_january_2027_skip_the_spring_festival() -> None:
    assert last_day(WorkingCalendar(), D(2027, 1, 28), 15) >= D(2027, 2, 23)


def test_both_acceptance_dates_are_provisional() -> None:
    for start in (D(2026, 12, 21), D(2027, 1, 28)):
        assert WorkingCalendar().working_days_after(start, 15).provisional


# --------------------------------------------------------------------------- the law's days


def test_the_fallback_knows_the_thirteen_days_of_the_2024_holiday_law_for_2027() -> None:
    """元旦 1, 春节 4 (除夕–初三), 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3 (国务院令第795号).

    The dates are those the `holidays` package (0.109) computes for 2027, as quoted in
    reference/domain.md, minus its estimated "observed" days.
    """
    expected = {
        "2027-01-01": "元旦",
        "2027-02-05": "春节", "2027-02-06": "春节", "2027-02-07": "春节", "2027-02-08": "春节",
        "2027-04-05": "清明节",
        "2027-05-01": "劳动节", "2027-05-02": "劳动节",
        "2027-06-09": "端午节",
        "2027-09-15": "中秋节",
        "2027-10-01": "国庆节", "2027-10-02": "国庆节", "2027-10-03": "国庆节",
    }
    got = {day.isoformat(): name for day, name in fallback.statutory_holidays(2027).items()}
    assert got == expected


def test_every_statutory_day_is_inside_its_festivals_window() -> None:
    for festival in FESTIVALS:
        first, last = festival.window
        assert all(first <= k <= last for k in festival.statutory), festival.name


@pytest.mark.parametrize("year", range(2008, 2027))
def test_lunar_and_solar_term_dates_are_the_official_festival_days_of_2008_to_2026(
    year: int,
) -> None:
    """Our festival dates (lunardate, chinesecalendar's solar terms) are the official ones: the
    date is a day off, and the official schedule names the festival on it or on a day next to
    it (2012's 端午 was a Saturday the package leaves unnamed; 2020's 中秋 fell on 1 October,
    named National Day). 2008 is the first year with all seven festivals (the 2007 revision)."""
    for festival in FESTIVALS:
        anchor = festival.anchor(year)
        assert not chinese_calendar.is_workday(anchor), (year, festival.name)
        near = [anchor + dt.timedelta(days=k) for k in (-1, 0, 1)]
        labels = {chinese_calendar.get_holiday_detail(day)[1] for day in near}
        merged = festival.name == "中秋节" and anchor == D(year, 10, 1)
        assert festival.package_label in labels or merged, (year, festival.name)


def test_lunar_dates_come_from_lunardate() -> None:
    spring = next(f for f in FESTIVALS if f.name == "春节")
    assert spring.anchor(2027) == LunarDate(2027, 1, 1).to_solar_date() == D(2027, 2, 6)


def test_years_without_lunar_tables_are_refused_clearly() -> None:
    with pytest.raises(InvalidValue, match="1900–2099"):
        fallback.rest_days(2100)


# --------------------------------------------------------------------------- the windows


def derived_windows(years: range) -> dict[str, tuple[int, int]]:
    """For each festival, the earliest and latest official day off around it in `years`,
    relative to the festival's date, as `chinesecalendar` records the State Council's notices."""
    windows: dict[str, tuple[int, int]] = {}
    for day, label in chinese_calendar.holidays.items():
        festival = LABELS.get(label)
        if festival is None:
            continue  # a one-off (2015's 70th anniversary of the victory), not a festival
        year = day.year + 1 if festival.name == "元旦" and day.month == 12 else day.year
        if year not in years:
            continue
        offset = (day - festival.anchor(year)).days
        low, high = windows.get(festival.name, (offset, offset))
        windows[festival.name] = (min(low, offset), max(high, offset))
    return windows


def test_the_windows_are_the_widest_official_breaks_of_2020_to_2026() -> None:
    assert derived_windows(WINDOW_YEARS) == {f.name: f.window for f in FESTIVALS}


def test_the_windows_also_hold_every_break_of_2015_to_2019() -> None:
    for name, (low, high) in derived_windows(range(2015, 2020)).items():
        window = next(f.window for f in FESTIVALS if f.name == name)
        assert window[0] <= low and high <= window[1], name


def test_every_official_holiday_of_2015_to_2026_is_a_fallback_rest_day_but_one_offs() -> None:
    missed = [
        (day, label)
        for day, label in chinese_calendar.holidays.items()
        if 2015 <= day.year <= 2026 and not fallback.is_rest_day(day)
    ]
    assert missed == [(D(2015, 9, 3), "Anti-Fascist 70th Day"),
                      (D(2015, 9, 4), "Anti-Fascist 70th Day")]


def test_weekends_are_rest_days_and_an_ordinary_weekday_is_worked() -> None:
    calendar = WorkingCalendar()
    assert not calendar.is_working_day(D(2027, 3, 6))  # Saturday: a 调休 is never assumed
    assert calendar.is_working_day(D(2027, 3, 8))  # Monday
    assert not calendar.is_working_day(D(2027, 10, 8))  # Friday, 国庆 +7
    assert calendar.is_working_day(D(2027, 10, 11))  # Monday after it
    assert fallback.festival_of(D(2027, 2, 4)) == "春节"  # 初一 -2
    assert fallback.festival_of(D(2026, 12, 30)) == "元旦"
    assert fallback.festival_of(D(2027, 3, 8)) is None


def test_a_calendar_known_only_to_an_earlier_year_says_so_in_its_version() -> None:
    calendar = WorkingCalendar(package_last_year=2019)
    assert calendar.day_source(D(2020, 5, 6)) == "fallback"
    assert calendar.calendar_version == "chinesecalendar-1.11.0-until-2019"
    with pytest.raises(InvalidValue, match="package_last_year"):
        WorkingCalendar(package_last_year=2027)
