"""The generic transfer protocol (转移接续, 多地联办): one destination, one or several origins.

Why one machine for four schemes: pension, unemployment, medical insurance and the housing fund
all follow reference/domain.md §1 — the destination (转入地) accepts and sends a contact letter
(联系函), each origin (转出地) checks, issues an info sheet (信息表), remits the funds and ends the
local relationship, and the destination completes only when sheet and money match. The scheme
modules (`pension`, `unemployment`, `medical`, `housing_fund`) supply a `TransferSpec`: the sheet
rule, whether the relationship moves before the money, whether receipt is confirmed, and so on.

Both sides are deciders of one `TransferDecider`; the side state's type says the role. The code:
`transfer_events` (the vocabulary: values, events, commands), `transfer_states` (side states,
terminal pairs, transition table, shared base), `transfer_destination` and `transfer_origin`
(each role's rules; the destination's money — bank notices, reconciliation, returns — in
`transfer_money`), `transfer_options` (what people plausibly do next, for the simulator), and
this module (the decider, register effects, each scheme's interface).

Destination (转入地). Each row: status | input → events → next status.

    —                 | Submit → ApplicationSubmitted + DeadlineSet(contact_letter) → submitted
    submitted         | AcceptIntake → IntakeAccepted → accepted
    submitted         | RejectIntake (the written refusal meets the clock) → rejected;
                      | RequestSupplement → + DeadlinePaused(contact_letter) → supplement_req.
    supplement_req.   | ProvideSupplement → + DeadlineSet(contact_letter, the days left)
                      |   → submitted;
                      | waiting timer "supplement" → CaseLapsed → lapsed
    submitted         | OpenTemporaryAccount (企业职工, a mover of 50/40 to a province not the
                      |   户籍地) → TemporaryAccountOpened + IntakeRejected → rejected
    submitted…accepted| Withdraw → ApplicationWithdrawn → withdrawn
    accepted          | policy SendContactLetters → ContactLetterIssued ×origins + DeadlineCleared
                      |   → awaiting_holds (several origins) / awaiting_transfer (one origin)
    awaiting_holds    | TransferOutHeld received (receipt) → —;
                      | policy, all hold: InstructProceed → ProceedInstructed ×origins
                      |   → awaiting_transfer
    awaiting_*        | TransferOutRefused received → OriginRefusalReceived + TransferCancelled
                      |   to the other origins → refusing
    awaiting_transfer | InfoSheetIssued received → InfoSheetReceived (+ DeadlineSet(transfer_in))
    awaiting_*        | RecordFundsReceived (own finance) → FundsReceived → —
    awaiting_transfer | policy Reconcile (sheet and funds in) → Reconciled(matched) (+ DeadlineSet
                      |   (completion) once all are in) → —; mismatch: + NeedsAttentionRaised
                      |   → needs_attention (a later matching top-up resolves it)
    awaiting_transfer | InfoSheetCorrected received → InfoSheetCorrectionReceived (the sheet is
    / withdrawing     |   replaced; reconciled again) → —
    awaiting_transfer | ReturnExcess (finance: received more than the sheet) → ExcessReturned
    / withdrawing     |   (the amount beyond the sheet, to the origin; reconciled again) → —
    needs_attention   | ResolveAttention(note) → AttentionResolved (a new waiting timer); refused
                      |   (`correction_needed`) while sheet and funds disagree
    needs_attention   | EscalateAttention(reason) → AttentionEscalated (督办: the supervisors'
                      |   queue; still needs attention; once until the attention ends)
    needs_attention   | CloseTransfer(reason), no sheet or money in, not taken over (else
                      |   `already_transferred`): before the letters → TransferCaseClosed(closed)
                      |   → closed; after → TransferCloseOrdered + TransferCancelled ×origins
                      |   → closing (the withdrawal's handshake; CloseCase concludes "closed", or
                      |   completes what an origin had already transferred out)
    awaiting_transfer | policy TakeOverRelationship (sheets in; unemployment, medical)
                      |   → RelationshipTakenOver [register: open] → —
    awaiting_transfer | policy CompleteTransfer (all matched) → TransferConcluded ×origins +
                      |   TransferCompleted [register: open unless taken over] → completed
    awaiting_*        | Withdraw, no sheet or money in yet → ApplicationWithdrawn +
                      |   TransferCancelled ×origins → withdrawing (else `already_transferred`)
    awaiting_transfer | ReverseTransfer(reason), operator only, something sent →
                      |   TransferReversalOrdered + TransferCancelled ×origins → withdrawing
    withdrawing       | CancellationAnswered received (receipt); an "already_transferred" origin
                      |   overtook the withdrawal: policy Reconcile its sheet and funds; only
                      |   after a reversal: policy ReturnFunds once they are in → TransferReversed
    withdrawing       | policy CloseCase, every origin settled → TransferConcluded ×origins +
    / refusing        |   TransferCaseClosed → withdrawn / refused_by_origin; some origin
                      |   overtook it (no reversal) → TransferConcluded(completed to it,
                      |   withdrawn to the others) + TransferCompleted → completed
    any waiting state | waiting timer → NeedsAttentionRaised → needs_attention

Origin (转出地):

    —                 | ContactLetterIssued received → ContactLetterReceived + DeadlineSet
                      |   (transfer_out) (+ ContactLetterConfirmed, housing fund) → received
    received          | ApproveTransferOut → TransferOutHeld [register: begin_move_out]
                      |   (+ DeadlinePaused(transfer_out), several origins) → held / approved
    received          | RefuseTransferOut(reason) → TransferOutRefused → refused
    held              | ProceedInstructed received → receipt + DeadlineSet(transfer_out resumed)
                      |   → approved
    approved          | IssueInfoSheet → InfoSheetIssued [register: end] → remitting
                      |   (transferred_out when the sheet moves no money)
    remitting         | RemitFunds (the sheet less what was sent) → FundsRemitted → transferred_out
    remitting / out   | CorrectInfoSheet(sheet, reason), not concluded → InfoSheetCorrected
                      |   → remitting (it states more than was sent) / transferred_out
    remitting / out   | ExcessReturned received → ExcessReturnReceived (sent less what it
                      |   sent beyond its sheet; the rest is a bank error coming back)
    needs_attention   | ResolveAttention(note) → AttentionResolved; EscalateAttention(reason)
                      |   → AttentionEscalated
    received, needing | CloseTransfer(reason) → TransferOutRefused(reason) → refused (an origin
      attention       |   ends its side by refusing; after deciding it may not close:
                      |   `destination_owns_case`)
    received…approved | TransferCancelled received → CancellationReceived (+ HoldReleased
                      |   [register: cancel_move_out]) + CancellationAnswered(released) → released
    remitting / out   | TransferCancelled received → + CancellationAnswered(already_transferred)
    refused           | TransferCancelled received → CancellationReceived (the refusal answers)
    transferred_out   | TransferReversed received → TransferReversalReceived + TransferOutReversed
                      |   [register: reinstate] → reinstated
    the four ends     | TransferConcluded received → ConclusionReceived → (terminal)

The origin's four end statuses become terminal only when the destination's `TransferConcluded`
arrives (and agrees with them: "completed" needs transferred_out, "withdrawn" needs released,
refused or reinstated, "refused_by_origin" needs refused or released). This close handshake is
why nothing ever arrives at a terminal side: the destination concludes last, after every origin
is settled, and the origin sends nothing after its conclusion.

Allowed terminal pairs (destination, origin); "absent" = the origin never heard of the case:
(completed, transferred_out), (completed, released) (a withdrawal overtaken by another origin's
transfer-out), (refused_by_origin, refused), (refused_by_origin, released),
(withdrawn, released), (withdrawn, refused), (withdrawn, reinstated), (rejected, absent),
(lapsed, absent), (withdrawn, absent), (closed, released), (closed, refused),
(closed, reinstated), (closed, absent). `needs_attention` is a resting state, not a terminal one.

Design decisions, and why:
- Several origins use two phases (reference §1 invariant 4, "不允许出现A转出地允许转入，B转出地不
  允许转入"): each origin checks and *holds* (register `in_transit`); only when all hold does the
  destination instruct them to proceed; a refusal makes the destination cancel the others, whose
  holds are released. A held origin cannot refuse any more (it voted). With one origin the letter
  itself is the instruction (one phase), as in the national transfer system.
- Withdrawal (issue 15, item 6): the plan's "已上传的结果信息不允许撤销" and practice say that once
  an origin has sent its sheet or money the transfer completes; moving back is a new case. So a
  withdrawal is refused (`already_transferred`) once the destination has any origin's sheet or
  money, or has taken the relationship over. A withdrawal racing a transfer-out the destination
  did not know of yet asks every origin to cancel: one that has not issued its sheet releases;
  one that has answers `already_transferred`, and its transfer completes (reconciled as usual;
  the others are concluded as withdrawn). Reversal is an operator's exceptional act with a
  reason (`ReverseTransfer`, actor kind staff, role "operator"): the destination returns what
  its finance received once it matches the sheet (`TransferReversed`) and the origin reinstates
  the relationship.
- Corrections (issue 15, item 5) are compensating events, never edits: the origin's
  `InfoSheetCorrected` replaces the sheet the destination reconciles against (the first stays on
  record), and the destination's `ExcessReturned` sends back what it received beyond the sheet
  (its received total drops; the origin's sent total by what it sent beyond its sheet). So more
  money than stated ends in a return and a completion instead of needs_attention for good, and
  a withdrawal overtaken by such a transfer-out ends as well. A correction reaching a
  destination that already concluded is rejected like any late counterpart event: the origin
  corrects only on the destination's word (the mismatch it reported), before the conclusion.
  `ResolveAttention` resumes a side whose wait timed out (not drawn by `options`: resuming every
  timed-out wait would keep a simulated world from coming to rest).
- Escalating and closing (issue 13: resolve needs_attention by retry, correct, escalate, close
  with a reason). Escalation (督办) is a person's act with a reason (`AttentionEscalated`), not
  the deadline timer's `Escalated`, which is keyed by a step's deadline and folded into the
  deadline book. Closing belongs to the destination: reference/domain.md §1 "转入地…initiates
  the case, and it owns the case"; an origin ends its side only by refusing before it decided
  (`destination_owns_case` after that). Money is never closed away: a close is refused once any
  origin's sheet or money has come (`already_transferred`) — §1 invariant 1 (Σ funds out = Σ
  funds in per case), invariant 3 (已上传的结果信息不允许撤销: corrections, not erasure) and
  "a data/money mismatch → the 转入地 holds the case … and clears it up with the 转出地"; the way
  out is a correction, the rest of the money, or an operator's reversal. After the letters the
  close runs the withdrawal's handshake (origins release what they hold, then the conclusion
  "closed"), so a sheet or money already on its way is answered `already_transferred` and
  completes, never lost; the destination is terminal once every origin answered.
- Reconciliation compares two independent inputs: the origin's sheet and the destination's own
  `RecordFundsReceived` (bank notice or staff), never the origin's `FundsRemitted`, which stays
  local. A mismatch raises needs_attention; a later top-up that makes the sums agree resolves it.
  A second notice with a bank reference already recorded is refused (`duplicate_bank_ref`).
- Duplicate delivery: every counterpart event is received at most once per side (its `EventRef`
  is remembered, also when it was rejected); a repeat yields no events at all.
- Every waiting status has a timer (`TransferWaitingTimerSet`, from `rules.waiting_limit`), reset
  on each status change: 补正 lapses the case, any other wait raises needs_attention, so every
  case can end. Any later business event clears that (e.g. the late sheet arrives); a funds
  mismatch lasts until new funds for that origin arrive and reconcile.
- The destination's review clock (`contact_letter`, issue 15 item 2) runs from the submission
  to the 联系函 or a written refusal (15 working days, unemployment 5, housing fund 3), and
  stops while the applicant supplies missing materials (补正): their time is not the office's.
- Deadlines: the owning side records `DeadlineSet` per statutory step (none where the statute and
  the region have no limit); the origin's transfer_out clock stops while it holds for the
  destination's instruction (the wait is not its own) and resumes with the days it had left.

In scope: the generic events of reference §1 (#1–10), invariants 1–5 and 7, the opening of a
临时缴费账户 instead of a transfer (`pension_temporary`), the 待遇领取地 check of a pension
transfer at retirement (`pension_payer`). Not yet in scope: periodic net
settlement (川渝 定期结算, invariant 6 — `SettlementDeferred`), the origin's
own finance confirming returned funds (the reversal notice is trusted for the amount), intake's
deemed acceptance after 5 days.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from domain import deadlines as dl
from domain.deadlines import (
    DeadlineCleared,
    DeadlinePaused,
    DeadlineRules,
    DeadlineSet,
)
from domain.fold import replace
from domain.kernel import (
    Actor,
    Command,
    CounterpartEventRejected,
    Event,
    IllegalCommand,
    NeedsAttentionRaised,
    Receipt,
    Receive,
    SideSummary,
)
from domain.protocols import transfer_ratings as ratings
from domain.protocols.casework import recheck_follow_up
from domain.protocols.casework_events import AttentionEscalated, Lapse
from domain.protocols.details import PensionStint, TransferDetails
from domain.protocols.intake import (
    ApplicationSubmitted,
    Channel,
    Submit,
    evolve_intake,
)
from domain.protocols.transfer_destination import DestinationSide
from domain.protocols.transfer_events import (
    ApproveTransferOut,
    BenefitStarted,
    CancellationAnswered,
    CancellationAnswerReceived,
    CancellationReceived,
    CloseCase,
    CloseTransfer,
    CompleteTransfer,
    Component,
    ConclusionReceived,
    ContactLetterConfirmed,
    ContactLetterIssued,
    ContactLetterReceived,
    ContributionYear,
    CorrectInfoSheet,
    ExcessReturned,
    ExcessReturnReceived,
    FundsReceived,
    FundsRemitted,
    HoldReleased,
    InfoSheet,
    InfoSheetCorrected,
    InfoSheetCorrectionReceived,
    InfoSheetIssued,
    InfoSheetReceived,
    InstructProceed,
    IssueInfoSheet,
    OriginRefusalReceived,
    ProceedInstructed,
    Reconcile,
    Reconciled,
    RecordFundsReceived,
    RefuseTransferOut,
    RelationshipEvent,
    RelationshipTakenOver,
    RemitFunds,
    ReturnExcess,
    ReturnFunds,
    ReverseTransfer,
    SendContactLetters,
    SheetRule,
    SheetSampler,
    StartBenefit,
    TakeOverRelationship,
    TransferCancelled,
    TransferCaseClosed,
    TransferCompleted,
    TransferConcluded,
    TransferMessageReceived,
    TransferOutHeld,
    TransferOutRefused,
    TransferOutReversed,
    TransferReversalOrdered,
    TransferReversalReceived,
    TransferReversed,
    TransferSpec,
    TransferWaitingTimerSet,
    WaitingTimerRecomputed,
    check_sheet_shape,
)
from domain.protocols.transfer_options import options
from domain.protocols.transfer_origin import OriginSide
from domain.protocols.transfer_states import (
    ABSENT,
    CONCLUSION_FITS,
    DESTINATION_TERMINAL,
    ORIGIN_ENDS,
    REPEATABLE_WIRE_TYPES,
    TERMINAL_PAIRS,
    TRANSITIONS,
    DestinationState,
    OriginState,
    OriginTrack,
    SideState,
    TransferBase,
    agency_of,
    direction_of,
    origins_of,
    waiting_name,
)
from domain.registers import EffectKind, RegisterEffect, effect_of
from domain.values import CaseNumber, MaterialRef, RegionCode

# --------------------------------------------------------------------------- helpers


def application(
    process: str, case_number: CaseNumber, person_key: str, origins: Sequence[RegionCode | str],
    actor: Actor, *, applicant_masked: str = "", item_id: str = "", channel: Channel = "window",
    materials: tuple[MaterialRef, ...] = (), agency: str = "", direction: str = "",
    employee_months: int = 0, hukou_region: str | None = None, stints: tuple[PensionStint, ...] = (),
) -> Submit:
    """The `Submit` command of a transfer application accepted by the case number's region
    (`agency`: the 军队经办机构 a veteran's pension comes from, reached through `origins`;
    `direction`, `employee_months`: a two-way item's; `hukou_region`, `stints`: a pension
    transfer at retirement's — `TransferDetails`)."""
    return Submit(
        actor=actor, case_number=str(case_number), item_id=item_id or process, process=process,
        mode="joint", person_key=person_key, applicant_masked=applicant_masked,
        channel=channel, materials=materials,
        details=TransferDetails(tuple(str(o) for o in origins), agency=agency,
                                direction=direction, employee_months=employee_months,
                                hukou_region=hukou_region, stints=stints))


# --------------------------------------------------------------------------- the decider


@dataclass
class TransferDecider(DestinationSide, OriginSide):
    """Both sides of one scheme's transfer; the state's type tells the role."""

    def summary(self, state: SideState) -> SideSummary:
        status, terminal = self.status(state), self.is_terminal(state)
        if isinstance(state, DestinationState):
            sheets = [t.sheet for t in state.tracks.values() if t.sheet is not None]
            returned = sum(t.reversed_fen or 0 for t in state.tracks.values())
            return SideSummary(
                case_id=state.case_id, process=state.process, role="destination",
                region=state.region, status=status, terminal=terminal,
                needs_attention=state.needs_person, person_key=state.person_key,
                scheme=state.scheme, peer_regions=state.origins,
                amount_stated=sum(s.amount_fen for s in sheets),
                amount_received=sum(t.received_fen for t in state.tracks.values()) - returned,
                amount_credited=state.credited_fen, months_stated=sum(s.months for s in sheets),
                months_credited=state.credited_months)
        sheet = state.sheet
        return SideSummary(
            case_id=state.case_id, process=state.process, role="origin", region=state.region,
            status=status, terminal=terminal, needs_attention=state.needs_person,
            person_key=state.person_key, scheme=state.scheme, peer_regions=(state.destination,),
            amount_stated=sheet.amount_fen if sheet else 0,
            amount_sent=state.remitted_fen - state.returned_fen,
            months_stated=sheet.months if sheet else 0)

    def next_timer(self, state: SideState) -> dt.datetime | None:
        follow_up = ratings.follow_up_due(state)  # runs after the end too
        if self.is_terminal(state):
            return follow_up
        times = [t for t in (dl.next_due(state.book), state.waiting[1] if state.waiting else None,
                             follow_up) if t is not None]
        return min(times, default=None)

    def timers(self, state: SideState, now: dt.datetime) -> list[Command]:
        out = ratings.follow_up_timer(state, now)
        if self.is_terminal(state):
            return out
        out += dl.due_commands(state.book, now, state.region)
        if state.waiting is not None and now >= state.waiting[1]:
            out.append(Lapse(actor=Actor.system("waiting_timer", state.region),
                             step=state.waiting[0]))
        return out

    def decide(self, state: SideState | None, command: Command, now: dt.datetime) -> list[Event]:
        """Events for `command`, plus the bookkeeping every status change implies (a rating
        is an annotation: it moves no status, so it needs none)."""
        if state is not None:
            rated = ratings.decide_rating(state, command, now, self.rules, self.process)
            if rated is not None:
                return rated
            if isinstance(command, dl.RecheckDeadlines):
                return self._recheck(state, command, now)
        if state is None:
            if isinstance(command, Receive):
                events = self._origin_first(command, now)
            else:
                events = self._destination(None, command, now)
        elif isinstance(state, DestinationState):
            events = self._destination(state, command, now)
        else:
            events = self._origin(state, command, now)
        return self._bookkeeping(state, events, now)

    def _recheck(self, state: SideState, command: dl.RecheckDeadlines,
                 now: dt.datetime) -> list[Event]:
        """The calendar changed: every provisional date this side recorded is reckoned again
        (`deadlines.recheck`, later only) — its deadlines and waiting timer while it runs, and
        an open follow-up's due date (which runs after the end)."""
        events: list[Event] = []
        if not self.is_terminal(state):
            events += dl.decide_recheck(state.book, command, now, self.rules) or []
            w, held = state.waiting, state.waiting_watch
            found = None if w is None or held is None else dl.recheck(held, self.rules)
            if found is not None and w is not None:
                events.append(WaitingTimerRecomputed(
                    at=now, actor=command.actor, waiting_state=w[0], due_at=found.due_at,
                    previous_due_at=w[1], official_due_at=found.spec.due_at,
                    basis=found.spec.basis, calendar_version=found.spec.calendar_version))
        return events + recheck_follow_up(state.ratings, command.actor, now, self.rules)

    def _bookkeeping(self, before: SideState | None, events: list[Event], now: dt.datetime,
                     ) -> list[Event]:
        """A new waiting timer on entering a waiting status; clear everything on reaching an end."""
        if not events:
            return events
        after = before
        for e in events:
            after = self.evolve(after, e)
        assert after is not None
        old = self.status(before) if before is not None else ""
        new = self.status(after)
        if self.is_terminal(after):
            actor = Actor.system("transfer_policy", after.region)
            clears: list[Event] = [DeadlineCleared(at=now, actor=actor, step=step)
                                   for step in sorted(after.book)]
            return clears + events
        if new != old and new != "needs_attention":
            name = waiting_name(new)
            spec = self.rules.waiting_limit(self.process, name, now)
            events.append(TransferWaitingTimerSet(
                at=now, actor=Actor.system("waiting_timer", after.region), waiting_state=name,
                status=new, due_at=spec.due_at, basis=spec.basis,
                calendar_version=spec.calendar_version, reckoning=spec.reckoning))
        return events

    def evolve(self, state: SideState | None, event: Event) -> SideState:
        if state is None:
            if isinstance(event, ApplicationSubmitted):
                number = CaseNumber.parse(event.case_number)
                origins = origins_of(event)
                intake = evolve_intake(None, event)
                assert intake is not None
                return DestinationState(
                    process=event.process, case_id=str(number.case_id),
                    case_number=event.case_number, region=str(number.region),
                    person_key=event.person_key, scheme=self.spec.scheme,
                    applicant_masked=event.applicant_masked, origins=origins, intake=intake,
                    tracks={o: OriginTrack() for o in origins}, agency=agency_of(event),
                    direction=direction_of(event))
            if isinstance(event, ContactLetterReceived):
                return OriginState(
                    process=event.process, case_id=event.case_id, case_number=event.case_number,
                    region=event.region, destination=event.from_region,
                    person_key=event.person_key, scheme=self.spec.scheme,
                    applicant_masked=event.applicant_masked, origins=event.origins,
                    two_phase=event.two_phase, seen=frozenset({event.ref}), agency=event.agency,
                    direction=event.direction)
            raise IllegalCommand(f"a transfer side cannot start with {event.TYPE}",
                                 code="not_a_first_event")
        if isinstance(event, ratings.RATING_EVENTS):
            return ratings.evolve_rating(state, event)
        new = self._evolve_common(state, event)
        if isinstance(new, DestinationState):
            new = self._evolve_destination(new, event)
        else:
            new = self._evolve_origin(new, event)
        if self.is_terminal(new):
            new = replace(new, waiting=None)
        return new

    def _evolve_common(self, s: SideState, e: Event) -> SideState:
        if isinstance(e, dl.DEADLINE_EVENTS):
            s = replace(s, book=dl.watch(s.book, e))
            if isinstance(e, DeadlinePaused):
                s = replace(s, paused={**s.paused, e.step: e.remaining_days})
            if isinstance(e, DeadlineSet) and e.step in s.paused:
                s = replace(s, paused={k: v for k, v in s.paused.items() if k != e.step})
            return s
        if isinstance(e, TransferWaitingTimerSet):
            return replace(s, waiting=(e.waiting_state, e.due_at), waiting_watch=dl.Watch(
                e.due_at, e.due_at, reckoning=e.reckoning, basis=e.basis,
                calendar_version=e.calendar_version))
        if isinstance(e, WaitingTimerRecomputed):
            if s.waiting is None or s.waiting[0] != e.waiting_state or s.waiting_watch is None:
                return s
            return replace(s, waiting=(e.waiting_state, e.due_at), waiting_watch=replace(
                s.waiting_watch, due_at=e.due_at, escalate_at=e.due_at, basis=e.basis,
                calendar_version=e.calendar_version))
        if isinstance(e, NeedsAttentionRaised):
            return replace(s, attention=e.reason, waiting=None)
        if isinstance(e, AttentionEscalated):
            return replace(s, escalated=e.reason)  # still needs a person
        if isinstance(e, CounterpartEventRejected):
            return replace(s, seen=s.seen | {e.ref})
        if isinstance(e, Reconciled) and not e.matched:
            return s
        if isinstance(e, Receipt):
            s = replace(s, seen=s.seen | {e.ref})
        return replace(s, attention="", escalated="")


# --------------------------------------------------------------------------- module interface


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
    decider, offers the same options and has the same register effects (scheme modules:
    `decider, options, register_effects = transfer.scheme_interface(SPEC)`)."""

    def decider(rules: DeadlineRules) -> TransferDecider:
        return TransferDecider(spec, rules)

    def scheme_options(state: SideState | None, now: dt.datetime,
                       rng: random.Random) -> list[Command]:
        return options(spec, state, now, rng)

    return SchemeInterface(decider, scheme_options, register_effects)


__all__ = [
    "ABSENT",
    "CONCLUSION_FITS",
    "DESTINATION_TERMINAL",
    "ORIGIN_ENDS",
    "REPEATABLE_WIRE_TYPES",
    "TERMINAL_PAIRS",
    "TRANSITIONS",
    "ApproveTransferOut",
    "BenefitStarted",
    "CancellationAnswerReceived",
    "CancellationAnswered",
    "CancellationReceived",
    "CloseCase",
    "CloseTransfer",
    "CompleteTransfer",
    "Component",
    "ConclusionReceived",
    "ContactLetterConfirmed",
    "ContactLetterIssued",
    "ContactLetterReceived",
    "ContributionYear",
    "CorrectInfoSheet",
    "DestinationSide",
    "DestinationState",
    "ExcessReturnReceived",
    "ExcessReturned",
    "FundsReceived",
    "FundsRemitted",
    "HoldReleased",
    "InfoSheet",
    "InfoSheetCorrected",
    "InfoSheetCorrectionReceived",
    "InfoSheetIssued",
    "InfoSheetReceived",
    "InstructProceed",
    "IssueInfoSheet",
    "OriginRefusalReceived",
    "OriginSide",
    "OriginState",
    "OriginTrack",
    "ProceedInstructed",
    "Reconcile",
    "Reconciled",
    "RecordFundsReceived",
    "RefuseTransferOut",
    "RelationshipEvent",
    "RelationshipTakenOver",
    "RemitFunds",
    "ReturnExcess",
    "ReturnFunds",
    "ReverseTransfer",
    "SchemeInterface",
    "SendContactLetters",
    "SheetRule",
    "SheetSampler",
    "SideState",
    "StartBenefit",
    "TakeOverRelationship",
    "TransferBase",
    "TransferCancelled",
    "TransferCaseClosed",
    "TransferCompleted",
    "TransferConcluded",
    "TransferDecider",
    "TransferMessageReceived",
    "TransferOutHeld",
    "TransferOutRefused",
    "TransferOutReversed",
    "TransferReversalOrdered",
    "TransferReversalReceived",
    "TransferReversed",
    "TransferSpec",
    "TransferWaitingTimerSet",
    "application",
    "check_sheet_shape",
    "options",
    "origins_of",
    "register_effects",
    "scheme_interface",
    "waiting_name",
]
