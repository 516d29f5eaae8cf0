"""The transfer's bookkeeping helpers: met steps carried by their events, the waiting limit a
status event starts, and how the state folded without the limit takes it.

Why apart from the decider (`domain.protocols.transfer`): `TransferDecider._bookkeeping` and
`evolve` use them on every decision and event, and the decider's module was past its size. The
rule they serve — same events, same states as folding the recorded events — is checked by
tests/unit/test_transfer_decide_folded.py.
"""

from __future__ import annotations

from domain import deadlines as dl
from domain.deadlines import DeadlineCleared
from domain.fold import replace
from domain.kernel import Event
from domain.protocols import transfer_ratings as ratings
from domain.protocols.intake import ApplicationSubmitted
from domain.protocols.transfer_events import (
    ContactLetterIssued,
    FundsRemitted,
    RelationshipTakenOver,
)
from domain.protocols.transfer_states import DestinationState, SideState
from domain.protocols.transfer_waiting import waiting_of

#: The events that carry the steps they meet (`met`) instead of a `DeadlineCleared` row after
#: them (issue 17's rows): the last contact letter (the review), the remittance (the transfer
#: out or the remittance step), the take-over (the transfer in).
MET_CARRIERS = (ContactLetterIssued, FundsRemitted, RelationshipTakenOver)


def met_by_carriers(events: list[Event]) -> list[Event]:
    """`events` with each `DeadlineCleared` that follows a carrier (`MET_CARRIERS`, possibly
    after other clears) folded into it: the event that meets the step says so. A clear with
    no carrier before it (a refusal, a cancellation, an end) stays a row."""
    if not any(isinstance(e, DeadlineCleared) for e in events):
        return events
    out: list[Event] = []
    carrier = -1
    for e in events:
        if isinstance(e, DeadlineCleared) and carrier >= 0:
            c = out[carrier]
            out[carrier] = replace(c, met=(*c.met, e.step))  # type: ignore[attr-defined]
            continue
        carrier = len(out) if isinstance(e, MET_CARRIERS) else -1
        out.append(e)
    return out


def keeps_waiting(events: list[Event], carrier: int) -> bool:
    """Whether the state after `events` with the waiting limit put on `events[carrier]` is the
    state folded without it plus that limit (`waits`), so that `_bookkeeping` need not fold
    the carrier and what follows it again: every event after the carrier is a clock's own
    (`deadlines.DEADLINE_EVENTS`, which neither read nor set the waiting limit nor end a side),
    and the carrier is not a rating (whose fold takes no limit)."""
    return not isinstance(events[carrier], ratings.RATING_EVENTS) and all(
        isinstance(e, dl.DEADLINE_EVENTS) for e in events[carrier + 1:])


def carried(after: SideState, bare: Event, carrier: Event) -> SideState | None:
    """`after` (folded with the `bare` carrier) as if folded with the `carrier` of the limit:
    the limit held (`waits`) and, for the submission, the event the intake keeps whole
    (`Intake.submitted`) the carrier — None when the intake holds another event than the bare
    one (then `_bookkeeping` folds again)."""
    if isinstance(bare, ApplicationSubmitted):
        if not isinstance(after, DestinationState) or after.intake.submitted is not bare:
            return None
        assert isinstance(carrier, ApplicationSubmitted)
        after = replace(after, intake=replace(after.intake, submitted=carrier))
    return waits(after, carrier)


def ended(s: SideState) -> SideState:
    """An ended side waits no more (the state itself when it already does not)."""
    return s if s.waiting is None else replace(s, waiting=None)


def waits(s: SideState, e: Event) -> SideState:
    """The side after `e`, holding the waiting limit `e` starts, if it starts one."""
    limit = waiting_of(e)
    if limit is None:
        return s
    return replace(s, waiting=(limit.waiting_state, limit.due_at), waiting_watch=dl.Watch(
        limit.due_at, limit.due_at, reckoning=limit.reckoning, basis=limit.basis,
        calendar_version=limit.calendar_version))
