"""Household registration moves (户口迁移, "迁移一站办"): destination accepts, origin cooperates.

The applicant files at the destination (迁入地) only (多地联办, reference/domain.md §2c). The
destination runs intake, approves and issues the electronic 准迁证 (permit) whose expiry is an
**absolute instant** (issue + 40 calendar days, `rules.deadline_for("household_move",
"permit_validity", ...)`), and sends the move-out request carrying it. The origin (迁出地)
records the request (receipt is an event), checks it (person on the register, no legal bar, the
permit still valid *by the origin's own clock*), holds the registration (迁移中), does 迁出登记 +
注销 and sends back the electronic 迁移证. The destination then does 落户 and sends the 回执
(settlement receipt) that closes the origin's side.

Destination — status: command / counterpart event → events → next status:

    —                     Submit → ApplicationSubmitted → submitted        (intake.py rules)
    submitted             AcceptIntake → IntakeAccepted → under_review
    submitted             RejectIntake(reason) → IntakeRejected → rejected (T)
    submitted             RequestSupplement → SupplementRequested, clock paused
                          → supplement_requested
    supplement_requested  ProvideSupplement → SupplementProvided → submitted
    supplement_requested  timer (waiting limit) → CaseLapsed → lapsed (T)
    under_review          Approve → MovePermitIssued (expires_at) → permit_issued
    under_review          Deny(reason) → ApplicationDenied → denied (T)
    permit_issued         policy SendMoveOutRequest → MoveOutRequested →O, wait timer
                          → awaiting_origin
    permit_issued         timer ExpirePermit (permit expired before it was sent) → CaseLapsed
                          → lapsed (T)
    awaiting_origin       MigrationCertificateIssued → receipt, SettlementReported →O,
                          HouseholdSettled (落户, register opened) → settled (T)
    awaiting_origin       MoveOutRefused(permit_expired) → receipt, CaseLapsed → lapsed (T)
    awaiting_origin       MoveOutRefused(other) → receipt → refused_by_origin (T)
    awaiting_origin       Withdraw → ApplicationWithdrawn, MoveOutWithdrawn →O → withdrawing
    awaiting_origin       wait timer → DeadlineMissed; Escalated + NeedsAttentionRaised
    withdrawing           MoveOutCancellationConfirmed / MoveOutReversed / MoveOutRefused
                          → receipt → withdrawn (T)
    withdrawing           MigrationCertificateIssued → receipt (no 落户) → withdrawing
    before the request    Withdraw → ApplicationWithdrawn → withdrawn (T)

Origin:

    —                 MoveOutRequested → MoveOutRequestReceived → received
                      (already expired by the origin's clock: + MoveOutRefused →D → refused (T))
    received          CheckMoveOut ok → MoveOutApproved (register hold, 迁移中) → held
    received          CheckMoveOut fails / permit expired → MoveOutRefused →D → refused (T)
    received, held    RefuseMoveOut(reason) → [MoveOutHoldReleased], MoveOutRefused →D
                      → refused (T)
    received, held    timer at the permit's expiry → the same with reason permit_expired
    held              RegisterMoveOut (only before expiry, origin clock) → MovedOut (迁出登记 +
                      注销, register ended), MigrationCertificateIssued →D → certificate_sent
    received, held    MoveOutWithdrawn → receipt, [MoveOutHoldReleased],
                      MoveOutCancellationConfirmed →D → cancelled (T)
    certificate_sent  MoveOutWithdrawn → receipt, RegistrationReinstated (恢复户口, the 迁移证
                      void), MoveOutReversed →D → reinstated (T)
    certificate_sent  SettlementReported (回执) → receipt → moved_out (T)
    certificate_sent  wait timer → DeadlineMissed; Escalated + NeedsAttentionRaised
    —                 MoveOutWithdrawn first (a reordered link) → receipt,
                      MoveOutCancellationConfirmed →D → cancelled (T); the late request is ignored

Allowed terminal pairs (destination, origin): (settled, moved_out), (refused_by_origin,
refused), (lapsed, refused) [permit expired by the origin's clock], (withdrawn, cancelled),
(withdrawn, reinstated), (withdrawn, refused) [the refusal crossed the withdrawal], and with no
origin side at all: (rejected, absent), (denied, absent), (withdrawn, absent), (lapsed, absent).

Why these choices:
- **The origin decides expiry.** The permit's expiry is an instant fixed once by the
  destination; only the origin compares it with its own clock, at check and at 注销, and its
  timer refuses with `permit_expired` when the instant passes while it still holds the case.
  The destination cannot expire a permit while a move-out request is outstanding
  (`ExpirePermit` is refused with `move_out_outstanding`); it can only expire a permit it
  never sent. So clock skew between the regions can never produce an origin that moved the
  person out while the destination lapsed the case.
- **Withdrawal after 注销 is compensated by the origin reinstating** (恢复户口 with the unused
  迁移证, the practice for a 迁移证 that is not used for 落户), not by settling anyway: the
  applicant's withdrawal is honoured, and the destination never does 落户 once it has sent a
  withdrawal (a 迁移证 that arrives meanwhile is recorded, not used). The destination does 落户
  only on a 迁移证 it receives while not withdrawing, so 注销 always happens before 落户 and the
  person is never registered twice. Withdrawal is possible until the 迁移证 is received; after
  落户 the case is closed (a move back is a new case).
- **The 回执 closes the origin.** Without it the origin could not know whether a withdrawal may
  still come, so `moved_out` would not be final; the 迁移证 has always had a 回执 that the
  destination returns after 落户.
- Register effects (scheme "hukou", `register_effects`): the origin's hold `begin_move_out`,
  release `cancel_move_out`, 注销 `end`, 恢复 `reinstate`; the destination's 落户 `open`. The
  node applies them in the same transaction; a refusal there (e.g. `already_in_transit`: a second
  move of the same person pending) aborts the command.

Single residence (`single_residence_violations`): at every step at most one region holds an
active (or held, in-transit) residence of a person; at quiescence exactly one, unless the person
is explicitly in transit (`persons_in_transit`: an origin that did 注销 whose 回执 has not come).

Reference rules in scope: 户口登记条例 art. 10 (迁出登记 + 注销 before leaving, the 迁移证),
the 40-day 准迁证 [V2], the 迁出地 must not cancel against an expired permit, the 迁入地 must not
register without a confirmed move-out (reference §2c), 行政许可法 art. 32 at intake.
Not yet: the citizen's own 3/10-day 落户 limit (art. 13: here 落户 is done on receipt of the
electronic 迁移证, "网上迁移"); the countryside → city certificates (art. 10) as typed materials;
per-step time limits (none is public: regions may configure steps `intake`, `approval`,
`move_out`); household-record certificates (开具户籍类证明, an online/proxy item).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from domain.deadlines import DeadlineRules, next_due
from domain.kernel import (
    Actor,
    Command,
    Event,
    IllegalCommand,
    InvalidValue,
    Receipt,
    Receive,
    SideRole,
    SideSummary,
    domain_event,
)
from domain.protocols.application_events import ApplicationDenied, Approve, Deny
from domain.protocols.casework import (
    ABSENT,
    ANNOTATIONS,
    COUNTERPART_WAIT,
    INTAKE_STEP,
    MATERIAL_KINDS,
    SUPPLEMENT_STEP,
    Bookkeeping,
    CaseFacts,
    Lapse,
    RatingContext,
    ResolveAttention,
    annotation_options,
    checked_region,
    clear_steps,
    decide_annotation,
    decide_deadline_timer,
    evolve_bookkeeping,
    facts_of,
    is_duplicate,
    lapse_due,
    pause_for_supplement,
    random_material,
    rearm_wait,
    resume_after_supplement,
    start_step,
    start_wait,
    timer_commands,
)
from domain.protocols.intake import (
    AcceptIntake,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CaseLapsed,
    Intake,
    ProvideSupplement,
    RejectIntake,
    RequestSupplement,
    Submit,
    Withdraw,
    decide_intake,
    evolve_intake,
)
from domain.registers import EffectKind, RegisterEffect, RegisterEntry, RegisterKey
from domain.values import CaseNumber

PROCESS = "household_move"
MODE = "joint"
SCHEME = "hukou"

APPROVAL_STEP = "approval"
MOVE_OUT_STEP = "move_out"
PERMIT_STEP = "permit_validity"
AWAITING_ORIGIN = "awaiting_origin"
AWAITING_DESTINATION = "awaiting_destination"

#: Why an origin refuses (`MoveOutRefused.code`); `permit_expired` makes the destination lapse.
REFUSAL_CODES: tuple[str, ...] = (
    "permit_expired", "not_on_register", "legal_bar", "data_mismatch", "other")

DestinationPhase = Literal[
    "submitted", "supplement_requested", "under_review", "permit_issued", "awaiting_origin",
    "withdrawing", "settled", "refused_by_origin", "lapsed", "rejected", "denied", "withdrawn",
]
OriginPhase = Literal[
    "received", "held", "certificate_sent", "moved_out", "refused", "cancelled", "reinstated"]
DESTINATION_TERMINAL: frozenset[str] = frozenset(
    {"settled", "refused_by_origin", "lapsed", "rejected", "denied", "withdrawn"})
ORIGIN_TERMINAL: frozenset[str] = frozenset({"moved_out", "refused", "cancelled", "reinstated"})

ALLOWED_TERMINAL_PAIRS: frozenset[tuple[str, str]] = frozenset({
    ("settled", "moved_out"),
    ("refused_by_origin", "refused"),
    ("lapsed", "refused"),
    ("withdrawn", "cancelled"),
    ("withdrawn", "reinstated"),
    ("withdrawn", "refused"),
    ("rejected", ABSENT), ("denied", ABSENT), ("withdrawn", ABSENT), ("lapsed", ABSENT),
})

#: Phase changes each role may make ("" is "no side yet"); `needs_attention` is an overlay on
#: these, not a phase, and annotations (`ANNOTATIONS`) change none.
TRANSITIONS: frozenset[tuple[str, str]] = frozenset({
    ("", "submitted"),
    ("submitted", "under_review"), ("submitted", "rejected"),
    ("submitted", "supplement_requested"), ("submitted", "withdrawn"),
    ("supplement_requested", "submitted"), ("supplement_requested", "lapsed"),
    ("supplement_requested", "withdrawn"),
    ("under_review", "permit_issued"), ("under_review", "denied"), ("under_review", "withdrawn"),
    ("permit_issued", "awaiting_origin"), ("permit_issued", "lapsed"),
    ("permit_issued", "withdrawn"),
    ("awaiting_origin", "settled"), ("awaiting_origin", "lapsed"),
    ("awaiting_origin", "refused_by_origin"), ("awaiting_origin", "withdrawing"),
    ("withdrawing", "withdrawn"),
    ("", "received"),
    ("received", "held"), ("received", "refused"), ("received", "cancelled"),
    ("held", "certificate_sent"), ("held", "refused"), ("held", "cancelled"),
    ("certificate_sent", "moved_out"), ("certificate_sent", "reinstated"),
})


# =========================================================================== events


@dataclass(frozen=True, kw_only=True)
class _PersonEvent(Event):
    """An event that implies a register change carries what the register needs."""

    person_key: str
    scheme: str
    case_id: str


@domain_event
class MovePermitIssued(Event):
    """准予迁入证明 (electronic): valid until the absolute instant `expires_at`."""

    permit_no: str
    expires_at: dt.datetime
    basis: str
    calendar_version: str


@domain_event
class MoveOutRequested(Event):
    """D → O: please move this person out; the permit's expiry travels as an instant."""

    WIRE = True
    case_number: str
    person_key: str
    applicant_masked: str
    permit_no: str
    permit_expires_at: dt.datetime


@domain_event
class MoveOutWithdrawn(Event):
    """D → O: the applicant withdrew (carries the case, as it may be the first O sees)."""

    WIRE = True
    case_number: str
    person_key: str
    applicant_masked: str
    reason: str = ""


@domain_event
class SettlementReported(Event):
    """D → O: 落户 is done (the 迁移证's 回执)."""

    WIRE = True
    certificate_no: str


@domain_event
class HouseholdSettled(_PersonEvent):
    """落户: the destination registers the person (register opened)."""

    certificate_no: str


@domain_event
class MigrationCertificateReceived(Receipt):
    certificate_no: str


@domain_event
class MoveOutRefusalReceived(Receipt):
    code: str
    reason: str


@domain_event
class MoveOutCancellationReceived(Receipt):
    pass


@domain_event
class MoveOutReversalReceived(Receipt):
    certificate_no: str
    reason: str


# ---- origin


@domain_event
class MoveOutRequestReceived(Receipt):
    """The origin's first event; its clock for the move-out starts here. `region`: the origin."""

    region: str
    case_number: str
    person_key: str
    applicant_masked: str
    permit_no: str
    permit_expires_at: dt.datetime


@domain_event
class MoveOutWithdrawalReceived(Receipt):
    """May be the origin's first event (a reordered link): the side then starts cancelled."""

    region: str
    case_number: str
    person_key: str
    applicant_masked: str
    reason: str = ""


@domain_event
class MoveOutApproved(_PersonEvent):
    """The checks passed: the registration is held for the move (迁移中)."""


@domain_event
class MoveOutHoldReleased(_PersonEvent):
    """The hold ends without a move (refusal or withdrawal): the registration stays here."""


@domain_event
class MovedOut(_PersonEvent):
    """迁出登记 + 注销: the origin no longer registers the person."""

    certificate_no: str


@domain_event
class MigrationCertificateIssued(Event):
    """O → D: the electronic 户口迁移证."""

    WIRE = True
    certificate_no: str
    person_key: str


@domain_event
class MoveOutRefused(Event):
    """O → D: 不符合迁出条件, with a code (`REFUSAL_CODES`) and the reason."""

    WIRE = True
    code: str
    reason: str


@domain_event
class MoveOutCancellationConfirmed(Event):
    """O → D: nothing was moved out; the registration stays at the origin."""

    WIRE = True


@domain_event
class RegistrationReinstated(_PersonEvent):
    """恢复户口: compensation for a withdrawal after 注销; the 迁移证 is void."""

    certificate_no: str


@domain_event
class MoveOutReversed(Event):
    """O → D: the move-out was reversed (the registration reinstated, the 迁移证 void)."""

    WIRE = True
    certificate_no: str
    reason: str


@domain_event
class SettlementReceiptReceived(Receipt):
    certificate_no: str


# =========================================================================== commands


@dataclass(frozen=True, kw_only=True)
class SendMoveOutRequest(Command):
    """Policy: send the request once the permit is issued."""


@dataclass(frozen=True, kw_only=True)
class ExpirePermit(Command):
    """Timer: a permit that was never sent has expired (destination)."""


@dataclass(frozen=True, kw_only=True)
class CheckMoveOut(Command):
    """The origin's check: is the person on the register, is there a legal bar?"""

    on_register: bool
    legal_bar: str = ""


@dataclass(frozen=True, kw_only=True)
class RefuseMoveOut(Command):
    code: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RegisterMoveOut(Command):
    """迁出登记 + 注销 by the origin's back-end (police system)."""


# =========================================================================== states


@dataclass(frozen=True)
class Destination:
    facts: CaseFacts
    region: str
    origin_region: str
    phase: DestinationPhase
    intake: Intake
    keep: Bookkeeping = field(default_factory=Bookkeeping)
    permit_no: str = ""
    permit_expires_at: dt.datetime | None = None
    certificate_no: str = ""

    role: Literal["destination"] = "destination"

    @property
    def terminal(self) -> bool:
        return self.phase in DESTINATION_TERMINAL

    @property
    def case_id(self) -> str:
        return self.facts.case_id

    @property
    def person_key(self) -> str:
        return self.facts.person_key


@dataclass(frozen=True)
class Origin:
    case_number: str
    person_key: str
    applicant_masked: str
    region: str
    destination_region: str
    phase: OriginPhase
    keep: Bookkeeping = field(default_factory=Bookkeeping)
    permit_no: str = ""
    permit_expires_at: dt.datetime | None = None
    certificate_no: str = ""

    role: Literal["origin"] = "origin"

    @property
    def terminal(self) -> bool:
        return self.phase in ORIGIN_TERMINAL

    @property
    def case_id(self) -> str:
        return str(CaseNumber.parse(self.case_number).case_id)

    def permit_valid(self, now: dt.datetime) -> bool:
        """By *this* region's clock: the origin decides expiry."""
        return self.permit_expires_at is not None and now < self.permit_expires_at


HouseholdSide = Destination | Origin


# =========================================================================== evolve


def evolve(state: HouseholdSide | None, event: Event) -> HouseholdSide:
    if state is None:
        return _start(event)
    if isinstance(state, Destination):
        keep = evolve_bookkeeping(state.keep, event)
        dest = replace(state, keep=keep)
        if isinstance(event, ANNOTATIONS) and dest.terminal:
            return dest
        intake = evolve_intake(dest.intake, event)
        assert intake is not None
        return _evolve_destination(replace(dest, intake=intake), event)
    origin = replace(state, keep=evolve_bookkeeping(state.keep, event))
    if isinstance(event, ANNOTATIONS) and origin.terminal:
        return origin
    return _evolve_origin(origin, event)


def _start(event: Event) -> HouseholdSide:
    if isinstance(event, ApplicationSubmitted):
        intake = evolve_intake(None, event)
        assert intake is not None
        facts = facts_of(event)
        return Destination(facts, facts.accepting_region, str(event.details["origin_region"]),
                           "submitted", intake)
    if isinstance(event, MoveOutRequestReceived):
        return Origin(event.case_number, event.person_key, event.applicant_masked, event.region,
                      event.from_region, "received", evolve_bookkeeping(Bookkeeping(), event),
                      event.permit_no, event.permit_expires_at)
    if isinstance(event, MoveOutWithdrawalReceived):
        return Origin(event.case_number, event.person_key, event.applicant_masked, event.region,
                      event.from_region, "received", evolve_bookkeeping(Bookkeeping(), event))
    raise IllegalCommand(f"{event.TYPE} cannot start a household-move side", code="no_side")


_DESTINATION_PHASE: dict[type[Event], DestinationPhase] = {
    CaseLapsed: "lapsed",
    ApplicationDenied: "denied",
    MovePermitIssued: "permit_issued",
    MoveOutRequested: "awaiting_origin",
    HouseholdSettled: "settled",
}


#: While intake runs, the destination's status follows the intake sub-machine.
_INTAKE_PHASE: dict[str, DestinationPhase] = {
    "submitted": "submitted", "supplement_requested": "supplement_requested",
    "accepted": "under_review", "rejected": "rejected",
}


def _evolve_destination(d: Destination, event: Event) -> Destination:
    if isinstance(event, MovePermitIssued):
        return replace(d, phase="permit_issued", permit_no=event.permit_no,
                       permit_expires_at=event.expires_at)
    if isinstance(event, ApplicationWithdrawn):
        return replace(d, phase="withdrawing" if d.phase == "awaiting_origin" else "withdrawn")
    if isinstance(event, MigrationCertificateReceived):
        return replace(d, certificate_no=event.certificate_no)
    if isinstance(event, MoveOutRefusalReceived):
        if d.phase == "withdrawing":
            return replace(d, phase="withdrawn")
        return d if event.code == "permit_expired" else replace(d, phase="refused_by_origin")
    if isinstance(event, (MoveOutCancellationReceived, MoveOutReversalReceived)):
        return replace(d, phase="withdrawn")
    phase = _DESTINATION_PHASE.get(type(event))
    if phase is not None:
        return replace(d, phase=phase)
    if d.phase in ("submitted", "supplement_requested") and d.intake.status in _INTAKE_PHASE:
        return replace(d, phase=_INTAKE_PHASE[d.intake.status])
    return d


def _evolve_origin(o: Origin, event: Event) -> Origin:
    if isinstance(event, MoveOutApproved):
        return replace(o, phase="held")
    if isinstance(event, MovedOut):
        return replace(o, phase="certificate_sent", certificate_no=event.certificate_no)
    if isinstance(event, MoveOutRefused):
        return replace(o, phase="refused")
    if isinstance(event, MoveOutCancellationConfirmed):
        return replace(o, phase="cancelled")
    if isinstance(event, MoveOutReversed):
        return replace(o, phase="reinstated")
    if isinstance(event, SettlementReceiptReceived):
        return replace(o, phase="moved_out")
    return o


# =========================================================================== decide


@dataclass(frozen=True)
class HouseholdDecider:
    """Both sides of a household move (see the module docstring)."""

    rules: DeadlineRules
    process = PROCESS  # a class attribute, not a field: `kernel.Decider` reads it

    def evolve(self, state: HouseholdSide | None, event: Event) -> HouseholdSide:
        return evolve(state, event)

    def decide(self, state: HouseholdSide | None, command: Command,
               now: dt.datetime) -> list[Event]:
        if state is None:
            return self._first(command, now)
        if isinstance(command, Receive):
            if is_duplicate(state.keep, command):
                return []
            expected = state.origin_region if isinstance(state, Destination) else \
                state.destination_region
            if command.from_region != expected:
                raise InvalidValue(f"{command.event.TYPE} from region {command.from_region}, "
                                   f"not from this case's counterpart {expected}",
                                   code="wrong_region")
            if isinstance(state, Destination):
                return self._destination_receives(state, command, now)
            return self._origin_receives(state, command, now)
        ctx = _rating_context(state)
        annotation = decide_annotation(state.keep, command, now, ctx)
        if annotation is not None:
            if isinstance(command, ResolveAttention) and not state.terminal:
                annotation += self._rearm(state, now, command.actor)
            return annotation
        waits = (AWAITING_ORIGIN, AWAITING_DESTINATION)
        timer = decide_deadline_timer(state.keep, command, now, waits)
        if timer is not None:
            return [] if state.terminal else timer
        if state.terminal:
            raise IllegalCommand(f"the case is already {state.phase}", code="case_closed")
        if isinstance(state, Destination):
            return self._destination(state, command, now)
        return self._origin(state, command, now)

    # ---------------------------------------------------------------- first events

    def _first(self, command: Command, now: dt.datetime) -> list[Event]:
        if isinstance(command, Submit):
            _check_submission(command)
            return [*decide_intake(None, command, now),
                    *start_step(self.rules, PROCESS, INTAKE_STEP, now, command.actor)]
        if isinstance(command, Receive):
            event, actor, ref, src = command.event, command.actor, command.ref, command.from_region
            if isinstance(event, MoveOutRequested):
                CaseNumber.parse(event.case_number)
                receipt = MoveOutRequestReceived(
                    at=now, actor=actor, ref=ref, from_region=src, region=event.to_region,
                    case_number=event.case_number, person_key=event.person_key,
                    applicant_masked=event.applicant_masked, permit_no=event.permit_no,
                    permit_expires_at=event.permit_expires_at)
                if now >= event.permit_expires_at:
                    return [receipt, _refusal(actor, now, src, "permit_expired",
                                              _expired_reason(event.permit_expires_at, now))]
                return [receipt, *start_step(self.rules, PROCESS, MOVE_OUT_STEP, now, actor)]
            if isinstance(event, MoveOutWithdrawn):
                CaseNumber.parse(event.case_number)
                return [MoveOutWithdrawalReceived(
                            at=now, actor=actor, ref=ref, from_region=src, region=event.to_region,
                            case_number=event.case_number, person_key=event.person_key,
                            applicant_masked=event.applicant_masked, reason=event.reason),
                        MoveOutCancellationConfirmed(at=now, actor=actor, to_region=src)]
        raise IllegalCommand(f"{type(command).__name__} needs a household-move case first",
                             code="not_submitted")

    # ---------------------------------------------------------------- destination

    def _destination(self, d: Destination, command: Command, now: dt.datetime) -> list[Event]:
        actor = command.actor
        if isinstance(command, (AcceptIntake, RejectIntake, RequestSupplement, ProvideSupplement)):
            events = decide_intake(d.intake, command, now)
            if isinstance(command, AcceptIntake):
                return [*events, *clear_steps(d.keep.clocked, [INTAKE_STEP], now, actor),
                        *start_step(self.rules, PROCESS, APPROVAL_STEP, now, actor)]
            if isinstance(command, RejectIntake):
                return [*clear_steps(d.keep.clocked, [INTAKE_STEP], now, actor), *events]
            if isinstance(command, RequestSupplement):
                return [*events, *pause_for_supplement(self.rules, PROCESS, d.keep, now, actor)]
            return [*events, *resume_after_supplement(self.rules, PROCESS, d.keep, now, actor)]
        if isinstance(command, Lapse):
            if (command.step != SUPPLEMENT_STEP or d.phase != "supplement_requested"
                    or not lapse_due(d.keep, SUPPLEMENT_STEP, now)):
                return []
            due = d.keep.book[SUPPLEMENT_STEP].due_at
            return [CaseLapsed(at=now, actor=actor, waiting_state="supplement_requested",
                               reason=f"逾期未补正: nothing supplied by {due.isoformat()}")]
        if isinstance(command, (Approve, Deny)):
            if d.phase != "under_review":
                raise IllegalCommand(f"nothing to decide in status {d.phase}",
                                     code="not_under_review")
            done = clear_steps(d.keep.clocked, [APPROVAL_STEP], now, actor)
            if isinstance(command, Deny):
                if not command.reason.strip():
                    raise InvalidValue("a denial must state its reason (书面说明)",
                                       code="reason_required")
                denied = ApplicationDenied(at=now, actor=actor, reason=command.reason.strip())
                return [*done, denied]
            spec = self.rules.deadline_for(PROCESS, PERMIT_STEP, now)
            if spec is None:
                raise IllegalCommand("no validity is configured for the 准迁证",
                                     code="no_time_limit")
            return [*done, MovePermitIssued(
                at=now, actor=actor, permit_no=f"ZQ-{d.facts.case_number}",
                expires_at=spec.due_at, basis=spec.basis, calendar_version=spec.calendar_version)]
        if isinstance(command, SendMoveOutRequest):
            if d.phase != "permit_issued":
                raise IllegalCommand(f"no permit waiting to be sent (status {d.phase})",
                                     code="not_permit_issued")
            assert d.permit_expires_at is not None
            if now >= d.permit_expires_at:
                raise IllegalCommand("the permit expired before it was sent",
                                     code="permit_expired")
            return [MoveOutRequested(
                        at=now, actor=actor, to_region=d.origin_region,
                        case_number=d.facts.case_number, person_key=d.person_key,
                        applicant_masked=d.facts.applicant_masked, permit_no=d.permit_no,
                        permit_expires_at=d.permit_expires_at),
                    start_wait(self.rules, PROCESS, AWAITING_ORIGIN, COUNTERPART_WAIT, now, actor)]
        if isinstance(command, ExpirePermit):
            if d.phase in ("awaiting_origin", "withdrawing"):
                raise IllegalCommand("a move-out request is outstanding: only the origin decides "
                                     "whether the permit expired", code="move_out_outstanding")
            if d.phase != "permit_issued" or d.permit_expires_at is None:
                raise IllegalCommand(f"no unsent permit (status {d.phase})",
                                     code="not_permit_issued")
            if now < d.permit_expires_at:
                return []  # a timer command before its time
            return [CaseLapsed(at=now, actor=actor, waiting_state="permit_issued",
                               reason=f"准迁证失效: expired {d.permit_expires_at.isoformat()} "
                                      "before the move-out request was sent")]
        if isinstance(command, Withdraw):
            return self._destination_withdraws(d, command, now)
        raise IllegalCommand(f"{type(command).__name__} is not a destination command",
                             code="not_applicable")

    def _destination_withdraws(self, d: Destination, command: Withdraw,
                               now: dt.datetime) -> list[Event]:
        actor = command.actor
        if d.phase == "withdrawing":
            raise IllegalCommand("the withdrawal is already on its way", code="already_withdrawing")
        withdrawn = ApplicationWithdrawn(at=now, actor=actor, reason=command.reason)
        if d.phase == "awaiting_origin":
            return [withdrawn,
                    MoveOutWithdrawn(at=now, actor=actor, to_region=d.origin_region,
                                     case_number=d.facts.case_number, person_key=d.person_key,
                                     applicant_masked=d.facts.applicant_masked,
                                     reason=command.reason),
                    start_wait(self.rules, PROCESS, AWAITING_ORIGIN, COUNTERPART_WAIT, now, actor)]
        steps = [INTAKE_STEP, APPROVAL_STEP, SUPPLEMENT_STEP]
        return [*clear_steps(d.keep.clocked, steps, now, actor), withdrawn]

    def _destination_receives(self, d: Destination, command: Receive,
                              now: dt.datetime) -> list[Event]:
        event, actor, ref, src = command.event, command.actor, command.ref, command.from_region
        waiting = d.phase in ("awaiting_origin", "withdrawing")
        done = clear_steps(d.keep.clocked, [AWAITING_ORIGIN], now, actor)
        if isinstance(event, MigrationCertificateIssued):
            receipt = MigrationCertificateReceived(at=now, actor=actor, ref=ref, from_region=src,
                                                   certificate_no=event.certificate_no)
            if d.phase == "withdrawing":
                return [receipt]  # not used: the origin reverses the move on our withdrawal
            if d.phase == "withdrawn":
                return []  # the reversal overtook it (a reordered link): void already
            if d.phase != "awaiting_origin":
                raise IllegalCommand(f"a 迁移证 in status {d.phase}", code="unexpected_event")
            if event.person_key != d.person_key:
                raise InvalidValue("the 迁移证 names another person", code="person_mismatch")
            return [receipt, *done,
                    SettlementReported(at=now, actor=actor, to_region=src,
                                       certificate_no=event.certificate_no),
                    HouseholdSettled(at=now, actor=actor, person_key=d.person_key, scheme=SCHEME,
                                     case_id=d.case_id, certificate_no=event.certificate_no)]
        if isinstance(event, MoveOutRefused) and waiting:
            receipt_r = MoveOutRefusalReceived(at=now, actor=actor, ref=ref, from_region=src,
                                               code=event.code, reason=event.reason)
            if event.code == "permit_expired" and d.phase == "awaiting_origin":
                return [*done, receipt_r, CaseLapsed(
                    at=now, actor=actor, waiting_state="awaiting_origin",
                    reason=f"准迁证失效 (by the origin's clock): {event.reason}")]
            return [*done, receipt_r]
        if isinstance(event, MoveOutCancellationConfirmed) and d.phase == "withdrawing":
            return [*done, MoveOutCancellationReceived(at=now, actor=actor, ref=ref,
                                                       from_region=src)]
        if isinstance(event, MoveOutReversed) and d.phase == "withdrawing":
            return [*done, MoveOutReversalReceived(at=now, actor=actor, ref=ref, from_region=src,
                                                   certificate_no=event.certificate_no,
                                                   reason=event.reason)]
        raise IllegalCommand(f"{event.TYPE} is not expected in status {d.phase}",
                             code="unexpected_event")

    # ---------------------------------------------------------------- origin

    def _origin(self, o: Origin, command: Command, now: dt.datetime) -> list[Event]:
        actor = command.actor
        if isinstance(command, CheckMoveOut):
            if o.phase != "received":
                raise IllegalCommand(f"the request was already checked (status {o.phase})",
                                     code="already_checked")
            if not o.permit_valid(now):
                return self._refuse(o, actor, now, "permit_expired",
                                    _expired_reason(o.permit_expires_at, now))
            if not command.on_register:
                return self._refuse(o, actor, now, "not_on_register",
                                    "the person is not on this region's register")
            if command.legal_bar.strip():
                return self._refuse(o, actor, now, "legal_bar", command.legal_bar.strip())
            return [MoveOutApproved(at=now, actor=actor, person_key=o.person_key, scheme=SCHEME,
                                    case_id=o.case_id)]
        if isinstance(command, RefuseMoveOut):
            if o.phase not in ("received", "held"):
                raise IllegalCommand(f"nothing to refuse in status {o.phase}",
                                     code="not_refusable")
            if command.code not in REFUSAL_CODES:
                raise InvalidValue(f"refusal code must be one of {', '.join(REFUSAL_CODES)}",
                                   code="invalid_refusal_code")
            if command.code == "permit_expired" and o.permit_valid(now):
                assert o.permit_expires_at is not None
                raise InvalidValue(f"the permit is valid until {o.permit_expires_at.isoformat()}",
                                   code="permit_still_valid")
            if not command.reason.strip():
                raise InvalidValue("a refusal must state its reason", code="reason_required")
            return self._refuse(o, actor, now, command.code, command.reason.strip())
        if isinstance(command, RegisterMoveOut):
            if o.phase != "held":
                raise IllegalCommand(f"迁出登记 needs a checked, held request (status {o.phase})",
                                     code="not_held")
            if not o.permit_valid(now):
                raise IllegalCommand("the permit has expired by this region's clock: refuse it",
                                     code="permit_expired")
            certificate_no = f"QY-{o.case_number}"
            return [*clear_steps(o.keep.clocked, [MOVE_OUT_STEP], now, actor),
                    MovedOut(at=now, actor=actor, person_key=o.person_key, scheme=SCHEME,
                             case_id=o.case_id, certificate_no=certificate_no),
                    MigrationCertificateIssued(at=now, actor=actor, to_region=o.destination_region,
                                               certificate_no=certificate_no,
                                               person_key=o.person_key),
                    start_wait(self.rules, PROCESS, AWAITING_DESTINATION, COUNTERPART_WAIT, now,
                               actor)]
        raise IllegalCommand(f"{type(command).__name__} is not an origin command",
                             code="not_applicable")

    def _refuse(self, o: Origin, actor: Actor, now: dt.datetime, code: str,
                reason: str) -> list[Event]:
        events = clear_steps(o.keep.clocked, [MOVE_OUT_STEP], now, actor)
        if o.phase == "held":
            events.append(MoveOutHoldReleased(at=now, actor=actor, person_key=o.person_key,
                                              scheme=SCHEME, case_id=o.case_id))
        return [*events, _refusal(actor, now, o.destination_region, code, reason)]

    def _origin_receives(self, o: Origin, command: Receive, now: dt.datetime) -> list[Event]:
        event, actor, ref, src = command.event, command.actor, command.ref, command.from_region
        if isinstance(event, MoveOutRequested):
            if o.phase == "cancelled" and not o.permit_no:
                return []  # the withdrawal overtook the request (tombstone): nothing to do
            raise IllegalCommand("the move-out request was already received",
                                 code="already_received")
        if isinstance(event, MoveOutWithdrawn):
            if o.phase == "refused":
                return []  # crossed our refusal, which the destination follows
            if o.phase not in ("received", "held", "certificate_sent"):
                raise IllegalCommand(f"a withdrawal in status {o.phase}", code="unexpected_event")
            receipt = MoveOutWithdrawalReceived(
                at=now, actor=actor, ref=ref, from_region=src, region=o.region,
                case_number=o.case_number, person_key=o.person_key,
                applicant_masked=o.applicant_masked, reason=event.reason)
            if o.phase == "certificate_sent":
                return [receipt, *clear_steps(o.keep.clocked, [AWAITING_DESTINATION], now, actor),
                        RegistrationReinstated(at=now, actor=actor, person_key=o.person_key,
                                               scheme=SCHEME, case_id=o.case_id,
                                               certificate_no=o.certificate_no),
                        MoveOutReversed(at=now, actor=actor, to_region=src,
                                        certificate_no=o.certificate_no,
                                        reason="withdrawn by the applicant after 注销: 恢复户口")]
            events: list[Event] = [receipt, *clear_steps(o.keep.clocked, [MOVE_OUT_STEP], now, actor)]
            if o.phase == "held":
                events.append(MoveOutHoldReleased(at=now, actor=actor, person_key=o.person_key,
                                                  scheme=SCHEME, case_id=o.case_id))
            return [*events, MoveOutCancellationConfirmed(at=now, actor=actor, to_region=src)]
        if isinstance(event, SettlementReported) and o.phase == "certificate_sent":
            if event.certificate_no != o.certificate_no:
                raise InvalidValue("the 回执 names another 迁移证", code="certificate_mismatch")
            return [*clear_steps(o.keep.clocked, [AWAITING_DESTINATION], now, actor),
                    SettlementReceiptReceived(at=now, actor=actor, ref=ref, from_region=src,
                                              certificate_no=event.certificate_no)]
        raise IllegalCommand(f"{event.TYPE} is not expected in status {o.phase}",
                             code="unexpected_event")

    def _rearm(self, state: HouseholdSide, now: dt.datetime, actor: Actor) -> list[Event]:
        """After a person resolved it, a wait for the counterpart runs again (never hangs)."""
        if isinstance(state, Destination) and state.phase in ("awaiting_origin", "withdrawing"):
            step = AWAITING_ORIGIN
        elif isinstance(state, Origin) and state.phase == "certificate_sent":
            step = AWAITING_DESTINATION
        else:
            return []
        return rearm_wait(self.rules, PROCESS, state.keep, step, now, actor)

    # ---------------------------------------------------------------- policy, timers, views

    def policy(self, state: HouseholdSide, now: dt.datetime) -> list[Command]:
        if (isinstance(state, Destination) and state.phase == "permit_issued"
                and state.permit_expires_at is not None and now < state.permit_expires_at):
            return [SendMoveOutRequest(actor=Actor.system("move_out_request", state.region))]
        return []

    def timers(self, state: HouseholdSide, now: dt.datetime) -> list[Command]:
        if state.terminal:
            return []
        out = timer_commands(state.keep, now, state.region)
        expiry = _permit_timer(state)
        if expiry is not None and now >= expiry:
            if isinstance(state, Destination):
                out.append(ExpirePermit(actor=Actor.system("permit_expiry", state.region)))
            else:
                out.append(RefuseMoveOut(actor=Actor.system("permit_expiry", state.region),
                                         code="permit_expired",
                                         reason=_expired_reason(expiry, now)))
        return out

    def next_timer(self, state: HouseholdSide) -> dt.datetime | None:
        if state.terminal:
            return None
        times = [t for t in (next_due(state.keep.book), _permit_timer(state)) if t is not None]
        return min(times, default=None)

    def status(self, state: HouseholdSide) -> str:
        if state.keep.attention and not state.terminal:
            return "needs_attention"
        return state.phase

    def is_terminal(self, state: HouseholdSide) -> bool:
        return state.terminal

    def summary(self, state: HouseholdSide) -> SideSummary:
        role: SideRole = state.role
        if isinstance(state, Destination):
            case_id, person, peer = state.case_id, state.person_key, state.origin_region
        else:
            case_id, person, peer = state.case_id, state.person_key, state.destination_region
        return SideSummary(
            case_id=case_id, process=PROCESS, role=role, region=state.region,
            status=self.status(state), terminal=state.terminal,
            needs_attention=bool(state.keep.attention), person_key=person, scheme=SCHEME,
            peer_regions=(peer,))


def _permit_timer(state: HouseholdSide) -> dt.datetime | None:
    """The permit's expiry matters to a side only while it alone holds the unsent/unused permit."""
    if isinstance(state, Destination):
        return state.permit_expires_at if state.phase == "permit_issued" else None
    return state.permit_expires_at if state.phase in ("received", "held") else None


def _refusal(actor: Actor, now: dt.datetime, to: str, code: str, reason: str) -> MoveOutRefused:
    return MoveOutRefused(at=now, actor=actor, to_region=to, code=code, reason=reason)


def _expired_reason(expires_at: dt.datetime | None, now: dt.datetime) -> str:
    when = expires_at.isoformat() if expires_at is not None else "(unknown)"
    return f"准迁证 expired at {when}; this region's clock reads {now.isoformat()}"


def _rating_context(state: HouseholdSide) -> RatingContext | None:
    """The applicant deals with the destination only; the origin cooperates internally."""
    if isinstance(state, Origin):
        return None
    return RatingContext(own_region=state.region, default_region=state.region,
                         rateable=(state.region,), finished=state.terminal)


def _check_submission(command: Submit) -> None:
    if command.process != PROCESS:
        raise InvalidValue(f"the household-move protocol runs {PROCESS}, not {command.process!r}",
                           code="unknown_process")
    if command.mode != MODE:
        raise InvalidValue(f"a household move is handled jointly (mode {MODE}), not "
                           f"{command.mode!r}", code="invalid_mode")
    destination = str(CaseNumber.parse(command.case_number).region)
    origin = checked_region(command.details.get("origin_region"), "details.origin_region")
    if origin == destination:
        raise InvalidValue("the origin region must differ from the destination",
                           code="same_region")


def decider(rules: DeadlineRules) -> HouseholdDecider:
    return HouseholdDecider(rules)


_EFFECTS: dict[type[Event], EffectKind] = {
    MoveOutApproved: "begin_move_out",
    MoveOutHoldReleased: "cancel_move_out",
    MovedOut: "end",
    RegistrationReinstated: "reinstate",
    HouseholdSettled: "open",
}


def register_effects(event: Event) -> list[RegisterEffect]:
    """The register change (scheme "hukou") an event of this protocol implies, in order."""
    kind = _EFFECTS.get(type(event))
    if kind is None or not isinstance(event, _PersonEvent):
        return []
    return [RegisterEffect(kind, event.person_key, event.scheme, event.case_id)]


# =========================================================================== invariants


def single_residence_violations(
    entries: Mapping[RegisterKey, RegisterEntry], *, quiescent: bool = False,
    in_transit: Collection[str] = (),
) -> list[str]:
    """Single residence over the "hukou" registers of all regions.

    At any time at most one region holds a person's residence (active, or held for a move:
    the person is registered there until 注销). When `quiescent`, every person the registers
    know is held by exactly one region, unless listed in `in_transit` (`persons_in_transit`).
    """
    holders: dict[str, list[str]] = {}
    for (region, person, scheme), entry in sorted(entries.items()):
        if scheme != SCHEME:
            continue
        regions = holders.setdefault(person, [])
        if entry.status in ("active", "in_transit"):
            regions.append(region)
    out: list[str] = []
    for person, regions in sorted(holders.items()):
        if len(regions) > 1:
            out.append(f"single residence: person {person[:12]} is registered in "
                       f"{', '.join(regions)}")
        elif quiescent and not regions and person not in in_transit:
            out.append(f"single residence: person {person[:12]} is registered nowhere and "
                       "not in transit")
    return out


def persons_in_transit(states: Iterable[HouseholdSide]) -> set[str]:
    """People explicitly in transit: an origin did 注销 and no 回执 or withdrawal has closed it."""
    return {s.person_key for s in states if isinstance(s, Origin) and s.phase == "certificate_sent"}


# =========================================================================== options


def options(state: HouseholdSide | None, now: dt.datetime, rng: random.Random) -> list[Command]:
    """Plausible human and back-end commands legal now (the simulator draws from these)."""
    if state is None:
        return []
    staff = Actor("staff", f"police-{state.region}-{rng.randint(1, 9)}", state.region,
                  "户籍民警", f"W{rng.randint(1, 3)}")
    if isinstance(state, Origin):
        out = annotation_options(state.keep, None, rng, staff, staff)
        if state.phase == "received":
            bar = rng.choice(["", "", "", "", "正在服刑"])
            out.append(CheckMoveOut(actor=staff, on_register=rng.random() < 0.9, legal_bar=bar))
        if state.phase in ("received", "held"):
            out.append(RefuseMoveOut(actor=staff, code="data_mismatch",
                                     reason="申请信息与户籍档案不一致"))
        if state.phase == "held" and state.permit_valid(now):
            out.append(RegisterMoveOut(actor=Actor.backend("police-hukou", state.region)))
        return out
    applicant = Actor("applicant", state.person_key[:12], state.region)
    out = annotation_options(state.keep, _rating_context(state), rng, applicant, staff)
    phase = state.phase
    if state.terminal:
        return out
    if phase != "withdrawing":
        out.append(Withdraw(actor=applicant, reason=rng.choice(["", "计划有变", "暂不迁移"])))
    if phase == "submitted":
        out.append(AcceptIntake(actor=staff))
        out.append(RejectIntake(actor=staff, reason=rng.choice(["不符合迁入条件", "非本辖区业务"])))
        if not state.intake.supplement_asked:
            kinds = tuple(rng.sample(MATERIAL_KINDS, rng.randint(1, 2)))
            out.append(RequestSupplement(actor=staff, missing_kinds=kinds))
    elif phase == "supplement_requested":
        out.append(ProvideSupplement(actor=applicant, materials=tuple(
            random_material(rng, kind) for kind in state.intake.missing_kinds)))
    elif phase == "under_review":
        out.append(Approve(actor=staff))
        out.append(Deny(actor=staff, reason=rng.choice(["不符合投靠条件", "迁入地址不实"])))
    return out


__all__ = [
    "ALLOWED_TERMINAL_PAIRS", "PROCESS", "SCHEME", "TRANSITIONS", "CheckMoveOut", "Destination",
    "ExpirePermit", "HouseholdDecider", "Origin", "RefuseMoveOut",
    "RegisterMoveOut", "SendMoveOutRequest", "decider", "evolve", "options",
    "persons_in_transit", "register_effects", "single_residence_violations",
]
