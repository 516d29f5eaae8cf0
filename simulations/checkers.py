"""The simulator's judges: the domain's invariant checkers over every region's sides.

The world feeds every committed side event here as it happens (`Observations.record`), so the checks
after each step look only at the touched cases and fold each event once. At the end everything
is judged again, with the registers of every region, the link positions (nothing lost) and
liveness.

How to add a check (oracles, projections): write `check(world, workload, case_id) -> violations`
and append it to `CASE_CHECKS` — it runs after every step on each case that step touched, and
once more at the end on every case — or `check(world, workload) -> violations` to
`FINAL_CHECKS`, which run once at the end. A case check must cost about the case, not the run
(read the case's own events with `world.checks.events_of(case_id)`), or the simulator slows
down with every case it has seen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from domain import invariants as inv
from domain.kernel import Event, SideSummary
from domain.protocols.casework_events import ANNOTATIONS
from domain.protocols.transfer import REPEATABLE_WIRE_TYPES
from domain.registers import RegisterEntry, evolve_register
from simulations.shared_folds import SharedFolds

if TYPE_CHECKING:
    from simulations.workload import Workload
    from simulations.world import World

ABSENT = "absent"
#: The event types a transition watch lets annotate a side (`inv.TransitionWatch`), made once.
ANNOTATING = frozenset(ANNOTATIONS)
#: One origin transferring out while another refused is the outcome reference §1 inv. 4 forbids.
TRANSFERRED_OUT = frozenset({"InfoSheetIssued"})
REFUSED_OUT = frozenset({"TransferOutRefused"})
OUTCOME_WORDS = (("completed", "completed"), ("settled", "completed"), ("rejected", "rejected"),
                 ("refused", "refused"), ("denied", "refused"), ("withdrawn", "withdrawn"),
                 ("lapsed", "lapsed"), ("closed", "closed"), ("needs_attention", "needs_attention"))


@dataclass
class Observations:
    """What the checkers know of the run: every side's events and every register change."""

    side_events: dict[tuple[str, str], list[Event]] = field(default_factory=lambda: defaultdict(list))
    watches: dict[tuple[str, str], inv.TransitionWatch] = field(default_factory=dict)
    register_log: list[tuple[str, Event]] = field(default_factory=list)
    registers: dict[tuple[str, str, str], RegisterEntry] = field(default_factory=dict)
    violations: list[inv.Violation] = field(default_factory=list)
    #: `side_events` by case: the same lists, found without scanning every side of the run.
    by_case: dict[str, dict[tuple[str, str], list[Event]]] = field(
        default_factory=lambda: defaultdict(dict))
    #: Per check, how many of each side's events it has judged (checks whose judgement of an
    #: event never changes look at the new ones only; see `oracles.deadlines`).
    judged: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    #: Per check, what it carries from each side's judged events to its next ones (`unjudged`).
    carried: dict[str, dict[tuple[str, str], Any]] = field(default_factory=dict)
    #: True during the final check: every check judges everything again.
    final: bool = False
    #: Each side's summary with the state it summarises (`summary_of`).
    summaries: dict[tuple[str, str], tuple[Any, SideSummary]] = field(default_factory=dict)
    #: The incremental event checks of each side and case (`record`).
    steps: dict[tuple[str, str], inv.StepCounts] = field(default_factory=dict)
    deadlines: dict[tuple[str, str], inv.DeadlineWatch] = field(default_factory=dict)
    outcomes: dict[str, tuple[set[str], set[str]]] = field(default_factory=dict)
    #: `by_case` in side order, per case (`sides`).
    ordered: dict[str, list[tuple[tuple[str, str], list[Event]]]] = field(default_factory=dict)
    #: The transition check's folds, taken by the live views in the same step (`shared_folds`).
    folds: SharedFolds = field(default_factory=SharedFolds)

    def record(self, world: World, region: str, case_id: str, process: str,
               events: list[Event]) -> None:
        """Keep the side's new events and judge them with the checks whose judgement of an
        event never changes once later events come (`judge`)."""
        key = (case_id, region)
        self.side_events[key].extend(events)
        self.by_case[case_id][key] = self.side_events[key]
        watch = self.watches.get(key)
        if watch is None:
            transitions = world.regions[region].region.specs[process].transitions
            decider = self.folds.making(
                world.regions[region].region.node.protocols[process].decider)
            watch = self.watches[key] = inv.TransitionWatch(
                case_id, region, decider, transitions, annotations=ANNOTATING)
        if watch.transitions:
            self.violations.extend(watch.feed(events))
        self.violations.extend(self.judge(case_id, region, events))

    def judge(self, case_id: str, region: str, events: list[Event]) -> list[inv.Violation]:
        """No step twice, no early deadline and no split outcome, over a side's new events
        only: each judged once, as it is recorded, and as a judgement of the whole history
        would judge it. Why that holds: a repeat is a count passing one, and counts only
        grow (`inv.StepCounts`); a deadline event is judged against the deadlines recorded
        before it (`inv.DeadlineWatch`); an application's outcome is split as soon as one
        origin transferred out and another refused, and neither can be unrecorded. What an
        earlier step found stays in its report; the final check judges everything again with
        the functions over whole histories (`sides_and_events`)."""
        key = (case_id, region)
        if key not in self.steps:
            self.steps[key] = inv.StepCounts(case_id, region, REPEATABLE_WIRE_TYPES)
            self.deadlines[key] = inv.DeadlineWatch(case_id, region)
        found = self.steps[key].feed(events) + self.deadlines[key].feed(events)
        out, refused = self.outcomes.setdefault(case_id, (set(), set()))
        split = bool(out and refused)
        for event in events:
            if event.TYPE in TRANSFERRED_OUT:
                out.add(region)
            elif event.TYPE in REFUSED_OUT:
                refused.add(region)
        if out and refused and not split:
            found.append(inv.Violation(case_id, "split_outcome",
                                       f"{sorted(out)} transferred out but {sorted(refused)} "
                                       "refused"))
        return found

    def events_of(self, case_id: str) -> dict[tuple[str, str], list[Event]]:
        """Every side's events of one case so far, by (case id, region)."""
        return self.by_case.get(case_id, {})

    def sides(self, case_id: str) -> list[tuple[tuple[str, str], list[Event]]]:
        """`events_of(case_id)` as (side key, events) in side order. Sorted again only when a
        side joins the case (a side's list grows in place): each case check walked the sides
        in order at every step that touched the case, and sorting them each time was the
        largest part of `unjudged` (0.9 % of a 2,000-case run, the lead's profile)."""
        sides = self.by_case.get(case_id)
        if not sides:
            return []
        known = self.ordered.get(case_id)
        if known is None or len(known) != len(sides):
            known = self.ordered[case_id] = sorted(sides.items())
        return known

    def record_registers(self, region: str, events: list[Event]) -> None:
        for event in events:
            self.register_log.append((region, event))
            reg_key = (region, getattr(event, "person_key", ""), getattr(event, "scheme", ""))
            entry = evolve_register(self.registers.get(reg_key), event)
            if entry is not None:
                self.registers[reg_key] = entry


def regions_of(world: World, case_id: str) -> list[str]:
    """The regions that hold a side of the case: those that committed events of it (a side is
    opened by its first commit). Asking every region's node instead read the store for each side
    it does not have, at every step that touched the case."""
    return [region for (_, region), _ in world.checks.sides(case_id)]


def unjudged(world: World, check: str, case_id: str, carry: Callable[[], Any] = dict,
             regions: Collection[str] | None = None,
             ) -> Iterator[tuple[tuple[str, str], list[Event], Any]]:
    """Each side of the case with events `check` has not judged yet, in side order, as (side
    key, those events, what the check carries from the side's earlier events: `carry()` for
    a side's first events); in the final check every side, all its events, from `carry()`.
    For a check whose judgement of an event cannot change once later events come (each such
    check says why): it judges only the new events, and the per-step check costs the step,
    not the case. What an earlier step found stays in its report. `regions`: only the sides
    in these (the others stay unjudged until they are in)."""
    checks = world.checks
    seen = checks.judged.get(check)
    if seen is None:
        seen = checks.judged[check] = {}
        checks.carried[check] = {}
    carried = checks.carried[check]
    final = checks.final
    for key, events in checks.sides(case_id):
        if regions is not None and key[1] not in regions:
            continue
        start = 0 if final else seen.get(key, 0)
        if start < len(events):
            seen[key] = len(events)
            if start == 0:
                carried[key] = carry()
            yield key, events[start:], carried[key]


def summary_of(world: World, region: str, case_id: str) -> SideSummary | None:
    """The region's side of the case as its decider summarises it (None: no side, or no
    state). Summarised once per state: a decider's summary is a function of the state alone,
    and a state is never changed in place (each event folds a new one), so while the side's
    state is the very object summarised before (`is`, the memo holds it so it stays alive) the
    summary stands. Why: the pair checks, the projection check and the final check each asked
    for the same summary, at every step that touched the case."""
    node = world.regions[region].region.node
    view = node.side(case_id)
    if view is None or view.state is None:
        return None
    key = (case_id, region)
    known = world.checks.summaries.get(key)
    if known is not None and known[0] is view.state:
        return known[1]
    summary = node.protocols[view.process].decider.summary(view.state)
    world.checks.summaries[key] = (view.state, summary)
    return summary


def summaries(world: World, case_id: str) -> list[SideSummary]:
    return [summary for code in regions_of(world, case_id)
            if (summary := summary_of(world, code, case_id)) is not None]


def pair_violations(world: World, workload: Workload, case_id: str,
                    sides: list[SideSummary]) -> list[inv.Violation]:
    """The accepting side and each counterpart end in an allowed pair (absent when it never
    heard of the case); sides resting in needs_attention are not judged."""
    primary_region = workload.first_region.get(case_id)
    primary = next((s for s in sides if s.region == primary_region), None)
    if primary is None or not primary.terminal:
        return []
    allowed = world.regions[primary.region].region.specs[primary.process].allowed_terminal_pairs
    by_region = {s.region: s for s in sides}
    found = []
    for peer in primary.peer_regions:
        other = by_region.get(peer)
        if other is not None and not other.terminal:
            continue
        pair = (primary.status, other.status if other else ABSENT)
        if pair not in allowed:
            found.append(inv.Violation(case_id, "terminal_pairs",
                                       f"{primary.process}: {primary.role} {primary.region} "
                                       f"{pair[0]} with {peer} {pair[1]}"))
    return found


def sides_and_events(world: World, workload: Workload, case_id: str) -> list[inv.Violation]:
    """Conservation and terminal pairs over the sides' summaries. No step twice, no split
    outcome and no early deadline over their events: after a step the new events were judged
    as they were recorded (`Observations.judge`); the final check judges every event again."""
    sides = summaries(world, case_id)
    found = inv.conservation(sides) + pair_violations(world, workload, case_id, sides)
    if world.checks.final:
        events = dict(world.checks.events_of(case_id))
        found += inv.no_step_twice(events, REPEATABLE_WIRE_TYPES)
        found += inv.split_outcome(events, TRANSFERRED_OUT, REFUSED_OUT)
        for (cid, region), evs in sorted(events.items()):
            found += inv.deadlines_never_early(cid, region, evs)
    return found


CaseCheck = Callable[["World", "Workload", str], list[inv.Violation]]
RunCheck = Callable[["World", "Workload"], list[inv.Violation]]
#: Run after every step on each touched case, and at the end on every case (module docstring).
CASE_CHECKS: list[CaseCheck] = [sides_and_events]
#: Run once, at the end.
FINAL_CHECKS: list[RunCheck] = []


def check_case(world: World, workload: Workload, case_id: str) -> list[inv.Violation]:
    found = [v for check in CASE_CHECKS for v in check(world, workload, case_id)]
    return inv.violations_only(found)


def check_cases(world: World, workload: Workload, case_ids: list[str]) -> list[str]:
    found = [str(v) for case_id in case_ids for v in check_case(world, workload, case_id)]
    found += [str(v) for v in world.checks.violations]
    world.checks.violations.clear()
    world.checks.folds.clear()  # taken by now, or folded again by whoever needs them later
    return found


def check_final(world: World, workload: Workload) -> list[str]:
    world.checks.final = True
    found: list[inv.Violation] = []
    everything: list[SideSummary] = []
    for case_id in workload.cases_started:
        sides = summaries(world, case_id)
        everything.extend(sides)
        found += check_case(world, workload, case_id)
    found += inv.liveness(everything)
    found += inv.single_active_relationship(world.checks.registers)
    found += inv.relationship_order(world.checks.register_log)
    lost = lost_messages(world)
    if lost:
        found.append(inv.Violation("-", "lost", f"{lost} link messages never applied"))
    for check in FINAL_CHECKS:
        found += check(world, workload)
    return [str(v) for v in inv.violations_only(found)]


def outcomes(world: World, workload: Workload) -> dict[str, str]:
    """Each case's outcome, as its accepting side sees it."""
    result = {}
    for case_id in workload.cases_started:
        region = workload.first_region[case_id]
        node = world.regions[region].region.node
        view = node.side(case_id)
        status = "missing"
        if view is not None:
            decider = node.protocols[view.process].decider
            status = decider.status(view.state)
            if not decider.is_terminal(view.state) and status != "needs_attention":
                status = f"open:{status}"
        result[case_id] = next((word for key, word in OUTCOME_WORDS if key in status), status)
    return result


def disagreements(world: World, workload: Workload) -> list[inv.Violation]:
    return [v for case_id in workload.cases_started
            for v in pair_violations(world, workload, case_id, summaries(world, case_id))]


def lost_messages(world: World) -> int:
    """Messages an origin's out-link holds that its destination never applied (after drain).
    The out-link's last link_seq is its stream's newest stored version less one (version 1 is
    `Started`: `OutLink.last_seq`), read from the store as the in-link's position is
    (`RegionNode.inlink_position`). Why not the aggregate: rebuilding each link folded every
    message it ever sent, once at the end of the run and once more for the report."""
    from regions.core.store import OutLink

    lost = 0
    for origin, sim in world.regions.items():
        recorder = sim.region.node.app.recorder
        for destination, dest_sim in world.regions.items():
            if destination == origin:
                continue
            newest = recorder.select_events(OutLink.id_for(origin, destination), desc=True,
                                            limit=1)
            if not newest:
                continue
            last_seq = newest[0].originator_version - 1
            lost += max(0, last_seq - dest_sim.region.node.inlink_position(origin))
    return lost


def duplicate_effects(world: World, workload: Workload) -> int:
    return len(inv.no_step_twice(world.checks.side_events, REPEATABLE_WIRE_TYPES))
