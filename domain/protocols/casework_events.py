"""Events, commands and values every protocol shares (see `domain.protocols.casework`).

Why apart: the annotations (attention notes, 好差评 ratings and follow-ups), the one timer
command for a waiting limit (`Lapse`) and the facts of an application are vocabulary — of the
wire schema, the views and every protocol's events — without the bookkeeping rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domain.kernel import (
    Command,
    CounterpartEventRejected,
    Event,
    NeedsAttentionRaised,
    Receipt,
    domain_event,
)
from domain.protocols.intake import ApplicationSubmitted
from domain.protocols.transfer_events import LateFundsReturned
from domain.protocols.transfer_receipts import LateCorrectionReceived, LateFundsReturnReceived
from domain.reckoning import Reckoning
from domain.values import CaseNumber, case_id_of

# =========================================================================== annotations


@domain_event
class AttentionResolved(Event):
    """Staff looked at a `needs_attention` case and let it continue (note mandatory)."""

    note: str


@domain_event
class AttentionEscalated(Event):
    """督办 raised by staff: a side that needs attention goes to the supervisors' queue with the
    staff member's reason; it still needs attention (escalating is not resolving).

    Not the deadline timer's `Escalated`: that one is a step's deadline passing its escalation
    instant (its `step` and `due_at` fold into the deadline book, once per step, by the node's
    clock); this one is a person's act on a case with no deadline of its own to escalate (a
    wait that ran out, a money mismatch), and what it carries is who and why.
    """

    reason: str


@domain_event
class RatingGiven(Event):
    """The applicant's 好差评 of one region for this case; shared when that region is the peer."""

    WIRE = True
    rated_region: str
    score: int
    comment: str = ""


@domain_event
class RatingReceived(Receipt):
    """The rated region recorded the rating the applicant gave through the other side."""

    rated_region: str
    score: int
    comment: str = ""


@domain_event
class FollowUpOpened(Event):
    """A poor rating (1–2) asks the rated region's staff to follow up (差评整改) by `due_at`
    (the region's follow-up limit, step "follow_up" of its limits; None in old records), counted
    as `reckoning` says on the calendar `calendar_version` names ("" in records from before the
    calendar recheck: those are not reckoned again)."""

    rated_region: str
    score: int
    due_at: dt.datetime | None = None
    calendar_version: str = ""
    reckoning: Reckoning | None = None


@domain_event
class FollowUpRecomputed(Event):
    """A provisional follow-up due date reckoned again once official calendar data covers it
    when the node starts on a changed calendar: `due_at` holds from now on (never earlier than
    `previous_due_at`); `official_due_at` is what the recomputation gave."""

    due_at: dt.datetime
    previous_due_at: dt.datetime
    official_due_at: dt.datetime
    calendar_version: str


@domain_event
class FollowUpOverdue(Event):
    """The follow-up was not closed by its due date (督办 of a 差评, an annotation)."""

    due_at: dt.datetime


@domain_event
class FollowUpClosed(Event):
    note: str


#: Events allowed after a terminal state: they never change a side's status.
ANNOTATIONS: tuple[type[Event], ...] = (
    RatingGiven, RatingReceived, FollowUpOpened, FollowUpRecomputed, FollowUpOverdue,
    FollowUpClosed, AttentionResolved,
    CounterpartEventRejected, NeedsAttentionRaised, LateCorrectionReceived,
    LateFundsReturned, LateFundsReturnReceived,
)


@dataclass(frozen=True, kw_only=True)
class Rate(Command):
    """好差评: `rated_region` "" means the handling region (the one that decided)."""

    score: int
    comment: str = ""
    rated_region: str = ""


@dataclass(frozen=True, kw_only=True)
class CloseFollowUp(Command):
    note: str


@dataclass(frozen=True, kw_only=True)
class ResolveAttention(Command):
    note: str


@dataclass(frozen=True, kw_only=True)
class EscalateAttention(Command):
    """督办: hand a case that needs attention to the supervisors, with the reason."""

    reason: str


# =========================================================================== lapses


@dataclass(frozen=True, kw_only=True)
class Lapse(Command):
    """Timer: the waiting limit of `step` has passed (逾期未补正, permit not used...)."""

    step: str


# The name back-ends knew for a transfer's `Lapse` before every protocol shared one command
# (AsyncAPI 1.x publishes it, with its field `waiting_state`): still decoded, and read as
# `Lapse` by every decider (`lapse_of`). No docstring: its published schema has no description.
@dataclass(frozen=True, kw_only=True)
class ExpireWaiting(Command):
    waiting_state: str


def lapse_of(command: Command) -> Lapse | None:
    """The `Lapse` a command means (its wire alias `ExpireWaiting` included), else None."""
    if isinstance(command, ExpireWaiting):
        return Lapse(actor=command.actor, step=command.waiting_state)
    return command if isinstance(command, Lapse) else None


# =========================================================================== case facts


@dataclass(frozen=True)
class CaseFacts:
    """What every side of an application knows about it (travels with the forwarded case)."""

    case_number: str
    process: str
    item_id: str
    mode: str
    person_key: str
    applicant_masked: str

    @property
    def case_id(self) -> str:
        return case_id_of(self.case_number)

    @property
    def accepting_region(self) -> str:
        """The region whose window or portal took the application: it is in the case number."""
        return str(CaseNumber.parse(self.case_number).region)


def facts_of(event: ApplicationSubmitted) -> CaseFacts:
    return CaseFacts(event.case_number, event.process, event.item_id, event.mode,
                     event.person_key, event.applicant_masked)
