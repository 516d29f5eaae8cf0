"""The ledger's invariants as checkers: the property tests, the simulator and the views share them.

Why functions over summaries and event lists: every protocol reduces a side to a
`kernel.SideSummary` and keeps its events, so one checker serves every protocol and every
driver (Hypothesis, the seed simulator, the reconciliation view over real stores). Each checker
returns a list of `Violation`s naming the case and the rule — empty when all is well — instead of
raising, so a driver can report them all at once. `needs_attention` is not a disagreement: it is
reported (severity "attention"), never counted as a violation.

Rules (design.md §4, reference/domain.md §1):
1. `conservation`: at completion stated == sent == received == credited, in fen and months; a
   destination never credits more than it received, nor more than its origins sent. The
   origins' sheets against the destination's are judged once every origin has ended (a
   correction may cross the conclusion: that origin then needs a person, and the difference is
   reported, not judged); the money always is. An origin staff resolved states the sheet the
   destination concluded on (its summary's `amount_for_new_case` names the 补转 left to a new
   case), so it is judged like any other; a sheet differing with no such record is not excused.
2. `single_active_relationship` (registers), `single_residence` (户口: one region, or explicitly
   in transit) and `relationship_order` (注销 before 落户).
3. `terminal_pairs`: both sides end in an allowed pair; `split_outcome`: never one origin
   transferred and another refused in one application (invariant 4).
4. `no_step_twice`: each counterpart event received at most once per side; each shared event
   type sent at most once per link unless the protocol allows repeats.
5. `legal_transitions`: only the protocol's status changes, nothing after a terminal state.
6. `deadlines_never_early`: DeadlineMissed / Escalated never before their instants; a
   `DeadlineRecomputed` never moves a deadline earlier.
8. `liveness`: after quiescence every side is terminal or needs_attention.

Rules 4 to 6 read one side's events as they are recorded: they and their incremental forms
live in `domain.invariant_watches`, the `Violation` every checker reports in
`domain.violations`; all are named here too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence, Set

from domain.invariant_watches import (  # noqa: F401 (rules 4 to 6, named here with the rest)
    DeadlineWatch,
    StepCounts,
    TransitionWatch,
    deadlines_never_early,
    legal_transitions,
    no_step_twice,
)
from domain.kernel import Event, SideSummary
from domain.protocols.household_events import SCHEME as HUKOU
from domain.protocols.household_states import Origin
from domain.registers import (
    MoveOutBegun,
    MoveOutCancelled,
    RegisterEntry,
    RegisterKey,
    RelationshipEnded,
    RelationshipOpened,
)
from domain.violations import (  # noqa: F401 (what every checker reports)
    Severity,
    SideKey,
    Violation,
    violations_only,
)

ABSENT = "absent"



def _by_case(summaries: Iterable[SideSummary]) -> dict[str, list[SideSummary]]:
    cases: dict[str, list[SideSummary]] = defaultdict(list)
    for s in summaries:
        cases[s.case_id].append(s)
    return dict(cases)


# --------------------------------------------------------------------------- 1. conservation


def conservation(summaries: Iterable[SideSummary]) -> list[Violation]:
    """Amounts and months out == in at completion; never more credited than received or sent."""
    found: list[Violation] = []
    for case_id, sides in sorted(_by_case(summaries).items()):
        for dest in (s for s in sides if s.role == "destination"):
            origins = [s for s in sides if s.role == "origin"]
            sent = sum(o.amount_sent for o in origins)

            def bad(detail: str, severity: Severity = "violation") -> None:
                found.append(Violation(case_id, "conservation", detail, severity))  # noqa: B023

            # The origins' sheets against the destination's are judged once every origin has
            # the conclusion: a correction may cross it, and an origin the destination
            # completed without its last correction needs a person (`CorrectionNotApplied`,
            # a 补转): reported, not judged, while it waits.
            deciding: Severity = ("violation" if all(o.terminal for o in origins)
                                  else "attention")

            if dest.amount_credited > dest.amount_received:
                bad(f"credited {dest.amount_credited} fen but received {dest.amount_received}")
            if origins and dest.amount_credited > sent:
                bad(f"credited {dest.amount_credited} fen but origins sent {sent}")
            if dest.terminal and dest.status == "completed":
                if not (dest.amount_stated == dest.amount_received == dest.amount_credited):
                    bad(f"completed with stated {dest.amount_stated}, received "
                        f"{dest.amount_received}, credited {dest.amount_credited} fen")
                if dest.months_stated != dest.months_credited:
                    bad(f"completed with {dest.months_stated} months stated but "
                        f"{dest.months_credited} credited")
                if origins and sum(o.amount_stated for o in origins) != dest.amount_stated:
                    bad(f"origins stated {sum(o.amount_stated for o in origins)} fen, the "
                        f"destination recorded {dest.amount_stated}", deciding)
                if origins and sum(o.months_stated for o in origins) != dest.months_stated:
                    bad(f"origins stated {sum(o.months_stated for o in origins)} months, the "
                        f"destination recorded {dest.months_stated}", deciding)
            elif dest.terminal and dest.amount_credited:
                bad(f"{dest.status} yet {dest.amount_credited} fen credited")
            if dest.terminal and origins and all(o.terminal for o in origins) and (
                    sent != dest.amount_received):
                bad(f"at rest the origins sent {sent} fen net, the destination holds "
                    f"{dest.amount_received}")
    return found


# --------------------------------------------------------------------------- 2. registers


def single_active_relationship(entries: Mapping[RegisterKey, RegisterEntry]) -> list[Violation]:
    """At most one region holds a ledger-opened relationship per (person, scheme).

    Relationships adopted at their first move-out predate the ledger (a person may have several
    old pension relationships: that is why transfers have several origins), so only those the
    ledger opened — or that have moved through it since — count.
    """
    holders: dict[tuple[str, str], list[tuple[str, RegisterEntry]]] = defaultdict(list)
    for (region, person, scheme), entry in entries.items():
        if entry.status in ("active", "in_transit") and not entry.adopted:
            holders[(person, scheme)].append((region, entry))
    return [
        Violation(",".join(sorted(e.case_id for _, e in held)), "single_active_relationship",
                  f"person {person[:12]}… holds {scheme} in {sorted(r for r, _ in held)}")
        for (person, scheme), held in sorted(holders.items()) if len(held) > 1
    ]


def single_residence(
    entries: Mapping[RegisterKey, RegisterEntry], *, quiescent: bool = False,
    in_transit: Collection[str] = (),
) -> list[Violation]:
    """户口 (scheme "hukou"): at most one region holds a person's residence, ever.

    Active, or held for a move: the person is registered there until 注销. When `quiescent`,
    every person the registers know is held by exactly one region, unless listed in
    `in_transit` (`persons_in_transit`). Unlike `single_active_relationship`, residences that
    predate the ledger count too: a person has one 户口.
    """
    holders: dict[str, list[tuple[str, RegisterEntry]]] = {}
    for (region, person, scheme), entry in sorted(entries.items()):
        if scheme != HUKOU:
            continue
        held = holders.setdefault(person, [])
        if entry.status in ("active", "in_transit"):
            held.append((region, entry))
    found: list[Violation] = []
    for person, held in sorted(holders.items()):
        cases = ",".join(sorted(e.case_id for _, e in held))
        if len(held) > 1:
            found.append(Violation(cases, "single_residence", f"person {person[:12]} is "
                                   f"registered in {', '.join(r for r, _ in held)}"))
        elif quiescent and not held and person not in in_transit:
            found.append(Violation("", "single_residence", f"person {person[:12]} is "
                                   "registered nowhere and not in transit"))
    return found


def persons_in_transit(states: Iterable[object]) -> set[str]:
    """People explicitly in transit: an origin did 注销 and no 回执 or withdrawal has closed it."""
    return {person for s in states if isinstance(s, Origin) and s.phase == "certificate_sent"
            for person in (s.person_key, *s.companions)}


def relationship_order(log: Sequence[tuple[str, Event]]) -> list[Violation]:
    """注销 before 落户: no region opens a case's relationship while another still holds it."""
    pending: dict[str, set[str]] = defaultdict(set)
    found: list[Violation] = []
    for region, event in log:
        case_id = getattr(event, "case_id", "")
        if isinstance(event, MoveOutBegun):
            pending[case_id].add(region)
        elif isinstance(event, (MoveOutCancelled, RelationshipEnded)):
            pending[case_id].discard(region)
        elif isinstance(event, RelationshipOpened) and pending[case_id]:
            found.append(Violation(case_id, "relationship_order",
                                   f"opened in {region} while {sorted(pending[case_id])} still "
                                   "hold the relationship (注销 must come before 落户)"))
    return found


# --------------------------------------------------------------------------- 3. terminal pairs


def terminal_pairs(
    summaries: Iterable[SideSummary], allowed: Mapping[str, Set[tuple[str, str]]],
) -> list[Violation]:
    """Each (destination, origin) pair of a case where both ended is allowed for its process.

    A destination that ended while an origin never heard of the case pairs with "absent";
    `needs_attention` sides are reported, not judged.
    """
    found: list[Violation] = []
    for case_id, sides in sorted(_by_case(summaries).items()):
        dests = [s for s in sides if s.role == "destination"]
        by_region = {s.region: s for s in sides if s.role == "origin"}
        for s in sides:
            if s.needs_attention and not s.terminal:
                found.append(Violation(case_id, "needs_attention",
                                       f"{s.role} {s.region} is {s.status}", "attention"))
        for dest in dests:
            if not dest.terminal:
                continue
            pairs = allowed.get(dest.process, frozenset())
            for region in dest.peer_regions:
                origin = by_region.get(region)
                if origin is not None and not origin.terminal:
                    continue
                pair = (dest.status, origin.status if origin else ABSENT)
                if pair not in pairs:
                    found.append(Violation(case_id, "terminal_pairs",
                                           f"{dest.process}: destination {dest.region} {pair[0]} "
                                           f"with origin {region} {pair[1]}"))
    return found


def split_outcome(
    side_events: Mapping[SideKey, Sequence[Event]], transferred: Set[str], refused: Set[str],
) -> list[Violation]:
    """Never one origin transferred out and another refused in one application (§1 inv. 4)."""
    did: dict[str, dict[str, set[str]]] = defaultdict(
        lambda: {"transferred": set(), "refused": set()})
    for (case_id, region), events in side_events.items():
        for event in events:
            if event.TYPE in transferred:
                did[case_id]["transferred"].add(region)
            elif event.TYPE in refused:
                did[case_id]["refused"].add(region)
    return [
        Violation(case_id, "split_outcome",
                  f"{sorted(d['transferred'])} transferred out but {sorted(d['refused'])} refused")
        for case_id, d in sorted(did.items()) if d["transferred"] and d["refused"]
    ]


# --------------------------------------------------------------------------- 8. liveness


def liveness(summaries: Iterable[SideSummary]) -> list[Violation]:
    """After quiescence every side has ended or explicitly needs a person."""
    return [Violation(s.case_id, "liveness", f"{s.role} {s.region} is still {s.status}")
            for s in summaries if not s.terminal and not s.needs_attention]
