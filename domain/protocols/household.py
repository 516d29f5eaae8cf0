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
    awaiting_origin       MigrationCertificateIssued → receipt (+ wait) → certificate_received
    certificate_received  Settle(address) [staff check of the 迁移证] → SettlementReported →O,
                          HouseholdSettled (落户, register opened, members too) → settled (T)
    awaiting_origin       MoveOutRefused(permit_expired) → receipt, CaseLapsed → lapsed (T)
    awaiting_origin       MoveOutRefused(other) → receipt → refused_by_origin (T)
    awaiting_origin       Withdraw → ApplicationWithdrawn, MoveOutWithdrawn →O → withdrawing
    awaiting_origin       wait timer → DeadlineMissed; Escalated + NeedsAttentionRaised
    withdrawing           MoveOutCancellationConfirmed / MoveOutReversed / MoveOutRefused
                          → receipt → withdrawn (T)
    withdrawing           MigrationCertificateIssued → receipt (no 落户) → withdrawing
    withdrawing           MoveOutWithdrawalRefused (注销 was done) → receipt
                          → certificate_received (awaiting_origin until the 迁移证 is in)
    certificate_received  Withdraw → refused `already_moved_out` (a move back is a new case)
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
    certificate_sent  MoveOutWithdrawn → receipt, MoveOutWithdrawalRefused →D (the move stands)
    certificate_sent  SettlementReported (回执) → receipt → moved_out (T)
    certificate_sent  wait timer → DeadlineMissed; Escalated + NeedsAttentionRaised
    —                 MoveOutWithdrawn first (a reordered link) → receipt,
                      MoveOutCancellationConfirmed →D → cancelled (T); the late request is ignored

Allowed terminal pairs (destination, origin): (settled, moved_out), (refused_by_origin,
refused), (lapsed, refused) [permit expired by the origin's clock], (withdrawn, cancelled),
(withdrawn, reinstated) [older records only], (withdrawn, refused) [the refusal crossed the withdrawal], and with no
origin side at all: (rejected, absent), (denied, absent), (withdrawn, absent), (lapsed, absent).

Why these choices:
- **The origin decides expiry.** The permit's expiry is an instant fixed once by the
  destination; only the origin compares it with its own clock, at check and at 注销, and its
  timer refuses with `permit_expired` when the instant passes while it still holds the case.
  The destination cannot expire a permit while a move-out request is outstanding
  (`ExpirePermit` is refused with `move_out_outstanding`); it can only expire a permit it
  never sent. So clock skew between the regions can never produce an origin that moved the
  person out while the destination lapsed the case.
- **No withdrawal after 注销** (issue 15 item 9): once the origin did 迁出登记 + 注销 the person is
  registered nowhere but the 迁移证, so the move completes; the origin answers a late withdrawal
  with `MoveOutWithdrawalRefused` and the destination goes on to 落户 (a move back is a new
  application). Before 注销 the origin releases its hold. 注销 always happens before 落户 and the
  person is never registered twice.
- **落户 after a staff check** (`Settle`): the 迁移证's arrival is recorded; the 户籍民警 checks it
  against the person and registers them at an address. The wait has a limit (`settlement`).
- **Five move types, five conditions** (`household_events.MOVE_TYPES`, [I]): the approval needs
  the type's evidence (工作调动证明, 录取通知书, 毕业证书, 结婚证, 亲属关系证明), and the type says
  which family members may move with the applicant (随迁: `HouseholdDetails.members`, keyed by
  the node from their ID numbers); every register effect applies to each member too.
- **The 回执 closes the origin.** Without it the origin could not know whether a withdrawal may
  still come, so `moved_out` would not be final; the 迁移证 has always had a 回执 that the
  destination returns after 落户.
- Register effects (scheme "hukou", `register_effects`): the origin's hold `begin_move_out`,
  release `cancel_move_out`, 注销 `end`, 恢复 `reinstate`; the destination's 落户 `open`. The
  node applies them in the same transaction; a refusal there (e.g. `already_in_transit`: a second
  move of the same person pending) aborts the command.

Single residence (`domain.invariants.single_residence`): at every step at most one region holds
an active (or held, in-transit) residence of a person; at quiescence exactly one, unless the
person is explicitly in transit (`domain.invariants.persons_in_transit`: an origin that did 注销
whose 回执 has not come).

Reference rules in scope: 户口登记条例 art. 10 (迁出登记 + 注销 before leaving, the 迁移证),
the 40-day 准迁证 [V2], the 迁出地 must not cancel against an expired permit, the 迁入地 must not
register without a confirmed move-out (reference §2c), 行政许可法 art. 32 at intake.
Not yet: the citizen's own 3/10-day 落户 limit (art. 13: here 落户 is done on receipt of the
electronic 迁移证, "网上迁移"); the countryside → city certificates (art. 10) as typed materials;
per-step time limits (none is public: regions may configure steps `intake`, `approval`,
`move_out`); household-record certificates (开具户籍类证明, an online/proxy item).

The code, mirroring the transfer protocol's: `household_events` (the vocabulary),
`household_states` (sides, phases, terminal pairs, transitions), `household_destination` and
`household_origin` (each role's rules and how its events fold), and this module (the decider,
register effects, options).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from domain.deadlines import DeadlineRules, next_due
from domain.fold import replace
from domain.kernel import (
    Actor,
    Command,
    Event,
    IllegalCommand,
    InvalidValue,
    Receive,
    SideRole,
    SideSummary,
)
from domain.protocols.application_events import Approve, Deny
from domain.protocols.casework import (
    MATERIAL_KINDS,
    Bookkeeping,
    RatingContext,
    annotation_options,
    decide_annotation,
    decide_calendar_recheck,
    decide_deadline_timer,
    evolve_bookkeeping,
    follow_up_next,
    follow_up_timers,
    is_duplicate,
    random_material,
    rearm_wait,
    timer_commands,
)
from domain.protocols.casework_events import ANNOTATIONS, ResolveAttention, facts_of
from domain.protocols.details import HouseholdDetails
from domain.protocols.household_destination import DestinationSide, evolve_destination
from domain.protocols.household_events import (
    AWAITING_DESTINATION,
    AWAITING_ORIGIN,
    MOVE_TYPES,
    PROCESS,
    SCHEME,
    SETTLE_STEP,
    CheckMoveOut,
    ExpirePermit,
    HouseholdSettled,
    MovedOut,
    MoveOutApproved,
    MoveOutHoldReleased,
    MoveOutRequested,
    MoveOutRequestReceived,
    MoveOutWithdrawalReceived,
    MoveOutWithdrawn,
    PersonEvent,
    RefuseMoveOut,
    RegisterMoveOut,
    RegistrationReinstated,
    SendMoveOutRequest,
    Settle,
)
from domain.protocols.household_origin import OriginSide, evolve_origin, expired_reason
from domain.protocols.household_states import (
    ALLOWED_TERMINAL_PAIRS,
    TRANSITIONS,
    Destination,
    HouseholdSide,
    Origin,
)
from domain.protocols.intake import (
    AcceptIntake,
    ApplicationSubmitted,
    ProvideSupplement,
    RejectIntake,
    RequestSupplement,
    Submit,
    Withdraw,
    evolve_intake,
)
from domain.registers import EffectKind, RegisterEffect, effect_of

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
        return evolve_destination(replace(dest, intake=intake), event)
    origin = replace(state, keep=evolve_bookkeeping(state.keep, event))
    if isinstance(event, ANNOTATIONS) and origin.terminal:
        return origin
    return evolve_origin(origin, event)


def _start(event: Event) -> HouseholdSide:
    if isinstance(event, ApplicationSubmitted):
        intake = evolve_intake(None, event)
        assert intake is not None
        facts = facts_of(event)
        origin = event.details.origin_region if isinstance(event.details, HouseholdDetails) else ""
        return Destination(facts, facts.accepting_region, origin, "submitted", intake)
    if isinstance(event, MoveOutRequestReceived):
        return Origin(event.case_number, event.person_key, event.applicant_masked, event.region,
                      event.from_region, "received", evolve_bookkeeping(Bookkeeping(), event),
                      event.permit_no, event.permit_expires_at, companions=event.companions)
    if isinstance(event, MoveOutWithdrawalReceived):
        return Origin(event.case_number, event.person_key, event.applicant_masked, event.region,
                      event.from_region, "received", evolve_bookkeeping(Bookkeeping(), event))
    raise IllegalCommand(f"{event.TYPE} cannot start a household-move side", code="no_side")


# =========================================================================== decide


@dataclass(frozen=True)
class HouseholdDecider(DestinationSide, OriginSide):
    """Both sides of a household move (see the module docstring); the state tells the role."""

    def evolve(self, state: HouseholdSide | None, event: Event) -> HouseholdSide:
        return evolve(state, event)

    def decide(self, state: HouseholdSide | None, command: Command,
               now: dt.datetime) -> list[Event]:
        if state is None:
            return self._first(command, now)
        if isinstance(command, Receive):
            return self._receive(state, command, now)
        rechecked = decide_calendar_recheck(state.keep, command, now, self.rules,
                                            ended=state.terminal)
        if rechecked is not None:
            return rechecked
        annotation = decide_annotation(state.keep, command, now, _rating_context(state),
                                       self.rules, PROCESS)
        if annotation is not None:
            if isinstance(command, ResolveAttention) and not state.terminal:
                annotation += self._rearm(state, now, command.actor)
            return annotation
        waits = (AWAITING_ORIGIN, AWAITING_DESTINATION, SETTLE_STEP)
        timer = decide_deadline_timer(state.keep, command, now, waits, rules=self.rules)
        if timer is not None:
            return [] if state.terminal else timer
        if state.terminal:
            raise IllegalCommand(f"the case is already {state.phase}", code="case_closed")
        if isinstance(state, Destination):
            return self._destination(state, command, now)
        return self._origin(state, command, now)

    def _first(self, command: Command, now: dt.datetime) -> list[Event]:
        if isinstance(command, Submit):
            return self._destination_first(command, now)
        if isinstance(command, Receive) and isinstance(command.event,
                                                       (MoveOutRequested, MoveOutWithdrawn)):
            return self._origin_first(command, now)
        raise IllegalCommand(f"{type(command).__name__} needs a household-move case first",
                             code="not_submitted")

    def _receive(self, state: HouseholdSide, command: Receive, now: dt.datetime) -> list[Event]:
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

    def _rearm(self, state: HouseholdSide, now: dt.datetime, actor: Actor) -> list[Event]:
        """After a person resolved it, a wait for the counterpart runs again (never hangs)."""
        if isinstance(state, Destination) and state.phase in ("awaiting_origin", "withdrawing"):
            step = AWAITING_ORIGIN
        elif isinstance(state, Destination) and state.phase == "certificate_received":
            step = SETTLE_STEP
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
            return follow_up_timers(state.keep, now, state.region)
        out = timer_commands(state.keep, now, state.region)
        expiry = _permit_timer(state)
        if expiry is not None and now >= expiry:
            if isinstance(state, Destination):
                out.append(ExpirePermit(actor=Actor.system("permit_expiry", state.region)))
            else:
                out.append(RefuseMoveOut(actor=Actor.system("permit_expiry", state.region),
                                         code="permit_expired",
                                         reason=expired_reason(expiry, now)))
        return out

    def next_timer(self, state: HouseholdSide) -> dt.datetime | None:
        if state.terminal:
            return follow_up_next(state.keep)
        times = [t for t in (next_due(state.keep.book), _permit_timer(state)) if t is not None]
        return min(times, default=None)

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


def _rating_context(state: HouseholdSide) -> RatingContext | None:
    """The applicant deals with the destination only; the origin cooperates internally."""
    if isinstance(state, Origin):
        return None
    return RatingContext(own_region=state.region, default_region=state.region,
                         rateable=(state.region,), finished=state.terminal)


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
    """The register change (scheme "hukou") an event of this protocol implies, in order: the
    applicant's, then each member's moving with them (随迁)."""
    kind = _EFFECTS.get(type(event))
    if not kind or not isinstance(event, PersonEvent):
        return []
    return [*effect_of(kind, event), *(RegisterEffect(kind, person, event.scheme, event.case_id)
                                       for person in event.companions)]


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
    if phase not in ("withdrawing", "certificate_received") and not state.deregistered:
        out.append(Withdraw(actor=applicant, reason=rng.choice(["", "计划有变", "暂不迁移"])))
    if phase == "certificate_received":
        out.append(Settle(actor=staff, address=f"{state.region}·新华街{rng.randint(1, 99)}号"))
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
        evidence, _ = MOVE_TYPES.get(state.facts.item_id, ("", frozenset()))
        if not evidence or evidence in {m.kind for m in state.intake.materials}:
            out.append(Approve(actor=staff))
        out.append(Deny(actor=staff, reason=rng.choice(["不符合投靠条件", "迁入地址不实"])))
    return out


__all__ = [
    "ALLOWED_TERMINAL_PAIRS", "PROCESS", "SCHEME", "TRANSITIONS", "HouseholdDecider", "decider",
    "evolve", "options", "register_effects",
]
