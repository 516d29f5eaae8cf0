"""Past the official data: the conservative statutory fallback (issue 15, item 3)."""

from __future__ import annotations

import datetime as dt

from domain.calendar import CHINA, WorkingCalendar

D = dt.date


def last_day(calendar: WorkingCalendar, start: D, n: int) -> D:
    """The n-th working day after `start`: the day before the exclusive due instant."""
    due = calendar.working_days_after(start, n).due_at
    return (due - dt.timedelta(microseconds=1)).astimezone(CHINA).date()


def test_fifteen_working_days_from_21_december_2026_skip_new_year_2027() -> None:
    assert last_day(WorkingCalendar(), D(2026, 12, 21), 15) >= D(2027, 1, 13)


def test_fifteen_working_days_from_28_january_2027_skip_the_spring_festival() -> None:
    assert last_day(WorkingCalendar(), D(2027, 1, 28), 15) >= D(2027, 2, 23)
