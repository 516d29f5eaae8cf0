"""The quarterly report against figures computed by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.kernel import InvalidValue
from projections.cases import CaseView
from projections.report import SHANGHAI, Row, quarter_period, quarterly, render


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=SHANGHAI)


def case(n: int, opened: dt.datetime, finished: dt.datetime | None = None, *,
         status: str = "completed", overdue: tuple[str, ...] = (), role: str = "destination",
         item: str = "b1-7", mode: str = "joint") -> CaseView:
    return CaseView(f"id{n}", f"150600-20261001-00000000{n:02d}", "pension_transfer", "150600",
                    role=role, item_id=item, mode=mode, status=status if finished else "accepted",
                    terminal=finished is not None, overdue=overdue, opened_at=opened,
                    finished_at=finished)


def test_the_quarter_runs_from_the_previous_cutoff_to_the_25th() -> None:
    assert quarter_period("2026Q4") == (at(9, 26, 0), at(12, 26, 0))
    assert quarter_period("2027q1") == (at(12, 26, 0), at(3, 26, 0, year=2027))
    with pytest.raises(InvalidValue):
        quarter_period("2026Q5")


def test_a_hand_computed_quarter() -> None:
    cases = [
        case(1, at(10, 1), at(10, 3)),                          # 2 days, on time
        case(2, at(10, 1), at(10, 5), overdue=("review",)),     # 4 days, late
        case(3, at(10, 1), at(10, 11)),                         # 10 days, on time
        case(4, at(12, 20), None, overdue=("review",)),         # open and overdue
        case(5, at(9, 25, 23), at(10, 2, 23)),                  # opened last quarter, 7 days
        case(6, at(12, 25, 23), None),                          # the last hour of the quarter
        case(7, at(12, 26, 0), None),                           # next quarter: not counted
        case(8, at(11, 1), at(11, 2), status="withdrawn"),      # finished, not completed
        case(9, at(10, 2), at(10, 4), role="origin", item="", mode="", status="transferred_out"),
    ]
    start, end = quarter_period("2026Q4")
    rows = quarterly(cases, start, end)
    assert rows == [
        Row("b1-7", "joint", "destination", received=6, completed=4, finished=5, on_time=4,
            on_time_rate=0.8, median_days=4.0, p90_days=10.0, overdue_open=1),
        Row("pension_transfer", "-", "origin", received=1, completed=0, finished=1, on_time=1,
            on_time_rate=1.0, median_days=2.0, p90_days=2.0, overdue_open=0),
    ]
    csv_text = render(rows, "csv", region="150600", quarter="2026Q4")
    assert csv_text.splitlines()[1] == "b1-7,joint,destination,6,4,5,4,0.8,4.0,10.0,1,,,0,,0,0,0"
    assert "| b1-7 | joint | destination | 6 |" in render(rows, "md", region="150600",
                                                          quarter="2026Q4")


def test_the_days_after_the_cutoff_belong_to_the_next_quarter() -> None:
    from projections.report import quarter_of

    assert quarter_of(at(12, 25, 23)) == "2026Q4"
    assert quarter_of(at(12, 26, 1)) == "2027Q1"
    assert quarter_of(at(3, 26, 1)) == "2026Q2"
    assert quarter_of(at(9, 25, 1)) == "2026Q3"


def test_working_days_ratings_and_follow_ups_by_hand() -> None:
    """November 2026 has no holiday: Mon 2nd -> Fri 6th is 4 working days (3rd..6th), Fri 6th
    -> Mon 9th is 1 (the weekend does not count), Mon 2nd -> Mon 16th is 10; p90 of three is
    the largest. Ratings 5, 4 and 1 average 3.33; the 1 is a 差评 whose follow-up is overdue."""
    from dataclasses import replace

    from domain.calendar import WorkingCalendar

    cases = [
        replace(case(1, at(11, 2), at(11, 6)), ratings=(5,)),
        replace(case(2, at(11, 6), at(11, 9)), ratings=(4,)),
        replace(case(3, at(11, 2), at(11, 16)), ratings=(1,), follow_up="overdue"),
        replace(case(4, at(11, 3), None), follow_up="closed"),
    ]
    start, end = quarter_period("2026Q4")
    (row,) = quarterly(cases, start, end, WorkingCalendar.with_files())
    assert (row.median_working_days, row.p90_working_days) == (4.0, 10.0)
    assert (row.median_days, row.p90_days) == (4.0, 14.0)
    assert (row.ratings, row.rating_avg, row.poor_ratings) == (3, 3.33, 1)
    assert (row.follow_ups_open, row.follow_ups_overdue) == (1, 1)
