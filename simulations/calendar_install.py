"""The operator installs the year's official schedule mid-run (fault kind `calendar_install`).

Why: the node rechecks every provisional date at start-up (`regions.core.timer.recheck_calendar`)
but a run never had provisional dates — the simulated year, 2026, is in `chinesecalendar`'s data.
Under this fault some regions start on the calendar *as it was known before the 2026 notice*
(`KNOWN_THEN`: the package only up to 2025, so every 2026 date is reckoned on the conservative
fallback and recorded provisional), and at a drawn instant during the workload each of them
"installs the official schedule" the way an operator does: new rules and a restart. The schedule
installed (`INSTALLED`) is the package's 2026 arrangement plus a one-off week off (`ONE_OFF`,
13–17 April) that no fallback can foresee and a Saturday worked for it (`WORKED`, 7 March, 调休),
so the recheck both keeps recorded dates the official schedule makes earlier (15 working days
from early March end a day sooner) and moves dates later (30 working days end past the week
off) — the edge `calendar_install_moved_later`.

The oracle (`installed_no_earlier`, independent of the node: its own day rule and reckoning from
`simulations.oracles`): at a region that installed at instant T, no recorded date moved earlier,
every recomputed date is no earlier than the installed schedule gives from its start, and no
clock fires after T (a deadline flagged missed, a follow-up overdue, a waiting limit run out)
before the installed schedule's date for it — a date the recheck forgot would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

import chinese_calendar

from domain import invariants as inv
from domain.calendar import PACKAGE_LAST_DAY, HolidayFile, WorkingCalendar
from domain.deadlines import (
    DeadlineCleared,
    DeadlineMissed,
    DeadlinePaused,
    DeadlineRecomputed,
    DeadlineSet,
    met_of,
)
from domain.holidays import fallback
from domain.kernel import Decider, Event, NeedsAttentionRaised, fold
from domain.limits import RegionLimits, Rules
from domain.protocols.casework_events import (
    FollowUpClosed,
    FollowUpOpened,
    FollowUpOverdue,
    FollowUpRecomputed,
)
from domain.protocols.transfer_waiting import (
    TransferWaitingTimerSet,
    WaitingTimerRecomputed,
    waiting_of,
)
from domain.reckoning import WaitingLimit
from simulations import checkers, oracles

if TYPE_CHECKING:
    from simulations.workload import Workload
    from simulations.world import World

KIND = "calendar_install"
YEAR = PACKAGE_LAST_DAY.year
#: The package's data as it stood before the notice for `YEAR`.
KNOWN_THEN_YEAR = YEAR - 1
#: A one-off week off in the installed schedule (the fallback keeps none in mid-April) ...
ONE_OFF = frozenset(dt.date(YEAR, 4, d) for d in range(13, 18))
#: ... and a Saturday worked in exchange (调休).
WORKED = frozenset({dt.date(YEAR, 3, 7)})
LABEL = f"sim-{YEAR}.json"
#: The 差评 follow-up limit the simulated regions run with (`domain.limits` default: 15 WD).
FOLLOW_UP_WORKING_DAYS = 15


def _installed_file() -> HolidayFile:
    days = [dt.date(YEAR, 1, 1) + dt.timedelta(days=k) for k in range(366)]
    days = [d for d in days if d.year == YEAR]
    worked = {d for d in days if chinese_calendar.is_workday(d)}
    holidays = {d for d in days if d.weekday() < 5 and d not in worked} | ONE_OFF
    workdays = {d for d in days if d.weekday() >= 5 and d in worked} | WORKED
    return HolidayFile(YEAR, "the simulated official notice (package data, 7 March worked, "
                       "13–17 April off)",
                       frozenset(holidays), frozenset(workdays), f"{LABEL}@sim")


KNOWN_THEN = WorkingCalendar(package_last_year=KNOWN_THEN_YEAR)
INSTALLED = WorkingCalendar((_installed_file(),), package_last_year=KNOWN_THEN_YEAR)


def rules(region: str, calendar: WorkingCalendar) -> Rules:
    return Rules(calendar, RegionLimits(region=region))


# --------------------------------------------------------------------------- the oracle's days


def _known_then_day(day: dt.date) -> bool:
    return not fallback.is_rest_day(day) if day.year > KNOWN_THEN_YEAR else oracles.working(day)


def _installed_day(day: dt.date) -> bool:
    return day in WORKED or (day not in ONE_OFF and oracles.working(day))


#: The installed label first: a version naming it is on the installed schedule.
oracles.CALENDARS[LABEL] = _installed_day
oracles.CALENDARS[f"-until-{KNOWN_THEN_YEAR}"] = _known_then_day


# --------------------------------------------------------------------------- the fault


@dataclass
class Installs:
    """The regions that start on `KNOWN_THEN`, and the instant (their local time) each
    installed the official schedule."""

    regions: frozenset[str]
    done: dict[str, dt.datetime] = field(default_factory=dict)


def choose(world: World, codes: tuple[str, ...]) -> Installs | None:
    """About half the regions (at least one) start on `KNOWN_THEN`; None without the fault."""
    if not world.plan.active(KIND):
        return None
    rng = world.sched.rng(KIND)
    chosen = [c for c in sorted(codes) if rng.random() < 0.5] or [rng.choice(sorted(codes))]
    return Installs(frozenset(chosen))


def starting_rules(world: World, code: str) -> Rules | None:
    """The rules a region starts with: `KNOWN_THEN` if it installs later, else the node's own."""
    installs = world.installs
    return rules(code, KNOWN_THEN) if installs and code in installs.regions else None


def start(world: World, span: dt.timedelta) -> None:
    """Each chosen region installs at an instant drawn inside the workload's span, so that dates
    are recorded both before and after."""
    installs = world.installs
    if installs is None:
        return
    rng = world.sched.rng(f"{KIND}:when")
    for code in sorted(installs.regions):
        world.sched.after(span * rng.uniform(0.1, 0.8), KIND,
                          partial(install, world, installs, code))


def install(world: World, installs: Installs, code: str) -> None:
    """The operator installs the schedule and restarts the node (its start-up recheck runs)."""
    sim = world.regions[code]
    sim.region.rules = rules(code, INSTALLED)
    world.crash(code)
    installs.done[code] = world.local_now(code)
    world.plan.injected[KIND] = world.plan.injected.get(KIND, 0) + 1
    rechecked = sim.region.timer.rechecked  # committed during the restart, before the hook
    for case_id in dict.fromkeys(r.case_id for r in rechecked):
        view = sim.region.node.side(case_id)
        if view is not None:
            world.committed(sim, view, [r.event for r in rechecked if r.case_id == case_id])
    moved = [r for r in rechecked if r.event.due_at > r.event.previous_due_at]
    world.edges["calendar_install_moved_later"] += len(moved)


# --------------------------------------------------------------------------- the oracle


@lru_cache(maxsize=8192)
def installed_due(start: dt.datetime, amount: int, unit: str, rest_rule: bool) -> dt.datetime:
    return oracles.expected_due(start, amount, unit, rest_rule, LABEL)


def _clock(at: dt.datetime, recorded: DeadlineSet | WaitingLimit) -> dt.datetime | None:
    """The installed schedule's date for what was recorded at `at` (None: its basis names
    none)."""
    limit = oracles.reckoned(recorded)
    if limit is None:
        return None
    return installed_due(at, *limit, rest_rule=oracles.REST_LAST_DAY in recorded.basis)


def side_violations(case_id: str, region: str, since: dt.datetime, events: list[Event],
                    official: dict[str, dt.datetime | None] | None = None,
                    ) -> list[inv.Violation]:
    """One side at a region that installed the schedule at `since` (see the module doc).
    `official`: each clock's date on the installed schedule, as the side's events before
    `events` left it (updated with them; none given: no clock yet)."""
    found: list[inv.Violation] = []
    official = {} if official is None else official  # clock -> the installed schedule's date

    def bad(what: str, detail: str) -> None:
        found.append(inv.Violation(case_id, "calendar_install", f"{region} {what}: {detail}"))

    for e in events:
        if isinstance(e, DeadlineSet):
            official[e.step] = _clock(e.at, e)
        elif (waiting := waiting_of(e)) is not None:
            official["~waiting"] = _clock(e.at, waiting)
        elif isinstance(e, FollowUpOpened) and e.due_at is not None:
            official["~follow_up"] = installed_due(e.at, FOLLOW_UP_WORKING_DAYS, "working", False)
        elif isinstance(e, (DeadlineCleared, DeadlinePaused)):
            official.pop(e.step, None)
        elif isinstance(e, FollowUpClosed):
            official.pop("~follow_up", None)
        for step in met_of(e):  # a step the event meets (issue 17's rows): its clear
            official.pop(step, None)
        recomputed = _recomputed(e)
        if recomputed is not None:
            key, due, previous = recomputed
            want = official.get(key)
            if due < previous or (want is not None and due < want):
                bad(key, f"recomputed to {due.isoformat()}, was {previous.isoformat()}, the "
                         f"installed schedule gives {want.isoformat() if want else '-'}")
        fired = _fired(e)
        if fired is not None and e.at >= since:
            want = official.get(fired)
            if want is not None and e.at < want:
                bad(fired, f"fired at {e.at.isoformat()}, before {want.isoformat()}, the "
                           "installed schedule's date for it")
    return found


def _recomputed(e: Event) -> tuple[str, dt.datetime, dt.datetime] | None:
    if isinstance(e, DeadlineRecomputed):
        return e.step, e.due_at, e.previous_due_at
    if isinstance(e, WaitingTimerRecomputed):
        return "~waiting", e.due_at, e.previous_due_at
    if isinstance(e, FollowUpRecomputed):
        return "~follow_up", e.due_at, e.previous_due_at
    return None


def _fired(e: Event) -> str | None:
    """Which clock `e` says ran out: a deadline missed, a follow-up overdue, a waiting limit
    (the waiting timer's lapse or its call for a person)."""
    if isinstance(e, DeadlineMissed):
        return e.step
    if isinstance(e, FollowUpOverdue):
        return "~follow_up"
    if (e.actor.kind == "system" and e.actor.id == "waiting_timer"
            and not isinstance(e, TransferWaitingTimerSet)):
        return "~waiting"
    return None


def still_provisional(case_id: str, region: str, decider: Decider[Any], since: dt.datetime,
                      events: list[Event]) -> list[inv.Violation]:
    """Every date still in force when the region installed the schedule at `since` — a running
    deadline, a transfer's waiting timer, an open follow-up — was reckoned on the fallback, so the
    restart must record it again (moved later, or confirmed official). Which dates were in force
    is read from the events alone; only whether the side had ended asks its decider's fold."""
    before = [e for e in events if e.at < since]
    state = fold(decider, before)
    ended = state is not None and decider.is_terminal(state)
    live: set[str] = set()
    for e in before:
        if isinstance(e, DeadlineSet):
            live.add(e.step)
        elif isinstance(e, (DeadlineCleared, DeadlinePaused, DeadlineMissed)):
            live.discard(e.step)
        elif waiting_of(e) is not None:
            live.add("~waiting")
        elif isinstance(e, NeedsAttentionRaised):
            live.discard("~waiting")
        elif isinstance(e, FollowUpOpened) and e.due_at is not None:
            live.add("~follow_up")
        elif isinstance(e, (FollowUpOverdue, FollowUpClosed)):
            live.discard("~follow_up")
        live.difference_update(met_of(e))  # a step the event meets (issue 17's rows)
    if ended:
        live &= {"~follow_up"}
    rechecked = {found[0] for e in events if e.at >= since
                 and (found := _recomputed(e)) is not None}
    return [inv.Violation(case_id, "calendar_install",
                          f"{region} {clock}: still the fallback's date after the official "
                          "schedule was installed (no recheck recorded)")
            for clock in sorted(live - rechecked)]


def installed_no_earlier(world: World, workload: Workload, case_id: str) -> list[inv.Violation]:
    """The sides at each region that installed the schedule. Each event is judged once, when
    it is new (or when its region installs), against the clocks the side's events before it
    set (carried from step to step) and the install's instant, which is set once: later
    events change neither. At the end every side again, and what was still provisional."""
    installs = world.installs
    if installs is None or not installs.done:
        return []
    found = []
    for (cid, region), events, official in checkers.unjudged(
            world, "installed_no_earlier", case_id, regions=installs.done):
        since = installs.done[region]
        found += side_violations(cid, region, since, events, official)
        view = world.regions[region].region.node.side(cid)
        if world.checks.final and view is not None:
            decider = world.regions[region].region.node.protocols[view.process].decider
            found += still_provisional(cid, region, decider, since, events)
    return found


checkers.CASE_CHECKS.append(installed_no_earlier)
