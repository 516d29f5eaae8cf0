"""The conservative fallback: which days may be holidays in a year without an official schedule.

Why: every statutory limit is counted in working days, and which days are worked is decided each
year by the State Council's notice (国务院办公厅关于某年部分节假日安排的通知). `chinesecalendar`
1.11.0 holds the notices up to 2026; after that, and until the operator installs the year's
notice as a holiday file, deadlines must still be computed. A deadline computed too early is
wrong for good (the step is flagged late while it is not), so the fallback is built to be **never
earlier** than any official schedule could make it:

1. **The statutory holidays are kept.** 《全国年节及纪念日放假办法》 as revised by 国务院令第795号
   (2024-11-10, in force 2025-01-01), art. 2: 元旦 1 day (1 January); 春节 4 days (除夕 to
   正月初三); 清明节 1 day (the day of the 清明 solar term); 劳动节 2 days (1–2 May); 端午节 1 day
   (五月初五); 中秋节 1 day (八月十五); 国庆节 3 days (1–3 October). [I] — the decree's text is
   not in `reference/domain.md`, which confirms only the festivals and that the `holidays` package
   computes them; the day counts are the decree's, as quoted in the State Council's 2025 notice.
2. **Each holiday is widened to the longest break observed around it.** The notices move weekend
   days to make long breaks (春节 and 国庆 usually 8 days, 劳动节 5, the others 3 with a weekend),
   and compensate a holiday that falls on a weekend (补假). `WINDOWS` holds, per festival, the
   widest span of official days off around the festival date in the notices of **2020–2026**
   (measured on `chinesecalendar`'s data; `tests/unit/test_calendar_fallback.py` re-derives the
   numbers and fails if they drift). Every day in a window is a rest day.
3. **Weekends are always rest days.** A notice's 调休 (weekend days worked) only ever makes the
   official count *earlier*, so the fallback never counts them.

With these three rules, the fallback's working days are a subset of any official schedule whose
breaks stay inside the windows, so the n-th working day on the fallback is never earlier. The
property test `tests/property/test_calendar_properties.py` checks this against every official
schedule 2015–2026 as if that year were unknown. The cost is lateness: a few working days around
each festival are given away (see the report of that test).

Festival dates: lunar ones from `lunardate` (tables for 1900–2099), 清明 from
`chinesecalendar.get_solar_terms`; both agree with the `holidays` package's China calendar
(0.109) for 2027–2099 (checked when this was written). Not covered: one-off holidays decided
ad hoc (e.g. 2015-09-03/04 for the 70th anniversary of the victory over fascism); no rule can
foresee them, which is why a fallback date is *provisional* until the official schedule is
installed and the deadline rechecked (`domain.provisional`).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import chinese_calendar
from lunardate import LunarDate

from domain.kernel import InvalidValue

#: Years whose festival dates the libraries can give (lunardate's tables end in 2099).
FIRST_YEAR, LAST_YEAR = 1900, 2099
#: The notices the windows were measured on.
WINDOW_YEARS = range(2020, 2027)


@dataclass(frozen=True)
class Festival:
    """One statutory festival: its date rule, its statutory days and its widest observed break.

    Offsets are in days from the festival date (`anchor`): 春节's anchor is 正月初一, so 除夕 is -1.
    `package_label` is the name `chinesecalendar` gives the festival's days off.
    """

    name: str
    package_label: str
    statutory: tuple[int, ...]
    window: tuple[int, int]

    def anchor(self, year: int) -> dt.date:
        """The festival's date in `year` (Gregorian year of the festival itself)."""
        return _anchors(year)[self.name]

    def window_days(self, year: int) -> list[dt.date]:
        first, last = self.window
        start = self.anchor(year)
        return [start + dt.timedelta(days=k) for k in range(first, last + 1)]


FESTIVALS: tuple[Festival, ...] = (
    # window = (earliest, latest) official day off around the festival in the 2020–2026 notices
    Festival("元旦", "New Year's Day", (0,), (-2, 2)),  # 2023-12-30…2024-01-01; 2026-01-01…03
    Festival("春节", "Spring Festival", (-1, 0, 1, 2), (-2, 8)),  # 2026-02-15 (初一-2); 2020-02-02
    Festival("清明节", "Tomb-sweeping Day", (0,), (-2, 2)),  # 2022-04-03 (清明-2); 2020-04-06
    Festival("劳动节", "Labour Day", (0, 1), (-2, 4)),  # 2023-04-29; 2020–2026 breaks to 05-05
    Festival("端午节", "Dragon Boat Festival", (0,), (-2, 2)),  # 2021-06-12; 2020-06-27
    Festival("中秋节", "Mid-autumn Festival", (0,), (-2, 2)),  # 2021-09-19; 2022-09-12
    Festival("国庆节", "National Day", (0, 1, 2), (-1, 7)),  # 2023-09-30; 2020/2025-10-08
)


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidValue(
            f"no festival dates for {year}: the fallback calendar covers {FIRST_YEAR}–{LAST_YEAR}"
        )


@functools.lru_cache(maxsize=512)
def _anchors(year: int) -> dict[str, dt.date]:
    _check_year(year)

    def lunar(month: int, day: int) -> dt.date:
        solar: dt.date = LunarDate(year, month, day).to_solar_date()
        return solar

    qingming = [
        day
        for day, term in chinese_calendar.get_solar_terms(dt.date(year, 4, 1), dt.date(year, 4, 30))
        if term == "清明"
    ]
    return {
        "元旦": dt.date(year, 1, 1),
        "春节": lunar(1, 1),
        "清明节": qingming[0],
        "劳动节": dt.date(year, 5, 1),
        "端午节": lunar(5, 5),
        "中秋节": lunar(8, 15),
        "国庆节": dt.date(year, 10, 1),
    }


def statutory_holidays(year: int) -> dict[dt.date, str]:
    """The 13 days off the 2024 law fixes for `year`, with the festival each belongs to."""
    return {
        festival.anchor(year) + dt.timedelta(days=k): festival.name
        for festival in FESTIVALS
        for k in festival.statutory
    }


@functools.lru_cache(maxsize=512)
def rest_days(year: int) -> frozenset[dt.date]:
    """Every day the fallback keeps free for the festivals of `year`.

    Some may fall in `year - 1`: the 元旦 window starts on 30 December (the 2019 notice, for
    instance, gave 2018-12-31 off).
    """
    return frozenset(day for festival in FESTIVALS for day in festival.window_days(year))


def is_rest_day(day: dt.date) -> bool:
    """Whether the fallback treats `day` as a day off: a weekend, or inside a festival window."""
    if day.weekday() >= 5:
        return True
    # Windows reach back at most a few days into the previous year, never forward.
    return day in rest_days(day.year) or (day.month == 12 and day in rest_days(day.year + 1))


def festival_of(day: dt.date) -> str | None:
    """The festival whose window holds `day` (None for an ordinary day), for explanations."""
    for year in (day.year, day.year + 1):
        for festival in FESTIVALS:
            if day in festival.window_days(year):
                return festival.name
    return None
