"""One region's read models: cases by number, the work queue, supervision, a joint case's two
sides and their agreement, reconciliation.

Each view is a pure fold of the region's side events (`cases.apply`). `Views` keeps the folds in
memory (the simulator, the tests, and a node on the memory store, which replays its log at
start-up); a node on SQLite or PostgreSQL keeps them in view tables with their tracking position
(`regions.adapters.stores.views`) and reads them through the same `CaseViews` interface. The
figures (`queue_of`, `supervise`, `monthly_on_time`) are functions of the views alone, so both
kinds compute them with the same code.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from domain.kernel import Decider
from projections.cases import CaseView, fold, ordinary
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


class CaseViews(Protocol):
    """What the pages, the JSON API and the reports read: in memory (`Views`) or in view
    tables (`regions.adapters.stores.views.DurableViews`)."""

    @property
    def cases(self) -> Mapping[str, CaseView]: ...

    def case(self, case_number: str) -> CaseView | None: ...

    def queue(self, *, include_done: bool = False) -> list[QueueEntry]: ...

    def agreement(self, case_number: str, counterparts: Sequence[CaseView] = (),
                  ) -> Agreement | None: ...

    def reconciliation(self, region: str, start: dt.datetime,
                       end: dt.datetime) -> Reconciliation: ...

    def monthly_on_time(self) -> list[tuple[str, float]]: ...

    def supervision(self, where: Callable[[CaseView], bool] = ...) -> Supervision: ...


class Views:
    """The region's case views; `feed` takes side events in commit order (idempotent)."""

    def __init__(self, deciders: Mapping[str, Decider[Any]]) -> None:
        self.deciders = deciders
        self.cases: dict[str, CaseView] = {}
        self._numbers: dict[str, str] = {}
        self.position = 0

    def feed(self, records: Iterable[SideEvent]) -> None:
        """Fold `records` into the views: each case's records of the batch together
        (`cases.fold`, the same views as `apply` one by one: `test_view_batch_fold.py`), the
        view copied once per case and batch rather than after every event (VIEWS3)."""
        runs: dict[str, list[SideEvent]] = {}
        for record in records:
            if record.process not in self.deciders:
                continue  # a process this node does not run: nothing to show
            run = runs.get(record.case_id)
            if run is None:
                runs[record.case_id] = [record]
            else:
                run.append(record)
            self._numbers[record.case_number] = record.case_id
            self.position = max(self.position, record.position)
        for case_id, run in runs.items():
            self.cases[case_id] = fold(self.cases.get(case_id), run,
                                       self.deciders[run[0].process])

    def case(self, case_number: str) -> CaseView | None:
        case_id = self._numbers.get(case_number)
        return None if case_id is None else self.cases[case_id]

    def queue(self, *, include_done: bool = False) -> list[QueueEntry]:
        return queue_of(self.cases.values(), include_done=include_done)

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
        return monthly_on_time(self.cases.values())

    def supervision(self, where: Callable[[CaseView], bool] = lambda v: True) -> Supervision:
        return supervise(v for v in self.cases.values() if where(v))


def queue_entry(v: CaseView) -> QueueEntry:
    return QueueEntry(v.case_number, v.process, v.role, v.status, v.status_text,
                      v.deadline.due_at if v.deadline else None, bool(v.overdue),
                      v.needs_attention)


def queue_of(views: Iterable[CaseView], *, include_done: bool = False) -> list[QueueEntry]:
    """What waits for this region: open cases, the most urgent first."""
    entries = [queue_entry(v) for v in views if include_done or not v.terminal]
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(entries, key=lambda e: (not e.needs_attention, not e.overdue,
                                          e.due_at or far, e.case_number))


def monthly_on_time(views: Iterable[CaseView]) -> list[tuple[str, float]]:
    """On-time rate of the cases finished in each month (Asia/Shanghai), oldest first."""
    months: dict[str, list[bool]] = {}
    for v in ordinary(views):
        if v.terminal and v.finished_at is not None:
            month = v.finished_at.astimezone(SHANGHAI).strftime("%Y-%m")
            months.setdefault(month, []).append(not v.overdue)
    return [(m, sum(ok) / len(ok)) for m, ok in sorted(months.items())]


def supervise(chosen: Iterable[CaseView]) -> Supervision:
    """The handling figures of the cases chosen (consultations left out: `cases.ordinary`)."""
    views = list(ordinary(chosen))
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
