"""What the node knows of one region's side of a case, and the request to decide on one.

A *side* is one region's stream of a joint case (`Stream` with `kind="side"`), aggregate id
`side_id(case id, region)`: each region is the only writer of its own sides. The node folds a
side's events with its protocol's decider into a `SideView`; a `ProtocolBinding` is a protocol
as the node uses it (its decider, and the per-person register changes its events imply).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.kernel import Actor, Command, Decider, Event
from domain.uuids import uuid5

A = TypeVar("A", bound=Aggregate)


class RegisterModel(Protocol):
    """The per-person register rules (`domain.registers`)."""

    def decide_register(
        self, entry: Any, effect: Any, now: dt.datetime, actor: Actor) -> list[Event]: ...
    def evolve_register(self, entry: Any, event: Event) -> Any: ...


@dataclass(frozen=True)
class ProtocolBinding:
    """A protocol as the node uses it: its decider and the register changes its events imply."""

    decider: Decider[Any]
    register_effects: Callable[[Event], Sequence[Any]]


@dataclass
class SideView:
    """A side folded to its current state, at the version it was folded at."""

    side_id: UUID
    case_id: str
    case_number: str
    process: str
    version: int
    state: Any


@dataclass(frozen=True)
class BatchedCommand:
    """One command to decide on one side, alone (`RegionNode.run`) or in a group commit
    (`RegionNode.run_batch`). With `process` set it opens the side (`submit`); otherwise the
    side must exist (`command`)."""

    case_id: str
    command: Command
    command_id: str = ""
    principal: str = ""
    case_number: str = ""
    process: str = ""


@functools.lru_cache(maxsize=4096)  # a case's id is asked for at every step of the case
def side_id(case_id: str, region: str) -> UUID:
    """Aggregate id of one region's side of a case: uuid5(case id, region code)."""
    return uuid5(UUID(case_id), region)


def resume(cls: type[A], id_: UUID, version: int, now: dt.datetime, **state: Any) -> A:
    """An aggregate at `version` without its history: enough to append to, never to read from.

    Built as eventsourcing's `Snapshot.mutate` builds a snapshotted aggregate. Saving it appends
    `version + 1…`; if the store holds more than `version` events, the save conflicts.
    """
    aggregate = object.__new__(cls)
    aggregate.__dict__.update(state)
    aggregate.__dict__.update(_id=id_, _version=version, _created_on=now, _modified_on=now,
                              _pending_events=[])
    return aggregate
