"""A unit of work: everything any number of decisions staged, saved with one `app.save()`.

Why units: one transaction per inbox batch or per group of commands, because on this machine
the fixed cost of a transaction dwarfs the cost of a row (reference/throughput.md §3). A single
command or message is a unit of one. Each decision in a unit sees the state the previous ones
staged (several cases, or one case twice). What a decision announces (`Effect`) is told to the
node's listeners only after the unit is committed (`RegionNode.commit`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.kernel import Event
from regions.core.messages import LinkMessage
from regions.core.outcome import Outcome
from regions.core.sides import SideView
from regions.core.store import InLink, OutLink, Stream


@dataclass
class Effect:
    """What one staged decision announces to listeners once its unit of work is committed."""

    view: SideView | None
    events: list[Event]
    register_events: list[Event]
    receipt: tuple[LinkMessage, Outcome] | None


@dataclass
class UnitOfWork:
    """The aggregates staged by any number of decisions, saved together by `RegionNode.commit`."""

    now: dt.datetime
    sides: dict[UUID, tuple[Stream, SideView]] = field(default_factory=dict)
    registers: dict[UUID, Stream] = field(default_factory=dict)
    register_states: dict[UUID, Any] = field(default_factory=dict)
    outlinks: dict[str, OutLink] = field(default_factory=dict)
    inlinks: dict[str, InLink] = field(default_factory=dict)
    records: dict[UUID, Aggregate] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)
    command_keys: set[UUID] = field(default_factory=set)

    def add(self, aggregate: Aggregate) -> None:
        """Stage a record of its own (a command's outcome, a quarantined message)."""
        self.records[aggregate.id] = aggregate

    def aggregates(self) -> list[Aggregate]:
        return [*(stream for stream, _ in self.sides.values()), *self.registers.values(),
                *self.outlinks.values(), *self.inlinks.values(), *self.records.values()]

    @property
    def decisions(self) -> int:
        return len(self.effects)
