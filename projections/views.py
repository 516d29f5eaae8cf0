"""One region's read models, kept in memory: cases by number, the work queue, supervision,
a joint case's two sides and their agreement, reconciliation.

Why in memory for now: each view is a pure fold of the region's side events (`cases.apply`),
so a node rebuilds them from its own store at start-up by tailing its log from position 0
(the same tailer as the relay and the feed) and keeps them current from then on; the simulator
and the tests feed them directly. Durable tables with a tracking row are the next step for
stores too large to replay at start-up (issue 12).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from domain.kernel import Decider
from projections.cases import CaseView, apply
from projections.joint import Agreement, agreement
from projections.reconciliation import Reconciliation, reconcile
from projections.records import SideEvent

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class QueueEntry:
    case_number: str
    process: str
    role: str
    status: str
    status_text: str
    due_at: dt.datetime | None
    overdue: bool
    needs_attention: bool


@dataclass(frozen=True)
class Supervision:
    """One region's figures: what a supervisor reads first."""

    received: int
    completed: int
    open: int
    overdue: int
    needs_attention: int
    on_time_rate: float | None  # finished cases that never missed a deadline / finished cases
    median_days: float | None  # submission to finish, calendar days (finished cases)
    p90_days: float | None
    handling_days: tuple[float, ...]
    by_process: Mapping[str, int]


class Views:
    """The region's case views; `feed` takes side events in commit order (idempotent)."""

    def __init__(self, deciders: Mapping[str, Decider[Any]]) -> None:
        self.deciders = deciders
        self.cases: dict[str, CaseView] = {}
        self._numbers: dict[str, str] = {}
        self.position = 0

    def feed(self, records: Iterable[SideEvent]) -> None:
        for record in records:
            decider = self.deciders.get(record.process)
            if decider is None:
                continue  # a process this node does not run: nothing to show
            view = apply(self.cases.get(record.case_id), record, decider)
            self.cases[record.case_id] = view
            self._numbers[record.case_number] = record.case_id
            self.position = max(self.position, record.position)

    def case(self, case_number: str) -> CaseView | None:
        case_id = self._numbers.get(case_number)
        return None if case_id is None else self.cases[case_id]

    def queue(self, *, include_done: bool = False) -> list[QueueEntry]:
        """What waits for this region: open cases, the most urgent first."""
        entries = [
            QueueEntry(v.case_number, v.process, v.role, v.status, v.status_text,
                       v.deadline.due_at if v.deadline else None, bool(v.overdue),
                       v.needs_attention)
            for v in self.cases.values() if include_done or not v.terminal]
        far = dt.datetime.max.replace(tzinfo=dt.UTC)
        return sorted(entries, key=lambda e: (not e.needs_attention, not e.overdue,
                                              e.due_at or far, e.case_number))

    def agreement(self, case_number: str, counterparts: Sequence[CaseView] = (),
                  ) -> Agreement | None:
        """This region's side beside the counterparts' views given (all of them: `complete`)."""
        view = self.case(case_number)
        if view is None:
            return None
        return agreement([view, *counterparts], complete=bool(counterparts))

    def reconciliation(self, region: str, start: dt.datetime, end: dt.datetime) -> Reconciliation:
        return reconcile(self.cases.values(), region, start, end)

    def monthly_on_time(self) -> list[tuple[str, float]]:
        """On-time rate of the cases finished in each month (Asia/Shanghai), oldest first."""
        months: dict[str, list[bool]] = {}
        for v in self.cases.values():
            if v.terminal and v.finished_at is not None:
                month = v.finished_at.astimezone(SHANGHAI).strftime("%Y-%m")
                months.setdefault(month, []).append(not v.overdue)
        return [(m, sum(ok) / len(ok)) for m, ok in sorted(months.items())]

    def supervision(self, where: Callable[[CaseView], bool] = lambda v: True) -> Supervision:
        views = [v for v in self.cases.values() if where(v)]
        finished = [v for v in views if v.terminal and v.submitted_at and v.finished_at]
        days = sorted((v.finished_at - v.submitted_at).total_seconds() / 86400  # type: ignore[operator]
                      for v in finished)
        on_time = [v for v in finished if not v.overdue]
        by_process: dict[str, int] = {}
        for v in views:
            by_process[v.process] = by_process.get(v.process, 0) + 1
        return Supervision(
            received=len(views), completed=sum(v.status == "completed" for v in views),
            open=sum(not v.terminal for v in views),
            overdue=sum(bool(v.overdue) and not v.terminal for v in views),
            needs_attention=sum(v.needs_attention for v in views),
            on_time_rate=len(on_time) / len(finished) if finished else None,
            median_days=statistics.median(days) if days else None,
            p90_days=days[min(len(days) - 1, int(0.9 * len(days)))] if days else None,
            handling_days=tuple(days), by_process=by_process)
