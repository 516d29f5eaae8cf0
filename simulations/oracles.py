"""Independent oracles: the simulator's judges that do not ask the code they judge.

Why: a checker that validates a due time with the function that computed it passes a wrong due
time (issue 16). These recompute from first principles — the statutory table written out here,
the `chinese_calendar` package and the statutory fallback directly — and look at outcomes the
protocols' own invariants do not name (an honest counterpart's message refused, a person with
no residence at quiescence, a terminal destination facing an origin still waiting).
"""

from __future__ import annotations

import calendar as gregorian
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import chinese_calendar

from domain import invariants as inv
from domain.deadlines import DeadlineRecomputed, DeadlineSet
from domain.holidays import fallback
from domain.kernel import CounterpartEventRejected, Event, NeedsAttentionRaised
from domain.protocols.household_events import MovePermitIssued
from domain.reckoning import WaitingLimit
from simulations import checkers

if TYPE_CHECKING:
    from simulations.workload import Workload
    from simulations.world import World

CHINA = ZoneInfo("Asia/Shanghai")
#: The statutory limits the simulator knows by heart (reference/domain.md): (amount, unit).
STATUTE: dict[tuple[str, str], tuple[int, str]] = {
    ("pension_transfer", "contact_letter"): (15, "working"),
    ("pension_transfer", "transfer_out"): (15, "working"),
    ("pension_transfer", "completion"): (15, "working"),
    ("institution_enterprise_pension_transfer", "transfer_out"): (15, "working"),  # 7号
    ("institution_enterprise_pension_transfer", "completion"): (15, "working"),
    ("pension_scheme_switch", "contact_letter"): (15, "working"),  # 人社部发〔2014〕17号
    ("pension_scheme_switch", "transfer_out"): (15, "working"),
    ("pension_scheme_switch", "completion"): (15, "working"),
    ("unemployment_transfer", "contact_letter"): (5, "working"),
    ("unemployment_transfer", "transfer_out"): (5, "working"),
    ("unemployment_transfer", "funds_remittance"): (1, "calendar_month"),
    ("medical_transfer", "transfer_out"): (10, "working"),
    ("medical_transfer", "transfer_in"): (5, "working"),
}
PERMIT_DAYS = 40  # 准迁证: 40 calendar days from issue (公安部 户口迁移证件签发管理)
_LIMIT = re.compile(r"(\d+) (working|calendar) (day|month)s?")
_RESUMED = re.compile(r"^resumed after a clock stop with (\d+) (working|calendar) days? left")
REST_LAST_DAY = "is a rest day, so it ends on the next working day"
#: Calendars other than the package's official data a simulated node may reckon on, by a mark in
#: the recorded `calendar_version`, as day -> worked: the world's truth for them, registered by
#: the fault that installs them (`simulations.calendar_install`). "" is the package's.
CALENDARS: dict[str, Callable[[dt.date], bool]] = {}


def calendar_of(calendar_version: str) -> str:
    """The key of the calendar a recorded date was reckoned on ("": the official package)."""
    return next((key for key in CALENDARS if key in calendar_version), "")


@lru_cache(maxsize=8192)
def working(day: dt.date, calendar: str = "") -> bool:
    """Official data where the package has it, the statutory fallback beyond — and for the last
    days of a known year while the next is unknown, whose 元旦 notice may give them off (the
    2019 notice gave 2018-12-31): those fall inside the next year's fallback window. A
    `calendar` key (`CALENDARS`) asks that calendar instead."""
    if calendar:
        return CALENDARS[calendar](day)
    try:
        official = bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return not fallback.is_rest_day(day)
    if day.month == 12 and not _known(day.year + 1) and day in fallback.rest_days(day.year + 1):
        return False
    return official


@lru_cache(maxsize=64)
def _known(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=CHINA)


@lru_cache(maxsize=8192)
def after_working_days(day: dt.date, n: int, calendar: str = "") -> dt.date:
    while n:
        day += dt.timedelta(days=1)
        n -= working(day, calendar)
    return day


def expected_due(start: dt.datetime, amount: int, unit: str, rest_rule: bool,
                 calendar: str = "") -> dt.datetime:
    """Pure in its arguments; the reckoning itself is cached by day (`_due_from_day`)."""
    return _due_from_day(start.astimezone(CHINA).date(), amount, unit, rest_rule, calendar)


@lru_cache(maxsize=8192)
def _due_from_day(day: dt.date, amount: int, unit: str, rest_rule: bool,
                  calendar: str = "") -> dt.datetime:
    if unit == "working":
        return _end_of(after_working_days(day, amount, calendar))
    if unit == "calendar_month":
        month = day.year * 12 + day.month - 1 + amount
        year, m = divmod(month, 12)
        last = dt.date(year, m + 1, min(day.day, gregorian.monthrange(year, m + 1)[1]))
        return _end_of(last)
    last = day + dt.timedelta(days=amount)
    if rest_rule and not working(last, calendar):
        last = after_working_days(last, 1, calendar)
    return _end_of(last)


def reckoned(event: DeadlineSet | WaitingLimit) -> tuple[int, str] | None:
    found = _RESUMED.match(event.basis) or _LIMIT.search(event.basis)
    if found is None:
        return None
    amount, unit = int(found.group(1)), found.group(2)
    if unit == "calendar" and (len(found.groups()) > 2 and found.group(3) == "month"):
        unit = "calendar_month"
    return amount, unit


def deadline_violations(case_id: str, region: str, process: str, events: list[Event],
                        held: dict[str, dt.datetime] | None = None) -> list[inv.Violation]:
    """Each recorded deadline is its statutory limit reckoned from its start; a recomputed one
    (the official calendar installed) moves only later than the one it replaces. `held`: the
    deadline each step held before `events` (updated with them; none given: none held)."""
    found = []
    held = {} if held is None else held
    for event in events:
        if isinstance(event, DeadlineRecomputed):
            before = held.get(event.step, event.previous_due_at)
            if event.previous_due_at != before or event.due_at < before:
                found.append(inv.Violation(case_id, "deadline_recomputed_earlier",
                                           f"{region} {event.step}: recomputed to "
                                           f"{event.due_at.isoformat()}, the deadline was "
                                           f"{before.isoformat()}"))
            held[event.step] = max(event.due_at, before)
            continue
        if isinstance(event, MovePermitIssued):
            due = _end_of(event.at.astimezone(CHINA).date() + dt.timedelta(days=PERMIT_DAYS))
            if event.expires_at != due:
                found.append(inv.Violation(case_id, "permit_40_days",
                                           f"{region} permit expires {event.expires_at.isoformat()}"
                                           f", 40 calendar days from issue is {due.isoformat()}"))
        if not isinstance(event, DeadlineSet):
            continue
        held[event.step] = event.due_at
        limit = reckoned(event)
        if limit is None:
            found.append(inv.Violation(case_id, "deadline_basis",
                                       f"{region} {event.step}: basis names no limit: {event.basis}"))
            continue
        statute = STATUTE.get((process, event.step))
        if statute is not None and not event.basis.startswith("resumed") and limit != statute:
            found.append(inv.Violation(case_id, "deadline_statute",
                                       f"{region} {process}/{event.step}: {limit} where the "
                                       f"statute says {statute}"))
            limit = statute
        due = expected_due(event.at, *limit, rest_rule=REST_LAST_DAY in event.basis,
                           calendar=calendar_of(event.calendar_version))
        if event.due_at != due:
            found.append(inv.Violation(case_id, "deadline_reckoning",
                                       f"{region} {event.step}: due {event.due_at.isoformat()}, "
                                       f"{limit[0]} {limit[1]} from {event.at.isoformat()} is "
                                       f"{due.isoformat()}"))
    return found


def deadlines(world: World, workload: Workload, case_id: str) -> list[inv.Violation]:
    """Each event is judged once, when it is new: a recorded deadline against its own start and
    basis, a recomputed one against the deadline the side's earlier events held (carried from
    step to step), and neither judgement changes when later events come."""
    found = []
    for (cid, region), events, held in checkers.unjudged(world, "deadlines", case_id):
        view = world.regions[region].region.node.side(cid)
        process = view.process if view is not None else ""
        found += deadline_violations(cid, region, process, events, held)
    return found


def honest_counterparts(world: World, workload: Workload, case_id: str) -> list[inv.Violation]:
    """Between honest nodes no counterpart event is ever refused: a refusal means one side
    sent what the other's protocol does not allow (a broken two-phase, a skipped step). Under
    the hostile_peer fault only the rogue's messages are excused — the honest ones are still
    judged (before, the whole oracle went quiet whenever the fault was on). Each refusal is
    judged once, when it is new: it is one event, and the rogue is chosen before the run."""
    rogue = world.hostile.rogue if world.hostile is not None else None
    return [inv.Violation(case_id, "counterpart_rejected",
                          f"{region} refused {event.event_type} from {event.from_region}: "
                          f"{event.reason}")
            for (_, region), events, _ in checkers.unjudged(world, "honest_counterparts",
                                                            case_id)
            for event in events if isinstance(event, CounterpartEventRejected)
            and event.from_region != rogue]


def residence_at_quiescence(world: World, workload: Workload) -> list[inv.Violation]:
    """At the end every person has one 户口, or is explicitly in transit. The sides are those
    of the regions that committed on the case (`checkers.regions_of`): asking every region's
    node read the store for each side it does not have, twice."""
    nodes = {code: sim.region.node for code, sim in world.regions.items()}
    states = [view.state for case_id in workload.cases_started
              for code in checkers.regions_of(world, case_id)
              if (view := nodes[code].side(case_id)) is not None]
    return inv.single_residence(world.checks.registers, quiescent=True,
                                in_transit=inv.persons_in_transit(states))


def terminal_against_waiting(world: World, workload: Workload) -> list[inv.Violation]:
    """A terminal accepting side facing a counterpart that is still waiting after quiescence:
    the pair check skips it, so judge it here. A counterpart resting in needs_attention is
    judged too when its own deadline timer raised it (`gave_up_waiting`): every waiting state
    has such a limit, so a counterpart the accepting side never told how the case ended does
    not wait for ever — it asks for a person, and skipping needs_attention hid exactly that bug
    (a destination completing without concluding with its origin passed every check)."""
    found = []
    for case_id in workload.cases_started:
        sides = checkers.summaries(world, case_id)
        primary = next((s for s in sides if s.region == workload.first_region.get(case_id)), None)
        if primary is None or not primary.terminal:
            continue
        events = world.checks.events_of(case_id)
        for other in sides:
            if other is primary or other.region not in primary.peer_regions or other.terminal:
                continue
            if other.needs_attention and not gave_up_waiting(events.get((case_id, other.region),
                                                                        [])):
                continue
            found.append(inv.Violation(case_id, "terminal_pairs",
                                       f"{primary.process}: {primary.role} {primary.region} "
                                       f"{primary.status} while {other.role} {other.region} "
                                       f"still {other.status}"))
    return found


#: The system actors of a side's own limits: the waiting limit and the deadline escalation.
TIMERS = ("waiting_timer", "deadline_timer")


def gave_up_waiting(events: list[Event]) -> bool:
    """The side's latest needs_attention was raised by its own deadline timer (a wait that ran
    out), not by a refused message or a money mismatch, which do need a person."""
    raised = next((e for e in reversed(events) if isinstance(e, NeedsAttentionRaised)), None)
    return raised is not None and raised.actor.kind == "system" \
        and raised.actor.id in TIMERS


def pooled_reference_fen(years: list[tuple[int, int]],
                         year_of: list[int] | None = None) -> int:
    """The pooled part by hand: 12 % of each year's wage (base × months, in fen, summed over a
    year's lines when it has several bases), rounded half-up to the fen per year in integers,
    then summed (国办发〔2009〕66号 第五条)."""
    wages: dict[int, int] = {}
    for index, (months, base) in enumerate(years):
        key = year_of[index] if year_of is not None else index
        wages[key] = wages.get(key, 0) + base * months
    return sum((wage * 12 + 50) // 100 for wage in wages.values())


def money(world: World, workload: Workload, case_id: str) -> list[inv.Violation]:
    """Every pension info sheet's pooled part equals the reference; every sheet adds up. Each
    sheet is judged once, when it is new: the judgement reads that one event."""
    found = []
    for (cid, region), events, _ in checkers.unjudged(world, "money", case_id):
        for event in events:
            if event.TYPE != "InfoSheetIssued":
                continue
            sheet = event.sheet  # type: ignore[attr-defined]
            amounts = {c.name: c.amount_fen for c in sheet.components}
            paid = [y for y in sheet.years if y.kind == "paid" and y.year >= 1998]
            if "pooled" in amounts and sheet.years:  # deemed, refunded, pre-1998: no pool
                want = pooled_reference_fen([(y.months, y.monthly_base_fen) for y in paid],
                                            [y.year for y in paid])
                if amounts["pooled"] != want:
                    found.append(inv.Violation(cid, "pooled_reference",
                                               f"{region} issued pooled {amounts['pooled']} fen; "
                                               f"the reference says {want}"))
                if sheet.months != sum(y.months for y in sheet.years if y.kind != "refunded"):
                    found.append(inv.Violation(cid, "pooled_reference",
                                               f"{region} sheet months {sheet.months} differ "
                                               "from its years"))
    return found


def completed_on_exact_funds(world: World, workload: Workload,
                             case_id: str) -> list[inv.Violation]:
    """A destination completes only when each origin's credits add up, to the fen, to what its
    info sheet states (summed here from the bank notices less any excess it returned, not from
    the decider's matching; a corrected sheet replaces the first). Each completion is judged
    once, when it is new, against the sheets and credits recorded before it (carried from
    step to step), which later events do not change."""
    found = []
    for (cid, region), events, (stated, credited) in checkers.unjudged(
            world, "completed_on_exact_funds", case_id, lambda: ({}, {})):
        for event in events:
            if event.TYPE in ("InfoSheetReceived", "InfoSheetCorrectionReceived"):
                stated[event.from_region] = event.sheet.amount_fen  # type: ignore[attr-defined]
            elif event.TYPE == "FundsReceived":
                origin = event.from_region  # type: ignore[attr-defined]
                credited[origin] = credited.get(origin, 0) + event.amount_fen  # type: ignore[attr-defined]
            elif event.TYPE == "ExcessReturned":  # sent back beyond the sheet (issue 15)
                origin = event.to_region
                credited[origin] = credited.get(origin, 0) - event.amount_fen  # type: ignore[attr-defined]
            elif event.TYPE == "TransferCompleted":
                for origin, amount in sorted(stated.items()):
                    if credited.get(origin, 0) != amount:
                        found.append(inv.Violation(cid, "completed_on_exact_funds",
                                                   f"{region} completed with {credited.get(origin, 0)}"
                                                   f" fen from {origin}, whose sheet states {amount}"))
    return found


def takeover_timing(world: World, workload: Workload, case_id: str) -> list[inv.Violation]:
    """Where the relationship moves on the info sheet (unemployment, medical), the destination
    takes it over the moment the last sheet arrives, never waiting for the money, and never
    completes without it. Each take-over and completion is judged once, when it is new,
    against the sheets, take-over and withdrawal recorded before it (carried from step to
    step), which later events do not change."""
    found = []
    for (cid, region), events, seen in checkers.unjudged(world, "takeover_timing", case_id,
                                                         _Takeover):
        node = world.regions[region].region.node
        view = node.side(cid)
        spec = getattr(node.protocols[view.process].decider, "spec", None) if view else None
        if not getattr(spec, "relationship_on_sheet", False):
            continue
        for event in events:
            if event.TYPE == "ApplicationWithdrawn":
                # A withdrawal a transfer-out overtook (issue 15, item 6): the destination holds
                # the take-over back while withdrawing and opens the relationship on completion.
                seen.withdrawing = True
            elif seen.withdrawing:
                if event.TYPE == "TransferCompleted" and not seen.taken and not getattr(
                        event, "opens_relationship", False):
                    found.append(inv.Violation(cid, "takeover_timing",
                                               f"{region} completed an overtaken withdrawal "
                                               "without opening the relationship"))
                continue
            if event.TYPE == "InfoSheetReceived":
                seen.last_sheet = event.at
            elif event.TYPE == "RelationshipTakenOver":
                seen.taken = True
                if seen.last_sheet is None or event.at != seen.last_sheet:
                    found.append(inv.Violation(cid, "takeover_timing",
                                               f"{region} took over at {event.at.isoformat()}, "
                                               f"the last info sheet came at {seen.last_sheet}"))
            elif event.TYPE == "TransferCompleted" and not seen.taken:
                found.append(inv.Violation(cid, "takeover_timing",
                                           f"{region} completed without taking over first"))
    return found


@dataclass
class _Takeover:
    """What `takeover_timing` has seen of a destination's events so far."""

    last_sheet: dt.datetime | None = None
    taken: bool = False
    withdrawing: bool = False


#: Faults that lose, delay or reorder a message, or a node's memory of one: only under these
#: may a receiver ever need to ask for a re-send.
LOSSY = ("drop", "duplicate", "reorder", "delay", "partition", "crash_after_commit",
         "crash_before_ack", "crash_mid_transaction", "redeliver", "dedup_expired",
         "stream_recreated", "acks_lost", "stored_lost", "publish_fails", "hostile_peer")


def resends_only_after_loss(world: World, workload: Workload) -> list[inv.Violation]:
    """A re-send request in a run where nothing was lost or delayed means a side skipped."""
    if world.resend_requests and not any(world.plan.injected.get(k) for k in LOSSY):
        return [inv.Violation("-", "needless_resend",
                              f"{world.resend_requests} re-send requests in a run that lost "
                              "and delayed nothing")]
    return []


def relay_never_skips(world: World, workload: Workload) -> list[inv.Violation]:
    """The relay hands every link message to the network in order, retrying a publish that
    failed: one it skipped reaches its receiver only through a re-send request, which any lossy
    fault excuses, so `resends_only_after_loss` cannot see it (a read position moved before the
    publish succeeded did exactly that)."""
    return [inv.Violation("-", "relay_skipped",
                          f"{origin}->{destination} at {when.isoformat()}: link_seq {seq} handed "
                          f"on after {last}; the relay never published {last + 1}..{seq - 1}")
            for origin, destination, last, seq, when in world.relay_skips]


def timers_obeyed(world: World, workload: Workload) -> list[inv.Violation]:
    """A protocol never refuses what its own timer asks for: a refusal means the timer and the
    decider disagree about the rules (the timer refuses an expired 准迁证 that the decider still
    calls valid) and the case sits at a deadline nobody acts on."""
    return [inv.Violation(case_id, "timer_refused", f"{region} at {when.isoformat()}: {error}")
            for region, case_id, when, error in world.timer_refusals]


checkers.CASE_CHECKS.extend([deadlines, honest_counterparts, money, completed_on_exact_funds,
                             takeover_timing])
checkers.FINAL_CHECKS.extend([residence_at_quiescence, terminal_against_waiting,
                              resends_only_after_loss, relay_never_skips, timers_obeyed])

# The household move's oracles (a permit's expiry, the point of no return) have their own
# module (oracles.py is long enough); importing it registers their checks after the others.
from simulations import household_oracles  # noqa: E402, F401
