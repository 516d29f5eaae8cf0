"""An oracle for the household move's point of no return: after 迁出登记 + 注销 the origin
refuses every withdrawal.

Why apart from the protocol's own tables: the transition table (`legal_transitions`) is the
protocol's word about itself, and a developer who lets a withdrawal cancel a move after 注销
may well widen the table with it; the residence check sees the result only at quiescence, as
"registered nowhere". This states the rule itself (the 迁移证 is out and the person no longer
registered at the origin: the move stands, and moving back is a new application), on every
step, with the case that broke it (issue 16's mutant "withdrawal honoured after 注销").
Registered with the other oracles (`simulations.oracles` imports this module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain import invariants as inv
from domain.protocols.household_events import (
    MovedOut,
    MoveOutCancellationConfirmed,
    MoveOutHoldReleased,
    MoveOutWithdrawalReceived,
    MoveOutWithdrawalRefused,
)
from simulations import checkers

if TYPE_CHECKING:
    from simulations.workload import Workload
    from simulations.world import World

RULE = "withdrawal_after_deregistration"


def withdrawal_after_deregistration(world: World, workload: Workload,
                                    case_id: str) -> list[inv.Violation]:
    """Once an origin committed `MovedOut`, it never confirms a cancellation or releases a
    hold, and each withdrawal it receives is answered with `MoveOutWithdrawalRefused`."""
    found = []
    for (cid, region), events in sorted(world.checks.events_of(case_id).items()):
        moved = next((n for n, e in enumerate(events) if isinstance(e, MovedOut)), None)
        if moved is None:
            continue
        after = events[moved + 1:]
        received = sum(isinstance(e, MoveOutWithdrawalReceived) for e in after)
        refused = sum(isinstance(e, MoveOutWithdrawalRefused) for e in after)
        undone = [e.TYPE for e in after
                  if isinstance(e, (MoveOutCancellationConfirmed, MoveOutHoldReleased))]
        if undone or refused < received:
            found.append(inv.Violation(
                cid, RULE, f"{region} registered the move out (注销) and then "
                f"{', '.join(undone) or 'left a withdrawal unrefused'} "
                f"({received} withdrawal(s) received after it, {refused} refused)"))
    return found


checkers.CASE_CHECKS.append(withdrawal_after_deregistration)
