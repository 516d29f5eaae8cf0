"""The dashboard's ratings, joint-case issues and money figures, from case views alone."""

from __future__ import annotations

import datetime as dt

from api.web.charts import rating_bars
from api.web.dashboard import fen_as_yuan, joint_issues, ratings
from projections.cases import CaseView

AT = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


def view(number: str, **fields: object) -> CaseView:
    return CaseView(case_id=number, case_number=number, process="pension_transfer",
                    region="150600", **fields)  # type: ignore[arg-type]


def test_ratings_count_average_and_poor_ones_with_their_follow_up() -> None:
    found = ratings([view("A", ratings=(5,)), view("B", ratings=(1,), follow_up="closed"),
                     view("C", ratings=(2,), follow_up="overdue"), view("D"),
                     view("E", ratings=(4, 2), follow_up="open")])
    assert found.count == 5
    assert found.average == (5 + 1 + 2 + 4 + 2) / 5
    assert found.by_score == (1, 2, 0, 1, 1)
    assert found.good_share == 2 / 5
    # Overdue follow-ups first, then open ones, closed last.
    assert [(p.case_number, p.score, p.follow_up_text) for p in found.poor] == [
        ("C", 2, "整改逾期"), ("E", 2, "整改中"), ("B", 1, "已整改")]


def test_no_ratings_have_no_average() -> None:
    found = ratings([view("A")])
    assert (found.count, found.average, found.good_share, found.poor) == (0, None, None, ())


def test_joint_cases_needing_staff_are_listed_with_the_reason_single_region_ones_are_not() -> None:
    issues = joint_issues([
        view("J1", role="destination", status="funds_mismatch", status_text="资金不符",
             needs_attention=True, peers=("610800",)),
        view("J2", role="destination", status="submitted", peers=("610800",)),
        view("S1", needs_attention=True, status="x")])
    assert [i.case_number for i in issues] == ["J1"]
    assert not issues[0].disagreed and "needs attention" in issues[0].reasons[0]


def test_money_reads_in_yuan_with_the_sign_of_a_shortfall() -> None:
    assert fen_as_yuan(1234567) == "12,345.67" and fen_as_yuan(-5) == "-0.05"


def test_the_rating_chart_is_a_named_image() -> None:
    svg = rating_bars((0, 1, 0, 2, 5))
    assert 'role="img"' in svg and 'aria-label="好差评分布"' in svg
