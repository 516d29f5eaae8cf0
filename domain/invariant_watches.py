"""The invariants judged over one side's event log (rules 4 to 6 of `domain.invariants`), each
with its incremental form: a driver checking after every step feeds each side's new events
once (`StepCounts`, `TransitionWatch`, `DeadlineWatch`) instead of refolding its history.

Why apart from `domain.invariants`: those judge summaries and registers, the state at one
instant; these keep a running account per side (counts, the status folded so far, the
deadlines set), and read better together. `domain.invariants` names them too, so every
checker is still `invariants.<rule>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

from domain.deadlines import DeadlineMissed, DeadlineRecomputed, DeadlineSet, Escalated
from domain.kernel import Decider, Event, EventRef
from domain.violations import SideKey, Violation

# --------------------------------------------------------------------------- 4. no step twice


def no_step_twice(
    side_events: Mapping[SideKey, Sequence[Event]], repeatable: Set[str] = frozenset(),
) -> list[Violation]:
    """Each counterpart event has effect once per side; each shared type once per link."""
    found: list[Violation] = []
    for (case_id, region), events in sorted(side_events.items()):
        counts = StepCounts(case_id, region, repeatable)
        counts.feed(events)
        found += counts.violations()
    return found


@dataclass
class StepCounts:
    """The incremental form of `no_step_twice` for one side: counts only grow, so an event
    recorded later never undoes a repeat counted earlier, and a driver checking after every
    step need count only the new events (`feed` names each repeat once, when it happens)."""

    case_id: str
    region: str
    repeatable: Set[str] = frozenset()
    refs: dict[EventRef, int] = field(default_factory=dict)
    sent: dict[tuple[str, str], int] = field(default_factory=dict)

    def feed(self, events: Iterable[Event]) -> list[Violation]:
        """Count `events`; the violations of what they repeated for the first time."""
        refs: list[EventRef] = []
        sent: list[tuple[str, str]] = []
        for event in events:
            ref = getattr(event, "ref", None)
            if isinstance(ref, EventRef):
                self.refs[ref] = self.refs.get(ref, 0) + 1
                if self.refs[ref] == 2:
                    refs.append(ref)
            if event.to_region and event.TYPE not in self.repeatable:
                key = (event.TYPE, event.to_region)
                self.sent[key] = self.sent.get(key, 0) + 1
                if self.sent[key] == 2:
                    sent.append(key)
        return self._named(refs, sent)

    def violations(self) -> list[Violation]:
        """Every repeat counted so far, with its count."""
        return self._named([r for r, n in self.refs.items() if n > 1],
                           [k for k, n in self.sent.items() if n > 1])

    def _named(self, refs: list[EventRef], sent: list[tuple[str, str]]) -> list[Violation]:
        return [*(Violation(self.case_id, "no_step_twice", f"{self.region} recorded counterpart "
                            f"event {ref} {self.refs[ref]} times") for ref in refs),
                *(Violation(self.case_id, "no_step_twice", f"{self.region} sent {t} to {to} "
                            f"{self.sent[(t, to)]} times") for t, to in sent)]


# --------------------------------------------------------------------------- 5. transitions


@dataclass
class TransitionWatch:
    """The incremental form of `legal_transitions`: feed a side's events as they are recorded
    (a driver checking after every step then folds each event once, not the whole history)."""

    case_id: str
    region: str
    decider: Decider[Any]
    transitions: Set[tuple[str, str]]
    attention_status: str = "needs_attention"
    #: Event types that annotate a side without moving it (ratings, follow-ups, recorded
    #: refusals): allowed after the end, never a transition.
    annotations: Set[type[Event]] = frozenset()
    state: Any = None
    previous: str = ""
    ended_at: str | None = None
    #: `annotations` as `isinstance` takes them, made once: building the tuple for every event
    #: cost ~1 µs each, every commit of a simulation (issue 17, SIMHARNESS).
    _annotating: tuple[type[Event], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._annotating = tuple(self.annotations)

    def feed(self, events: Iterable[Event]) -> list[Violation]:
        found: list[Violation] = []
        annotating = self._annotating
        for event in events:
            if isinstance(event, annotating):
                self.state = self.decider.evolve(self.state, event)
                continue
            if self.ended_at is not None:
                found.append(Violation(self.case_id, "legal_transitions",
                                       f"{self.region} recorded {event.TYPE} after ending "
                                       f"{self.ended_at}"))
                continue
            self.state = self.decider.evolve(self.state, event)
            status = self.decider.status(self.state)
            if status != self.attention_status and status != self.previous:
                if (self.previous, status) not in self.transitions:
                    found.append(Violation(self.case_id, "legal_transitions",
                                           f"{self.region} went from {self.previous or '—'} to "
                                           f"{status} on {event.TYPE}"))
                self.previous = status
            if self.decider.is_terminal(self.state):
                self.ended_at = status
        return found


def legal_transitions(
    case_id: str, region: str, decider: Decider[Any], events: Sequence[Event],
    transitions: Set[tuple[str, str]], attention_status: str = "needs_attention",
    annotations: Set[type[Event]] = frozenset(),
) -> list[Violation]:
    """Fold the side's events: every status change is in `transitions`; none after the end.

    `needs_attention` is an overlay (a side may enter and leave it from any status), so changes
    are judged between the statuses before and after it.
    """
    return TransitionWatch(case_id, region, decider, transitions, attention_status,
                           annotations).feed(events)


# --------------------------------------------------------------------------- 6. deadlines


def deadlines_never_early(case_id: str, region: str, events: Sequence[Event]) -> list[Violation]:
    """A deadline is flagged at or after its instant, escalated at or after its escalation; a
    recomputed deadline (the official calendar installed) only ever moves later."""
    return DeadlineWatch(case_id, region).feed(events)


@dataclass
class DeadlineWatch:
    """The incremental form of `deadlines_never_early` for one side: an event is judged against
    the deadlines set before it, never after, so feeding a side's events as they are recorded
    judges each once and exactly as a fold of the whole history would."""

    case_id: str
    region: str
    watches: dict[str, DeadlineSet | DeadlineRecomputed] = field(default_factory=dict)

    def feed(self, events: Iterable[Event]) -> list[Violation]:
        found: list[str] = []
        watches, region = self.watches, self.region
        for event in events:
            if isinstance(event, DeadlineSet):
                watches[event.step] = event
            elif isinstance(event, DeadlineRecomputed):
                w = watches.get(event.step)
                if w is None or w.due_at != event.previous_due_at:
                    found.append(f"{region} recomputed {event.step}, which has no such deadline")
                elif event.due_at < w.due_at or event.escalate_at < w.escalate_at:
                    found.append(f"{region} moved {event.step} earlier, from "
                                 f"{w.due_at.isoformat()} to {event.due_at.isoformat()}")
                watches[event.step] = event
            elif isinstance(event, DeadlineMissed):
                w = watches.get(event.step)
                if w is None or w.due_at != event.due_at:
                    found.append(f"{region} flagged {event.step}, which has no such deadline")
                elif event.at < w.due_at:
                    found.append(f"{region} flagged {event.step} at {event.at.isoformat()}, "
                                 f"before {w.due_at.isoformat()}")
            elif isinstance(event, Escalated):
                w = watches.get(event.step)
                if w is None or event.at < w.escalate_at:
                    found.append(f"{region} escalated {event.step} before its escalation instant")
        return [Violation(self.case_id, "deadlines", detail) for detail in found]
