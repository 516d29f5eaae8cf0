"""The household move's oracles: a 准迁证 decided by its expiry, and the point of no return
(after 迁出登记 + 注销 the origin refuses every withdrawal).

Why apart from the protocol's own tables: the transition table (`legal_transitions`) is the
protocol's word about itself, and a developer who lets a withdrawal cancel a move after 注销
may well widen the table with it; the residence check sees the result only at quiescence, as
"registered nowhere". This states the rule itself (the 迁移证 is out and the person no longer
registered at the origin: the move stands, and moving back is a new application), on every
step, with the case that broke it (issue 16's mutant "withdrawal honoured after 注销").
Registered with the other oracles (`simulations.oracles` imports this module).

Both judge every side of a touched case at every step (the permit against the region's clock
now, the withdrawals by counts that later events change), so neither can judge only new events;
what they look for in a side's history — its first request, closer or 注销, and the counts after
it — only grows with it, so each side's scan goes on from where the last one stopped
(`Observations.carried`), and the final check scans everything afresh.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from domain import invariants as inv
from domain.kernel import Event
from domain.protocols.household_events import (
    MovedOut,
    MoveOutCancellationConfirmed,
    MoveOutHoldReleased,
    MoveOutRequestReceived,
    MoveOutWithdrawalReceived,
    MoveOutWithdrawalRefused,
)
from simulations import checkers

if TYPE_CHECKING:
    from simulations.workload import Workload
    from simulations.world import World

RULE = "withdrawal_after_deregistration"


def _scan(world: World, check: str, key: tuple[str, str], events: list[Event],
          start: Any) -> tuple[int, Any]:
    """(events scanned so far, what the check kept of them) for this side: (0, `start`) in
    the final check or for a side not scanned yet."""
    memo = world.checks.carried.setdefault(check, {})
    known = None if world.checks.final else memo.get(key)
    return known if known is not None else (0, start)


#: How late after a permit's expiry an origin still holding it may refuse it (its timer runs at
#: the instant; a restart re-arms it at once).
PERMIT_SLACK = dt.timedelta(hours=1)
_PERMIT_CLOSERS = ("MovedOut", "MoveOutRefused", "MoveOutWithdrawalReceived")


def permit_expiry(world: World, workload: Workload, case_id: str) -> list[inv.Violation]:
    """The origin decides a 准迁证's expiry by its own clock: no 注销 at or after the instant
    the permit expires, and an origin still holding the request at that instant refuses it
    then (within `PERMIT_SLACK`), never later — a permit honoured past its expiry is a move
    the law no longer allows."""
    found = []
    for (cid, region), events in world.checks.sides(case_id):
        received, closed = _permit_events(world, (cid, region), events)
        if received is None:
            continue
        expires = received.permit_expires_at
        if isinstance(closed, MovedOut) and closed.at >= expires:
            found.append(inv.Violation(cid, "permit_expiry",
                                       f"{region} registered the move-out at "
                                       f"{closed.at.isoformat()}, the permit expired "
                                       f"{expires.isoformat()}"))
        latest = max(expires, received.at) + PERMIT_SLACK
        when = closed.at if closed is not None else world.local_now(region)
        if when > latest:
            found.append(inv.Violation(cid, "permit_expiry",
                                       f"{region} still held the request at {when.isoformat()}"
                                       f"; the permit expired {expires.isoformat()}"))
    return found


def _permit_events(world: World, key: tuple[str, str], events: list[Event]
                   ) -> tuple[MoveOutRequestReceived | None, Event | None]:
    """The side's first `MoveOutRequestReceived` and first closer (module docstring: the scan
    goes on from where it stopped)."""
    scanned, (received, closed) = _scan(world, "permit_expiry", key, events, (None, None))
    for event in events[scanned:]:
        if received is None and isinstance(event, MoveOutRequestReceived):
            received = event
        if closed is None and event.TYPE in _PERMIT_CLOSERS:
            closed = event
    world.checks.carried["permit_expiry"][key] = (len(events), (received, closed))
    return received, closed


class _AfterMove:
    """What the withdrawal check keeps of a side: where its 注销 is, and after it the
    withdrawals received and refused and what undid the move."""

    __slots__ = ("moved", "received", "refused", "undone")

    def __init__(self) -> None:
        self.moved = False
        self.received = self.refused = 0
        self.undone: list[str] = []

    def feed(self, events: list[Event]) -> None:
        for event in events:
            if not self.moved:
                self.moved = isinstance(event, MovedOut)
            elif isinstance(event, MoveOutWithdrawalReceived):
                self.received += 1
            elif isinstance(event, MoveOutWithdrawalRefused):
                self.refused += 1
            elif isinstance(event, (MoveOutCancellationConfirmed, MoveOutHoldReleased)):
                self.undone.append(event.TYPE)


def withdrawal_after_deregistration(world: World, workload: Workload,
                                    case_id: str) -> list[inv.Violation]:
    """Once an origin committed `MovedOut`, it never confirms a cancellation or releases a
    hold, and each withdrawal it receives is answered with `MoveOutWithdrawalRefused`."""
    found = []
    for (cid, region), events in world.checks.sides(case_id):
        scanned, seen = _scan(world, RULE, (cid, region), events, None)
        if seen is None:
            seen = _AfterMove()
        if scanned < len(events):
            seen.feed(events[scanned:])
            world.checks.carried[RULE][(cid, region)] = (len(events), seen)
        if not seen.moved:
            continue
        if seen.undone or seen.refused < seen.received:
            found.append(inv.Violation(
                cid, RULE, f"{region} registered the move out (注销) and then "
                f"{', '.join(seen.undone) or 'left a withdrawal unrefused'} "
                f"({seen.received} withdrawal(s) received after it, {seen.refused} refused)"))
    return found


checkers.CASE_CHECKS.extend([permit_expiry, withdrawal_after_deregistration])
