"""How a recorded date was counted (`Reckoning`), so that it can be counted again.

Why a structured value: when the operator installs a year's official schedule, every date a side
recorded over days the fallback decided (`domain.calendar.is_provisional`) is reckoned again
(`domain.deadlines.recheck`). That needs the reckoning's input — the unit, how many, from when,
and whether a last rest day moves the end on (民法典 第二百零三条) — not the prose of `basis`.
`DeadlineSet`, `WaitingLimit` (and the older `TransferWaitingTimerSet`) and `FollowUpOpened`
carry it.

Records stored before the field existed still load: `from_basis` reads the same facts back from
the basis text `domain.limits` has always written (the upcasters of `DeadlineSet` and
`TransferWaitingTimerSet` call it, with the event's own instant as the start). None for a basis
this project did not write: such a date is never reckoned again.

Pure: no clock, no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

Unit = Literal["working_days", "calendar_days", "calendar_months"]

#: The basis texts `domain.limits` and `domain.statutes` write (`resume`, `limit_for`, `waiting_limit_for`).
_RESUMED = re.compile(r"^resumed after a clock stop with (\d+) (working|calendar) days? left")
_LIMIT = re.compile(r": (\d+) (working|calendar) (day|month)s?\b")
#: The calendar's notes `domain.limits` appends after the reckoning's own text.
WARNING_NOTE = " [warning: "
REST_DAY_NOTE = "; its last day "


@dataclass(frozen=True)
class Reckoning:
    """`count` `unit` from `start`; with `rest_day_rule` a period in calendar days whose last day
    is a rest day ends on the next working day instead (a waiting limit, 民法典 第二百零三条)."""

    unit: Unit
    count: int
    start: dt.datetime
    rest_day_rule: bool = False


@dataclass(frozen=True)
class WaitingLimit:
    """The waiting limit of the status an event starts (`Rules.waiting_limit`): past `due_at`
    the wait ends (a lapse, or a person is needed). The status event itself carries it (its
    `waiting` field), so no row of its own follows each status; it is recorded, never derived
    again at fold time: a calendar installed later moves it only by an event of its own
    (`WaitingTimerRecomputed`). `waiting_state`: the wait's name (`Lapse.step`)."""

    waiting_state: str
    due_at: dt.datetime
    basis: str
    calendar_version: str
    reckoning: Reckoning | None = None


def basis_text(basis: str) -> str:
    """The basis without the calendar's notes (fallback warning, rest-day extension)."""
    return basis.split(WARNING_NOTE, 1)[0].split(REST_DAY_NOTE, 1)[0]


def from_basis(basis: str, start: dt.datetime) -> Reckoning | None:
    """The reckoning a basis written by `domain.limits` describes, from `start`; None when the
    basis names none (a record this project did not write)."""
    text = basis_text(basis)
    resumed = _RESUMED.match(text)
    if resumed is not None:
        unit: Unit = "working_days" if resumed.group(2) == "working" else "calendar_days"
        return Reckoning(unit, int(resumed.group(1)), start)
    found = _LIMIT.search(text)
    if found is None:
        return None
    count, kind, span = int(found.group(1)), found.group(2), found.group(3)
    units: dict[str, Unit] = {"day": "calendar_days", "month": "calendar_months"}
    unit = "working_days" if kind == "working" else units[span]
    waiting = " waiting in " in text[: found.start() + 1]
    return Reckoning(unit, count, start, waiting and unit == "calendar_days")


def upcast_from_basis(data: dict[str, Any]) -> dict[str, Any]:
    """A stored payload from before `reckoning` (schema v1) → v2: the reckoning read from its
    basis, from the event's own instant (what every v1 writer reckoned from)."""
    found = from_basis(str(data.get("basis", "")), dt.datetime.fromisoformat(str(data["at"])))
    reckoning = None if found is None else {
        "unit": found.unit, "count": found.count, "start": data["at"],
        "rest_day_rule": found.rest_day_rule}
    return {**data, "reckoning": reckoning}
