"""A transfer side's waiting limit as recorded events: the older streams' own
`TransferWaitingTimerSet`, the recheck's `WaitingTimerRecomputed`, and how to read the limit a
status event starts (`waiting_of`, `carries_waiting`).

Why a module of their own: the limit is bookkeeping every status change of both roles shares
(`transfer._bookkeeping`, `transfer_bookkeeping.waits`), read by the node's calendar recheck
(`regions.core.timer`) and the simulator's oracles, apart from the vocabulary of the transfer
itself (`transfer_events`) and its commands (`transfer_commands`). The events are stored and
sent by type name, never by module, so records written while they lived in `transfer_events`
decode unchanged (tests/unit/test_transfer_modules.py).
"""

from __future__ import annotations

import datetime as dt

from domain.kernel import Event, domain_event
from domain.reckoning import Reckoning, WaitingLimit, upcast_from_basis


@domain_event
class TransferWaitingTimerSet(Event):
    """The side entered a waiting status; past `due_at` the wait ends (lapse or needs_attention).
    `reckoning`: how `due_at` was counted (schema v1 records get theirs read from the basis).

    Recorded after a status event that does not carry its limit (`waiting_of`); the status
    events of a transfer's usual course carry it themselves since issue 17, and every stream
    recorded before still folds through this event."""

    SCHEMA_VERSION = 2
    UPCASTERS = {1: upcast_from_basis}  # noqa: RUF012 (the kernel's ClassVar)
    waiting_state: str
    status: str
    due_at: dt.datetime
    basis: str
    calendar_version: str
    reckoning: Reckoning | None = None


def waiting_of(event: Event) -> WaitingLimit | None:
    """The waiting limit `event` starts: the one a status event carries, or an older stream's
    `TransferWaitingTimerSet`; None for any other event."""
    if isinstance(event, TransferWaitingTimerSet):
        return WaitingLimit(event.waiting_state, event.due_at, event.basis,
                            event.calendar_version, event.reckoning)
    waiting = getattr(event, "waiting", None)
    return waiting if isinstance(waiting, WaitingLimit) else None


def carries_waiting(event: Event) -> bool:
    """Whether `event`'s type has a `waiting` field for the limit of the status it starts."""
    found = _CARRIES.get(type(event))
    if found is None:
        found = _CARRIES[type(event)] = "waiting" in type(event).__dataclass_fields__
    return found


_CARRIES: dict[type[Event], bool] = {}


@domain_event
class WaitingTimerRecomputed(Event):
    """A provisional waiting timer reckoned again once official calendar data covers it
    when the node starts on a changed calendar: `due_at` holds from now on (never earlier than
    `previous_due_at`); `official_due_at` is what the recomputation gave."""

    waiting_state: str
    due_at: dt.datetime
    previous_due_at: dt.datetime
    official_due_at: dt.datetime
    basis: str
    calendar_version: str
