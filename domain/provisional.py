"""Provisional deadlines: which coming days lack official data, and what a recheck would change.

Why: past the official holiday data `domain.calendar` reckons on a conservative fallback, and
marks the result provisional (`calendar_version` ends in "+fallback", `is_provisional`). Two
questions follow, both answered here as pure functions so the node can ask them on its own clock:

- **Coverage** (`official_coverage`): does official data cover the days deadlines are being
  counted over now? The node's readiness and metrics warn when the next 60 days have a day
  without it — the operator should install the year's official schedule as a holiday file.
- **Recheck** (`recheck`): once the official schedule is installed, would a recorded due date
  move? A deadline recorded for good may only ever move **later** (an applicant or a counterpart
  may have relied on it; a step flagged late against an earlier date would be wrongly flagged).
  A recomputation that comes out earlier is reported and never applied. With the conservative
  fallback a later result means the official schedule went beyond what the fallback foresaw
  (a one-off holiday), or the record was reckoned on the old Monday–Friday guess.

The rule itself is `judge`, the one place it is written: `recheck` below asks it for one recorded
working-day deadline (operators' tools), and `domain.deadlines.recheck` for every date a side
recorded (its deadlines, a transfer's waiting timer, a 差评 follow-up), which the node's start-up
recheck (`regions.core.timer`) records as events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from domain.calendar import Reckoned, WorkingCalendar, china_date, is_provisional
from domain.kernel import InvalidValue

DEFAULT_HORIZON_DAYS = 60


@dataclass(frozen=True)
class Coverage:
    """The days `first`…`last` (the horizon) and those of them without official data."""

    first: dt.date
    last: dt.date
    missing: tuple[dt.date, ...]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def first_missing(self) -> dt.date | None:
        return self.missing[0] if self.missing else None

    @property
    def warning(self) -> str:
        if self.complete:
            return ""
        return (
            f"no official holiday data for {len(self.missing)} of the days "
            f"{self.first.isoformat()}…{self.last.isoformat()} (from "
            f"{self.missing[0].isoformat()}): deadlines over them are provisional; "
            "install the year's official schedule as a holiday file"
        )


def official_coverage(
    calendar: WorkingCalendar,
    today: dt.date | dt.datetime,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> Coverage:
    """Which of the `horizon_days` days after `today` no official data decides.

    `today` is a local (Asia/Shanghai) date, or an aware instant converted to one. The horizon
    starts the day after `today`, as a reckoning does (the start day never counts), and a day
    counts as missing when `calendar.day_source` gives it to the fallback — including the last
    days of December while the next year's 元旦 is unknown.
    """
    if isinstance(today, dt.datetime):
        today = china_date(today)
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise InvalidValue(f"horizon must be a positive number of days, got {horizon_days!r}")
    days = [today + dt.timedelta(days=k) for k in range(1, horizon_days + 1)]
    missing = tuple(day for day in days if calendar.day_source(day) == "fallback")
    return Coverage(days[0], days[-1], missing)


@dataclass(frozen=True)
class RecordedDeadline:
    """What a `DeadlineSet` recorded for a working-day limit, and how it was reckoned.

    `start` and `working_days` are the reckoning's input (for a resumed clock: the resume instant
    and the days that were left); `basis` is carried through for the operator's report.
    """

    start: dt.datetime
    working_days: int
    due_at: dt.datetime
    calendar_version: str
    basis: str = ""

    @property
    def provisional(self) -> bool:
        return is_provisional(self.calendar_version)


Verdict = Literal["unchanged", "later", "earlier"]


@dataclass(frozen=True)
class Judgement:
    """The one rule for a recorded date reckoned again (`judge`).

    `verdict` compares the recomputed date with the recorded one; `due_at` is the date that
    holds (the recomputed one only when later); `record` says whether the side records the
    recomputation: when it moves the date later, or when it was made on official data alone
    (the date stops being provisional, and an earlier official date is kept beside it for the
    operator). A recomputation still on the fallback that does not move the date waits.
    """

    verdict: Verdict
    due_at: dt.datetime
    record: bool


def judge(recorded_due_at: dt.datetime, recomputed_due_at: dt.datetime,
          recomputed_provisional: bool) -> Judgement:
    """Only later: a date somebody may have relied on is never taken back."""
    if recomputed_due_at > recorded_due_at:
        return Judgement("later", recomputed_due_at, True)
    verdict: Verdict = "earlier" if recomputed_due_at < recorded_due_at else "unchanged"
    return Judgement(verdict, recorded_due_at, not recomputed_provisional)


@dataclass(frozen=True)
class Recheck:
    """The recomputation of a recorded deadline on today's calendar, and what to do with it.

    `verdict` "later": move the deadline to `recomputed.due_at` (record it); "earlier": report
    only, the recorded date stands; "unchanged": nothing to do. `due_at` is the date that holds.
    `still_provisional` says the recomputation itself still crossed fallback days.
    """

    recorded: RecordedDeadline
    recomputed: Reckoned
    judgement: Judgement

    @property
    def verdict(self) -> Verdict:
        return self.judgement.verdict

    @property
    def apply(self) -> bool:
        return self.verdict == "later"

    @property
    def due_at(self) -> dt.datetime:
        return self.judgement.due_at

    @property
    def shift_days(self) -> int:
        """Calendar days from the recorded to the recomputed due date (negative: earlier)."""
        return (china_date(self.recomputed.due_at) - china_date(self.recorded.due_at)).days

    @property
    def still_provisional(self) -> bool:
        return self.recomputed.provisional


def recheck(recorded: RecordedDeadline, calendar: WorkingCalendar) -> Recheck:
    """Recompute `recorded` on `calendar` and say whether the due date would move, and where.

    Only a later date is ever to be applied; an earlier one is reported (`verdict` "earlier").
    """
    recomputed = calendar.add_working_days(recorded.start, recorded.working_days)
    return Recheck(recorded, recomputed,
                   judge(recorded.due_at, recomputed.due_at, recomputed.provisional))
