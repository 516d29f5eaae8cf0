"""`Rules` (DeadlineRules): a region's deadline arithmetic over its calendar and its limits.

Why apart from the table (`domain.statutes`: the statutory maxima, a region's configured limits,
the waiting limits): this is where a limit becomes a date — reckoned on the region's working
calendar, past a rest day when the period is in calendar days, with its escalation instant and
its basis text — and where clock stops resume. Every deadline a protocol records is made here.

Clock stops: while a step waits for the applicant its statutory clock stops. `remaining_days`
counts what is left (working days for a working-day limit, calendar days otherwise — a month
limit, once stopped, resumes as the calendar days it had left) and `resume` grants exactly that
from the resume instant, so a pause never shortens the time granted.

The table's names are importable from here too for the modules that always have
(`regions.runtime.bootstrap`, `regions.adapters.brokers.retention`,
`simulations.calendar_install`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from domain.calendar import FALLBACK_TAG, Reckoned, WorkingCalendar, china_date
from domain.deadlines import DeadlineSpec
from domain.kernel import InvalidValue
from domain.reckoning import REST_DAY_NOTE, WARNING_NOTE, Reckoning, Unit, basis_text
from domain.statutes import (
    DEFAULT_WAITING_FALLBACK,
    DEFAULT_WAITING_LIMITS,
    STATUTORY,
    UNIT_NAMES,
    Limit,
    RegionLimits,
)

#: `Rules`, and the table's names the modules above import from here.
__all__ = [
    "DEFAULT_WAITING_FALLBACK",
    "DEFAULT_WAITING_LIMITS",
    "RECKONED",
    "STATUTORY",
    "RegionLimits",
    "Rules",
]


def _resume_unit(limit: Limit) -> Unit:
    return "working_days" if limit.unit == "working_days" else "calendar_days"


#: How many reckonings a `Rules` keeps (a node's recent instants × steps; cleared when full).
RECKONED = 4096


@dataclass(frozen=True)
class Rules:
    """A region's deadline arithmetic: `domain.deadlines.DeadlineRules` over its calendar."""

    calendar: WorkingCalendar
    region_limits: RegionLimits = field(default_factory=RegionLimits)
    #: `recompute`'s answers by (reckoning, basis): a pure function of the two on this
    #: calendar (frozen), asked again for each case of a node's batch, which shares one `now`.
    #: The start's zone is in the key: datetimes of one instant in two zones are equal, but the
    #: spec carries the reckoning as asked (recorded by `DeadlineSet`, `WaitingLimit`).
    _reckoned: dict[tuple[Reckoning, Any, str], DeadlineSpec] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)
    #: `deadline_for`'s and `waiting_limit`'s answers by their arguments (the start's zone
    #: too): the limits are frozen like the calendar, and finding the limit, writing its basis
    #: and making the reckoning cost more than the reckoning kept above (issue 17: a transfer
    #: asks once or twice a decision).
    _asked: dict[tuple[str, str, str, dt.datetime, Any], DeadlineSpec] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def deadline_for(self, process: str, step: str, start: dt.datetime) -> DeadlineSpec | None:
        key = ("deadline", process, step, start, start.tzinfo)
        kept = self._asked.get(key)
        if kept is not None:
            return kept
        found = self.region_limits.limit_for(process, step)
        if found is None:
            return None
        limit, basis = found
        return self._keep(key, self.recompute(Reckoning(limit.unit, limit.amount, start), basis))

    def remaining_days(self, process: str, step: str, due_at: dt.datetime, now: dt.datetime) -> int:
        """Days left at `now` for a step due at `due_at`, in its resume unit (0 once due)."""
        limit = self._limit(process, step)
        if _resume_unit(limit) == "working_days":
            return self.calendar.working_days_between(now, due_at).days
        return self.calendar.calendar_days_between(now, due_at).days

    def resume(
        self, process: str, step: str, start: dt.datetime, remaining_days: int
    ) -> DeadlineSpec:
        """Restart a stopped clock at `start` with the days it had left."""
        limit = self._limit(process, step)
        if (
            isinstance(remaining_days, bool)
            or not isinstance(remaining_days, int)
            or remaining_days < 0
        ):
            raise InvalidValue(
                f"remaining days must be a non-negative integer, got {remaining_days!r}"
            )
        unit = _resume_unit(limit)
        found = self.region_limits.limit_for(process, step)
        assert found is not None
        left = f"{remaining_days} {UNIT_NAMES[unit][1]}"
        basis = f"resumed after a clock stop with {left} left; {found[1]}"
        return self.recompute(Reckoning(unit, remaining_days, start), basis)

    def waiting_limit(self, process: str, state: str, start: dt.datetime) -> DeadlineSpec:
        """A waiting state's limit. A period in calendar days whose last day is a rest day
        (法定休假日, or a weekend not worked) ends on the next working day instead (民法典 第二百
        零三条: "期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日")."""
        key = ("waiting", process, state, start, start.tzinfo)
        kept = self._asked.get(key)
        if kept is not None:
            return kept
        limit, basis = self.region_limits.waiting_limit_for(process, state)
        return self._keep(key, self.recompute(
            Reckoning(limit.unit, limit.amount, start, limit.unit == "calendar_days"), basis))

    def _keep(self, key: tuple[str, str, str, dt.datetime, Any],
              spec: DeadlineSpec) -> DeadlineSpec:
        if len(self._asked) >= RECKONED:
            self._asked.clear()
        self._asked[key] = spec
        return spec

    def recompute(self, reckoning: Reckoning, basis: str) -> DeadlineSpec:
        """The date `reckoning` gives on this calendar, with `basis` (its calendar notes
        written afresh). Every spec is made here, first time or again: what the recheck of a
        provisional date asks once official data is installed (`domain.deadlines.recheck`).
        Kept by its arguments (at most `RECKONED` of them; issue 17: 15–40 µs a reckoning)."""
        key = (reckoning, reckoning.start.tzinfo, basis)
        found = self._reckoned.get(key)
        if found is not None:
            return found
        due = self._reckon(reckoning.unit, reckoning.start, reckoning.count)
        text = basis_text(basis)
        if reckoning.rest_day_rule:
            due, text = self._past_rest_day(due, text)
        spec = self._spec(due, text, reckoning)
        if len(self._reckoned) >= RECKONED:
            self._reckoned.clear()
        self._reckoned[key] = spec
        return spec

    # ----------------------------------------------------------------------- helpers

    def _limit(self, process: str, step: str) -> Limit:
        found = self.region_limits.limit_for(process, step)
        if found is None:
            raise InvalidValue(
                f"{process}/{step} has no time limit, so no clock to stop or resume",
                code="no_time_limit",
            )
        return found[0]

    def _past_rest_day(self, due: Reckoned, basis: str) -> tuple[Reckoned, str]:
        """A period in calendar days whose last day is a rest day ends on the next working day.

        Whether the last day is worked is itself a question to the calendar: answered by the
        fallback, the end is provisional (an official schedule may yet give that day off)."""
        last = china_date(due.due_at - dt.timedelta(microseconds=1))
        if self.calendar.is_working_day(last):
            if self.calendar.day_source(last) == "fallback":
                due = replace(due, calendar_version=f"{self.calendar.calendar_version}+{FALLBACK_TAG}",
                              fallback_from=last)
            return due, basis
        return self.calendar.working_days_after(last, 1), (
            f"{basis}{REST_DAY_NOTE}{last.isoformat()} is a rest day, so it ends on the next "
            "working day (民法典 第二百零三条)")

    def _reckon(self, unit: Unit, start: dt.datetime, amount: int) -> Reckoned:
        if unit == "working_days":
            return self.calendar.add_working_days(start, amount)
        if unit == "calendar_days":
            return self.calendar.add_calendar_days(start, amount)
        return self.calendar.add_calendar_months(start, amount)

    def _spec(self, due: Reckoned, basis: str, reckoning: Reckoning) -> DeadlineSpec:
        """Add the escalation instant: counted from the last day of the period."""
        escalation = self.region_limits.escalation_after
        last_day = china_date(due.due_at - dt.timedelta(microseconds=1))
        if escalation.unit == "working_days":
            escalate = self.calendar.working_days_after(last_day, escalation.amount)
        else:
            escalate = self.calendar.add_calendar_days(
                due.due_at - dt.timedelta(microseconds=1), escalation.amount
            )
        # Report the fallback if either reckoning needed it (the due date's first).
        reckoned = due if due.fallback_from is not None else escalate
        if reckoned.fallback_from is not None:
            basis = f"{basis}{WARNING_NOTE}{reckoned.warning}]"
        return DeadlineSpec(
            due_at=due.due_at,
            escalate_at=escalate.due_at,
            basis=basis,
            calendar_version=reckoned.calendar_version,
            reckoning=reckoning,
        )
