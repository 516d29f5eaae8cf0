"""The quarterly report the plan asks of each region (季度报送), from its case views.

The period: the plan's reports are due at each quarter's end, so a quarter's figures run from
the previous report's cut-off to the 25th of the quarter's last month, in Asia/Shanghai —
2026Q4 covers 2026-09-26 00:00 to 2026-12-25 24:00 (Beijing time). A case counts in the quarter
it was opened in this region (`received`); it counts as completed in the quarter it finished
in. One row per item (the process where this side does not know the item: a counterpart's
side), mode and role: a joint case counts once per participating region, by role.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from zoneinfo import ZoneInfo

from domain.calendar import WorkingCalendar
from domain.kernel import InvalidValue
from projections.cases import CaseView, ordinary

SHANGHAI = ZoneInfo("Asia/Shanghai")
COLUMNS = ("item", "mode", "role", "received", "completed", "finished", "on_time",
           "on_time_rate", "median_days", "p90_days", "overdue_open", "median_working_days",
           "p90_working_days", "ratings", "rating_avg", "poor_ratings", "follow_ups_open",
           "follow_ups_overdue")
POOR_RATING = 2  # 差评: 1 or 2 of 5 (domain.protocols.casework)


@dataclass(frozen=True)
class Row:
    item: str
    mode: str
    role: str
    received: int
    completed: int
    finished: int
    on_time: int
    on_time_rate: float | None
    median_days: float | None
    p90_days: float | None
    overdue_open: int
    #: Handling time in working days (Chinese statutory calendar), when a calendar is given.
    median_working_days: float | None = None
    p90_working_days: float | None = None
    #: 好差评 given to this region for the group's cases, their average, the 差评 among them,
    #: and the 差评 follow-ups (整改) still open or past their due date.
    ratings: int = 0
    rating_avg: float | None = None
    poor_ratings: int = 0
    follow_ups_open: int = 0
    follow_ups_overdue: int = 0


def quarter_period(quarter: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a quarter such as "2026Q4", as aware datetimes in Asia/Shanghai."""
    found = re.fullmatch(r"(\d{4})[Qq]([1-4])", quarter.strip())
    if found is None:
        raise InvalidValue(f"quarter must look like 2026Q4, got {quarter!r}", field="quarter")
    year, q = int(found.group(1)), int(found.group(2))

    def cutoff(y: int, quarter_no: int) -> dt.datetime:  # the 26th 00:00 after the 25th
        return dt.datetime(y, 3 * quarter_no, 26, tzinfo=SHANGHAI)

    start = cutoff(year - 1, 4) if q == 1 else cutoff(year, q - 1)
    return start, cutoff(year, q)


def quarter_of(moment: dt.datetime) -> str:
    """The report quarter a moment falls in (after the 25th of a quarter's last month: the next)."""
    local = moment.astimezone(SHANGHAI)
    for candidate in (f"{local.year}Q{(local.month - 1) // 3 + 1}",
                      f"{local.year + 1}Q1" if local.month >= 10 else
                      f"{local.year}Q{(local.month - 1) // 3 + 2}"):
        start, end = quarter_period(candidate)
        if start <= local < end:
            return candidate
    raise AssertionError(f"no quarter holds {moment}")


def _within(moment: dt.datetime | None, start: dt.datetime, end: dt.datetime) -> bool:
    return moment is not None and start <= moment < end


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def quarterly(cases: Iterable[CaseView], start: dt.datetime, end: dt.datetime,
              calendar: WorkingCalendar | None = None) -> list[Row]:
    groups: dict[tuple[str, str, str], list[CaseView]] = {}
    for view in ordinary(cases):  # consultations are answered, not handled
        if _within(view.opened_at, start, end) or _within(view.finished_at, start, end):
            key = (view.item_id or view.process, view.mode or "-", view.role)
            groups.setdefault(key, []).append(view)
    rows = []
    for (item, mode, role), views in sorted(groups.items()):
        finished = [v for v in views if v.terminal and _within(v.finished_at, start, end)]
        days = [(v.finished_at - v.opened_at).total_seconds() / 86400  # type: ignore[operator]
                for v in finished if v.opened_at is not None]
        on_time = sum(not v.overdue for v in finished)
        work = [float(calendar.working_days_between(v.opened_at, v.finished_at).days)
                for v in finished if calendar and v.opened_at and v.finished_at]
        scores = [score for v in views for score in v.ratings]
        rows.append(Row(
            item, mode, role, received=sum(_within(v.opened_at, start, end) for v in views),
            completed=sum(v.status == "completed" for v in finished), finished=len(finished),
            on_time=on_time, on_time_rate=round(on_time / len(finished), 4) if finished else None,
            median_days=round(statistics.median(days), 2) if days else None,
            p90_days=round(_p90(days), 2) if days else None,
            overdue_open=sum(bool(v.overdue) and not v.terminal for v in views),
            median_working_days=statistics.median(work) if work else None,
            p90_working_days=_p90(work) if work else None,
            ratings=len(scores), rating_avg=round(statistics.mean(scores), 2) if scores else None,
            poor_ratings=sum(score <= POOR_RATING for score in scores),
            follow_ups_open=sum(v.follow_up in ("open", "overdue") for v in views),
            follow_ups_overdue=sum(v.follow_up == "overdue" for v in views)))
    return rows


def render(rows: list[Row], fmt: str, *, region: str, quarter: str) -> str:
    if fmt == "json":
        return json.dumps({"region": region, "quarter": quarter,
                           "rows": [asdict(r) for r in rows]}, ensure_ascii=False, indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([["" if v is None else v for v in asdict(r).values()] for r in rows])
        return out.getvalue()
    if fmt == "md":
        head = f"# {region} {quarter} 跨省通办季度报表\n\n| " + " | ".join(COLUMNS) + " |\n"
        head += "|" + "---|" * len(COLUMNS) + "\n"
        return head + "".join("| " + " | ".join("—" if v is None else str(v)
                                                 for v in asdict(r).values()) + " |\n"
                              for r in rows)
    raise InvalidValue(f"format must be csv, json or md, got {fmt!r}", field="format")
