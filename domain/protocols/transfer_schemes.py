"""What each transfer scheme module exposes: its decider, options and register effects.

Why apart from the decider (`domain.protocols.transfer`): the register effects and the binding of
a `TransferSpec` to the protocol registry's interface (`domain.protocols.spec_of`) are the same
for every scheme and need nothing of the decider's rules; the scheme modules (`pension`,
`unemployment`, `medical`, `housing_fund`) read only this:
`decider, options, register_effects = transfer_schemes.scheme_interface(SPEC)`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from typing import NamedTuple

from domain.deadlines import DeadlineRules
from domain.kernel import Command, Event
from domain.protocols.transfer import TransferDecider
from domain.protocols.transfer_events import (
    HoldReleased,
    InfoSheetIssued,
    RelationshipEvent,
    RelationshipTakenOver,
    TransferCompleted,
    TransferOutHeld,
    TransferOutReversed,
)
from domain.protocols.transfer_options import options
from domain.protocols.transfer_sheets import TransferSpec
from domain.protocols.transfer_states import SideState
from domain.registers import EffectKind, RegisterEffect, effect_of

_EFFECT_OF: Mapping[type[Event], EffectKind] = {
    TransferOutHeld: "begin_move_out",
    HoldReleased: "cancel_move_out",
    InfoSheetIssued: "end",
    TransferOutReversed: "reinstate",
    RelationshipTakenOver: "open",
    TransferCompleted: "open",
}


def register_effects(event: Event) -> list[RegisterEffect]:
    """Register changes implied by a transfer event, for the region that recorded it."""
    kind = _EFFECT_OF.get(type(event))
    if kind is None or not isinstance(event, RelationshipEvent):
        return []
    if isinstance(event, TransferCompleted) and not event.opens_relationship:
        return []  # the relationship was taken over when the sheets came in
    return effect_of(kind, event)


class SchemeInterface(NamedTuple):
    """The module-level functions the protocol registry reads (`domain.protocols.spec_of`)."""

    decider: Callable[[DeadlineRules], TransferDecider]
    options: Callable[[SideState | None, dt.datetime, random.Random], list[Command]]
    register_effects: Callable[[Event], list[RegisterEffect]]


def scheme_interface(spec: TransferSpec) -> SchemeInterface:
    """What each scheme module exposes, bound to its `TransferSpec`: every scheme runs the same
    decider, offers the same options and has the same register effects."""

    def decider(rules: DeadlineRules) -> TransferDecider:
        return TransferDecider(spec, rules)

    def scheme_options(state: SideState | None, now: dt.datetime,
                       rng: random.Random) -> list[Command]:
        return options(spec, state, now, rng)

    return SchemeInterface(decider, scheme_options, register_effects)


__all__ = ["SchemeInterface", "register_effects", "scheme_interface"]
