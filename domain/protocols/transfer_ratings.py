"""好差评 on a transfer (issue 13): the same ratings and follow-ups as every other protocol
(`casework.decide_annotation`), kept in a side's `ratings` book.

Why apart from the role modules: a rating is an annotation, not a phase; it arrives after the
end (a case is rated once finished), so it must bypass the terminal refusal and the status
bookkeeping of `TransferDecider.decide`, and its follow-up timer runs on an ended side.

Who rates what: the applicant deals with the destination (转入地), so they rate through it —
the destination itself (the default) or any origin its letters reached; a rating of an origin is
sent there (`RatingGiven`) and the origin records it (`RatingReceived`) and, when poor, opens
its own follow-up with its own limit. An origin takes no `Rate` directly (`rate_elsewhere`).
"""

from __future__ import annotations

import datetime as dt

from domain.deadlines import DeadlineRules, FlagDeadlineMissed
from domain.fold import replace
from domain.kernel import Command, Event, Receipt, Receive
from domain.protocols.casework import (
    FOLLOW_UP_STEP,
    RatingContext,
    decide_annotation,
    evolve_bookkeeping,
    follow_up_next,
    follow_up_timers,
    receive_rating,
)
from domain.protocols.casework_events import (
    CloseFollowUp,
    FollowUpClosed,
    FollowUpOpened,
    FollowUpOverdue,
    FollowUpRecomputed,
    Rate,
    RatingGiven,
    RatingReceived,
)
from domain.protocols.transfer_states import DESTINATION_TERMINAL, DestinationState, SideState

RATING_EVENTS: tuple[type[Event], ...] = (
    RatingGiven, RatingReceived, FollowUpOpened, FollowUpRecomputed, FollowUpOverdue,
    FollowUpClosed)


def rating_context(state: SideState) -> RatingContext | None:
    """The destination rates itself and every origin its letters reached; an origin none."""
    if not isinstance(state, DestinationState):
        return None
    origins = state.origins if state.letters_sent else ()
    return RatingContext(own_region=state.region, default_region=state.region,
                         rateable=(state.region, *origins),
                         finished=state.phase in DESTINATION_TERMINAL)


def decide_rating(state: SideState, command: Command, now: dt.datetime, rules: DeadlineRules,
                  process: str) -> list[Event] | None:
    """Events for a rating, a received rating, closing a follow-up or its timer; None for any
    other command (the role's rules decide it)."""
    if isinstance(command, Receive):
        if not isinstance(command.event, RatingGiven):
            return None
        if command.ref in state.seen:
            return []  # a re-delivery
        return receive_rating(state.ratings, command, state.region, now, rules, process)
    if isinstance(command, FlagDeadlineMissed) and command.step != FOLLOW_UP_STEP:
        return None
    if not isinstance(command, (Rate, CloseFollowUp, FlagDeadlineMissed)):
        return None
    return decide_annotation(state.ratings, command, now, rating_context(state), rules, process)


def evolve_rating(state: SideState, event: Event) -> SideState:
    """Record a rating event in the side's `ratings` (a received one is also `seen`)."""
    state = replace(state, ratings=evolve_bookkeeping(state.ratings, event))
    if isinstance(event, Receipt):
        state = replace(state, seen=state.seen | {event.ref})
    return state


def follow_up_timer(state: SideState, now: dt.datetime) -> list[Command]:
    return follow_up_timers(state.ratings, now, state.region)


def follow_up_due(state: SideState) -> dt.datetime | None:
    return follow_up_next(state.ratings)
