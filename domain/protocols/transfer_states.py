"""States, constants and the shared base of the transfer deciders (see `domain.protocols.transfer`).

Why apart: the destination's and the origin's rules (`transfer_destination`, `transfer_origin`)
and the invariant checkers need the side states, the terminal pairs and the transition table,
without the other role's rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from domain import deadlines as dl
from domain.deadlines import (
    DeadlineRules,
    Watch,
)
from domain.kernel import (
    Actor,
    Command,
    CounterpartEventRejected,
    Event,
    EventRef,
    IllegalCommand,
    InvalidValue,
    NeedsAttentionRaised,
    Receive,
)
from domain.protocols.casework import (
    ABSENT,
    COUNTERPART_WAIT,
    SUPPLEMENT_WAIT,
    Bookkeeping,
    clear_steps,
    start_step,
    supplement_lapsed,
)
from domain.protocols.casework_events import (
    AttentionEscalated,
    AttentionResolved,
    EscalateAttention,
    Lapse,
    ResolveAttention,
    lapse_of,
)
from domain.protocols.intake import Intake
from domain.protocols.transfer_commands import CloseTransfer
from domain.protocols.transfer_sheets import InfoSheet, TransferSpec
from domain.protocols.transfer_waiting import TransferWaitingTimerSet

# --------------------------------------------------------------------------- states

DESTINATION_TERMINAL = frozenset(
    {"completed", "refused_by_origin", "withdrawn", "rejected", "lapsed", "closed"})
ORIGIN_ENDS = frozenset({"transferred_out", "refused", "released", "reinstated"})
CONCLUSION_FITS: Mapping[str, frozenset[str]] = {
    "completed": frozenset({"transferred_out", "remitting"}),
    "withdrawn": frozenset({"released", "refused", "reinstated"}),
    "refused_by_origin": frozenset({"refused", "released"}),
    "closed": frozenset({"released", "refused", "reinstated"}),
}
TERMINAL_PAIRS: frozenset[tuple[str, str]] = frozenset({
    ("completed", "transferred_out"),
    ("completed", "released"),  # a withdrawal overtaken by another origin's transfer-out
    ("refused_by_origin", "refused"),
    ("refused_by_origin", "released"),
    ("withdrawn", "released"),
    ("withdrawn", "refused"),
    ("withdrawn", "reinstated"),
    ("rejected", ABSENT),
    ("lapsed", ABSENT),
    ("withdrawn", ABSENT),
    ("closed", "released"),  # staff closed a stuck transfer (TransferCloseOrdered)
    ("closed", "refused"),
    ("closed", "reinstated"),
    ("closed", ABSENT),
})
#: Status changes each role may make (needs_attention is an overlay on these, not a status of
#: its own for this table); "" is "no side yet".
TRANSITIONS: frozenset[tuple[str, str]] = frozenset({
    ("", "submitted"),
    ("submitted", "accepted"), ("submitted", "rejected"), ("submitted", "supplement_requested"),
    ("submitted", "withdrawn"),
    ("supplement_requested", "submitted"), ("supplement_requested", "lapsed"),
    ("supplement_requested", "withdrawn"),
    ("accepted", "awaiting_holds"), ("accepted", "awaiting_transfer"), ("accepted", "withdrawn"),
    ("awaiting_holds", "awaiting_transfer"), ("awaiting_holds", "refusing"),
    ("awaiting_holds", "withdrawing"),
    ("awaiting_transfer", "completed"), ("awaiting_transfer", "refusing"),
    ("awaiting_transfer", "withdrawing"),
    ("withdrawing", "withdrawn"), ("withdrawing", "completed"),
    ("refusing", "refused_by_origin"),
    # staff close a transfer that needs attention: at once before the letters, else "closing"
    # until every origin answered (or "completed": one had already transferred out)
    ("submitted", "closed"), ("supplement_requested", "closed"), ("accepted", "closed"),
    ("awaiting_holds", "closing"), ("awaiting_transfer", "closing"),
    ("closing", "closed"), ("closing", "completed"),
    ("", "received"),
    ("received", "held"), ("received", "approved"), ("received", "refused"),
    ("received", "released"),
    ("held", "approved"), ("held", "released"),
    ("approved", "remitting"), ("approved", "transferred_out"), ("approved", "released"),
    ("remitting", "transferred_out"),
    ("transferred_out", "remitting"),  # a corrected sheet asks for more money (InfoSheetCorrected)
    ("transferred_out", "reinstated"),
    ("remitting", "reinstated"),  # reversed while a corrected sheet asked for more
})

#: Shared event types a side may send more than once on one link: a corrected sheet may itself
#: be corrected (each `InfoSheetCorrected` replaces the last; issue 15, item 5), and each return
#: of money answers its own fact with its own bank reference — an excess after each downward
#: correction (`ExcessReturned`), each notice reaching a case that credits no more
#: (`LateFundsReturned`). Every other shared type is sent once.
REPEATABLE_WIRE_TYPES: frozenset[str] = frozenset(
    {"InfoSheetCorrected", "ExcessReturned", "LateFundsReturned"})


@dataclass(frozen=True)
class OriginTrack:
    """The destination's view of one origin."""

    vote: Literal["held", "refused"] | None = None
    refusal: str = ""
    confirmed: bool = False
    sheet: InfoSheet | None = None
    funds: tuple[tuple[str, int], ...] = ()  # (bank_ref, amount_fen)
    excess_returned_fen: int = 0  # sent back beyond the sheet (`ExcessReturned`)
    corrections: int = 0  # corrected sheets applied (`InfoSheetCorrectionReceived`)
    reconciled_count: int = -1
    matched: bool = False
    cancel_sent: bool = False
    answer: Literal["released", "already_transferred"] | None = None
    reversed_fen: int | None = None

    @property
    def received_fen(self) -> int:
        """What the destination holds from this origin: notices less any excess returned."""
        return sum(amount for _, amount in self.funds) - self.excess_returned_fen

    @property
    def funds_in(self) -> bool:
        return self.sheet is not None and (self.sheet.amount_fen == 0 or bool(self.funds))

    @property
    def settled(self) -> bool:
        """Nothing more will happen with this origin (for closing without a transfer)."""
        return self.vote == "refused" or self.answer == "released" or self.reversed_fen is not None


def track_mismatched(t: OriginTrack) -> bool:
    """The origin's sheet and funds were reconciled and disagree, and nothing came since (the
    cheap tests first: asked every event, `DestinationState.mismatched`)."""
    return t.reconciled_count == len(t.funds) and not t.matched and t.funds_in


@dataclass(frozen=True, kw_only=True)
class SideBookkeeping:
    """What both sides keep alike, and `TransferDecider._evolve_common` folds alike: attention,
    deadlines, the waiting timer, counterpart events seen, ratings, and the application's details
    both sides carry. One declaration, so a field the common fold sets exists on both roles
    (keyword-only: it comes before each role's own fields, which have no defaults)."""

    attention: str = ""
    escalated: str = ""  # staff's 督办 reason while the attention lasts (AttentionEscalated)
    book: Mapping[str, Watch] = field(default_factory=dict)
    paused: Mapping[str, int] = field(default_factory=dict)  # stopped clocks: days left
    waiting: tuple[str, dt.datetime] | None = None
    waiting_watch: Watch | None = None  # how `waiting` was reckoned (the calendar recheck)
    seen: frozenset[EventRef] = frozenset()
    ratings: Bookkeeping = field(default_factory=Bookkeeping)  # 好差评 (`transfer_ratings`)
    agency: str = ""  # 退役军人: the 军队经办机构 of the origin (`TransferDetails.agency`)
    direction: str = ""  # b1-10, b1-11: the way the transfer goes (`TransferDetails.direction`)


@dataclass(frozen=True)
class DestinationState(SideBookkeeping):
    process: str
    case_id: str
    case_number: str
    region: str
    person_key: str
    scheme: str
    applicant_masked: str
    origins: tuple[str, ...]
    intake: Intake
    phase: str = "submitted"
    tracks: Mapping[str, OriginTrack] = field(default_factory=dict)
    letters_sent: bool = False
    proceed_sent: bool = False
    taken_over: bool = False
    reversal: str = ""  # an operator's reason for reversing (TransferReversalOrdered)
    closing: str = ""  # staff's reason for closing (TransferCloseOrdered): withdrawing shown as
    #                    "closing", concluded "closed"
    benefit: tuple[int, int] | None = None
    credited_fen: int = 0
    credited_months: int = 0

    role: Literal["destination"] = "destination"

    @property
    def two_phase(self) -> bool:
        return len(self.origins) > 1

    @property
    def mismatched(self) -> bool:
        """Some origin's sheet and funds were reconciled and disagree (and nothing came since)."""
        return any(map(track_mismatched, self.tracks.values()))

    @property
    def needs_person(self) -> bool:
        return bool(self.attention) or self.mismatched


@dataclass(frozen=True)
class OriginState(SideBookkeeping):
    process: str
    case_id: str
    case_number: str
    region: str
    destination: str
    person_key: str
    scheme: str
    applicant_masked: str
    origins: tuple[str, ...]
    two_phase: bool
    phase: str = "received"
    sheet: InfoSheet | None = None
    remitted_fen: int = 0
    returned_fen: int = 0
    corrections: int = 0  # InfoSheetCorrected sent (the sheet is the last one)
    cancel_received: bool = False
    concluded: str = ""
    #: The destination completed without this side's last correction (`CorrectionNotApplied`):
    #: the side needs a person, and ends only when staff resolve it (`AttentionResolved`).
    correction_unapplied: bool = False
    #: Every sheet this side sent, in order (`sheet` is the last until a `CorrectionForNewCase`):
    #: the destination concluded on the one its conclusion's count of corrections names.
    sheets: tuple[InfoSheet, ...] = ()
    #: The sheet the destination completed on, as its conclusion's count of corrections names
    #: it (a v2 conclusion): a late return keeps that sheet's amount (`_judge_kept`).
    concluded_sheet: InfoSheet | None = None
    #: The corrected sheet left to a new case (`CorrectionForNewCase`): `sheet` is then the
    #: concluded one, what this transfer carried; the difference is the 补转.
    new_case: InfoSheet | None = None

    role: Literal["origin"] = "origin"

    @property
    def sent_fen(self) -> int:
        """Remitted, less what came back (an excess, a reversal)."""
        return self.remitted_fen - self.returned_fen

    @property
    def needs_person(self) -> bool:
        return bool(self.attention) or self.correction_unapplied

    @property
    def for_new_case_fen(self) -> int:
        """The 补转 after completion: what the sheet left to a new case states beyond the one
        this transfer ended on (negative: to come back); 0 without one."""
        if self.new_case is None or self.sheet is None:
            return 0
        return self.new_case.amount_fen - self.sheet.amount_fen


SideState: TypeAlias = DestinationState | OriginState

#: Events that do not count as progress (they never clear needs_attention).
_NOT_PROGRESS = (NeedsAttentionRaised, CounterpartEventRejected, *dl.DEADLINE_EVENTS,
                 TransferWaitingTimerSet)


def waiting_name(status: str) -> str:
    if status == "supplement_requested":
        return SUPPLEMENT_WAIT
    return status if status in _OWN_WAITS else COUNTERPART_WAIT


#: The statuses a side waits in on its own account (any other waits for the counterpart).
_OWN_WAITS = frozenset({"submitted", "accepted", "received", "approved", "remitting"})


# --------------------------------------------------------------------------- the shared base


@dataclass
class TransferBase:
    """What both roles share: the scheme, the region's deadline rules, timers, status.

    Not frozen only because `kernel.Decider` declares `process` as a plain attribute (a frozen
    field is read-only to mypy); nothing here is ever reassigned.
    """

    spec: TransferSpec
    rules: DeadlineRules
    process: str = field(init=False)

    def __post_init__(self) -> None:
        self.process = self.spec.process

    def status(self, state: SideState) -> str:
        return self.status_of(state, state.needs_person, self.is_terminal(state))

    @staticmethod
    def status_of(state: SideState, needs_person: bool, terminal: bool) -> str:
        """`status`, given the state's `needs_person` and `is_terminal` (the summary has them)."""
        if needs_person and not terminal:
            return "needs_attention"
        if isinstance(state, DestinationState) and state.closing and state.phase == "withdrawing":
            return "closing"  # winds down like a withdrawal, but staff ended it
        return state.phase

    def is_terminal(self, state: SideState) -> bool:
        if isinstance(state, DestinationState):
            return state.phase in DESTINATION_TERMINAL
        return (bool(state.concluded) and state.phase in ORIGIN_ENDS
                and not state.correction_unapplied)

    def _deadline(self, step: str, now: dt.datetime, region: str) -> list[Event]:
        """The step's statutory or configured limit from `now`, kept by `region`."""
        return start_step(self.rules, self.process, step, now, deadline_clock(region))

    @staticmethod
    def _clear(state: SideState, step: str, now: dt.datetime) -> list[Event]:
        """A running step ends (a stopped clock is left alone: the book holds running ones)."""
        return clear_steps(state.book, [step], now, deadline_clock(state.region))

    def _common(self, state: SideState, command: Command, now: dt.datetime) -> list[Event] | None:
        """Timer commands and the refusal of anything else once the side has ended."""
        timer = dl.decide_timer(state.book, command, now)
        if timer is not None:
            return [] if self.is_terminal(state) else timer
        if (lapse := lapse_of(command)) is not None:
            return self._lapse(state, lapse, now)
        if self.is_terminal(state) and not isinstance(command, Receive):
            raise IllegalCommand(f"the case is already {state.phase} here", code="case_closed")
        return None

    def _lapse(self, state: SideState, command: Lapse, now: dt.datetime) -> list[Event]:
        """The waiting limit passed: 补正 lapses the case, any other wait needs a person."""
        w = state.waiting
        if self.is_terminal(state) or w is None or w[0] != command.step or now < w[1]:
            return []  # a stale timer command
        if w[0] == "supplement" and isinstance(state, DestinationState):
            return [supplement_lapsed(command.actor, now,
                                      "the missing materials were not supplied in time")]
        return [NeedsAttentionRaised(
            at=now, actor=command.actor,
            reason=f"no progress while {state.phase} within the waiting limit ({w[0]})")]


def stated(text: object, refusal: str, *, field: str, code: str) -> str:
    """`text` stripped, or `refusal` (an `InvalidValue` naming `field`) when it says nothing: a
    note, reason or bank reference a transfer command must state is checked the same way
    wherever a command carries one (a decoded command may hold any JSON value there, hence
    `object`)."""
    value = text.strip() if isinstance(text, str) else ""
    if not value:
        raise InvalidValue(refusal, code=code, field=field)
    return value


def resolve_attention(state: SideState, command: ResolveAttention,
                      now: dt.datetime) -> list[Event]:
    """Staff looked at a side that needs a person and resume it (with a note of what they did):
    the attention ends and, the status changing back, its waiting timer starts again (an
    origin the destination completed without its last correction ends: staff decided the
    补转)."""
    if not state.needs_person:
        raise IllegalCommand("the case does not need attention", code="no_attention")
    note = stated(command.note, "resolving needs a note saying what was done", field="note",
                  code="note_required")
    return [AttentionResolved(at=now, actor=command.actor, note=note)]


def escalate_attention(state: SideState, command: EscalateAttention,
                       now: dt.datetime) -> list[Event]:
    """督办 by staff: the side goes to the supervisors' queue with the reason, once for each
    time it comes to need attention (it still needs a person: escalating resolves nothing)."""
    if not state.needs_person:
        raise IllegalCommand("the case does not need attention", code="no_attention")
    reason = stated(command.reason, "escalating states its reason", field="reason",
                    code="reason_required")
    if state.escalated:
        raise IllegalCommand(f"already escalated: {state.escalated}", code="already_escalated")
    return [AttentionEscalated(at=now, actor=command.actor, reason=reason)]


def close_reason(state: SideState, command: CloseTransfer) -> str:
    """The reason of a close, which only a side that needs attention takes."""
    reason = stated(command.reason, "closing states its reason", field="reason",
                    code="reason_required")
    if not state.needs_person:
        raise IllegalCommand("only a case that needs attention is closed by staff; otherwise it "
                             "runs its course", code="no_attention")
    return reason


def deadline_clock(region: str) -> Actor:
    """Who records a transfer side's deadlines: the region's deadline policy."""
    return Actor.system("deadlines", region)
