"""The judges of a real-service run: each region's store read afresh and held to the invariants.

Why apart from `realworld`: `collect` reads each region's *store* (caches dropped, on the
node's database thread), `judge` applies the domain's invariants (`domain.invariants`:
conservation, allowed terminal pairs, no step twice, legal transitions, deadlines never early,
single active relationship, liveness) and `link_violations` checks the link positions: every
out-link's last sequence equals the receiver's in-link position. The tests and
`realworld.Nodes` call them; none of them runs a node.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from domain import invariants as inv
from domain.kernel import Decider, Event, SideSummary, event_from_payload
from domain.protocols import ProtocolSpec
from domain.protocols.casework_events import ANNOTATIONS
from domain.registers import RegisterEntry, RegisterKey
from regions.core.sides import side_id
from regions.core.store import OutLink, Stream
from regions.runtime.bootstrap import Region
from tests.integration.realworld_people import CaseRun


@dataclass
class StoreEvidence:
    """What one region's store holds about the cases and its links, read fresh from the store."""

    region: str
    summaries: dict[str, SideSummary] = field(default_factory=dict)
    events: dict[str, list[Event]] = field(default_factory=dict)
    registers: dict[RegisterKey, RegisterEntry] = field(default_factory=dict)
    out_links: dict[str, int] = field(default_factory=dict)  # destination -> last link_seq
    in_links: dict[str, int] = field(default_factory=dict)  # origin -> position


def collect(region: Region, cases: Mapping[str, CaseRun], peers: Iterable[str]) -> StoreEvidence:
    """On the node's database thread: drop the caches and read the store."""
    node = region.node
    node.forget_caches()
    found = StoreEvidence(region.code)
    for case_id, run in cases.items():
        view = node.side(case_id)
        if view is None:
            continue
        decider = node.protocols[view.process].decider
        found.summaries[case_id] = decider.summary(view.state)
        stream: Stream = node.app.repository.get(side_id(case_id, region.code))
        found.events[case_id] = [event_from_payload(t, p, v) for t, v, p in stream.entries]
        entry = node.register_entry(run.person_key, run.scheme)
        if entry is not None:
            found.registers[(region.code, run.person_key, run.scheme)] = entry
    for peer in peers:
        if peer == region.code:
            continue
        found.in_links[peer] = node.inlink_position(peer)
        try:
            link: OutLink = node.app.repository.get(OutLink.id_for(region.code, peer))
            found.out_links[peer] = link.last_seq
        except AggregateNotFoundError:
            found.out_links[peer] = 0
    return found


def link_violations(evidence: Mapping[str, StoreEvidence]) -> list[inv.Violation]:
    return [inv.Violation("-", "link_positions",
                          f"{origin}→{dest}: sent up to {sent}, applied up to "
                          f"{evidence[dest].in_links.get(origin, 0)}")
            for origin, found in sorted(evidence.items())
            for dest, sent in sorted(found.out_links.items())
            if dest in evidence and evidence[dest].in_links.get(origin, 0) != sent]


def judge(evidence: Mapping[str, StoreEvidence], specs: Mapping[str, ProtocolSpec],
          deciders: Mapping[str, Decider[Any]]) -> list[inv.Violation]:
    """Every invariant the stores can be held to (`specs`, `deciders` by process); [] if they
    agree."""
    summaries = [s for found in evidence.values() for s in found.summaries.values()]
    side_events = {(case_id, code): events for code, found in evidence.items()
                   for case_id, events in found.events.items()}
    registers = {k: v for found in evidence.values() for k, v in found.registers.items()}
    allowed = {process: spec.allowed_terminal_pairs for process, spec in specs.items()}
    found = inv.conservation(summaries) + inv.terminal_pairs(summaries, allowed)
    found += inv.no_step_twice(side_events)
    for (case_id, code), events in sorted(side_events.items()):
        process = evidence[code].summaries[case_id].process
        if specs[process].transitions:
            found += inv.legal_transitions(case_id, code, deciders[process], events,
                                           specs[process].transitions,
                                           annotations=frozenset(ANNOTATIONS))
        found += inv.deadlines_never_early(case_id, code, events)
    found += inv.liveness(summaries)
    found += inv.single_active_relationship(registers)
    found += link_violations(evidence)
    return inv.violations_only(found)
