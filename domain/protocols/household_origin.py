"""The origin's (迁出地) rules of a household move: the check and hold (迁移中), 迁出登记 + 注销
and the 迁移证, refusal, release, reinstatement on a late withdrawal, the 回执. The origin alone
decides whether the permit expired, by its own clock. State table: `domain.protocols.household`."""

from __future__ import annotations

import datetime as dt

from domain.fold import replace
from domain.kernel import Actor, Command, Event, IllegalCommand, InvalidValue, Receive
from domain.protocols.casework import COUNTERPART_WAIT, clear_steps, start_step, start_wait
from domain.protocols.household_events import (
    AWAITING_DESTINATION,
    MOVE_OUT_STEP,
    PROCESS,
    REFUSAL_CODES,
    SCHEME,
    CheckMoveOut,
    MigrationCertificateIssued,
    MovedOut,
    MoveOutApproved,
    MoveOutCancellationConfirmed,
    MoveOutHoldReleased,
    MoveOutRefused,
    MoveOutRequested,
    MoveOutRequestReceived,
    MoveOutReversed,
    MoveOutWithdrawalReceived,
    MoveOutWithdrawalRefused,
    MoveOutWithdrawn,
    RefuseMoveOut,
    RegisterMoveOut,
    SettlementReceiptReceived,
    SettlementReported,
)
from domain.protocols.household_states import HouseholdBase, Origin, OriginPhase
from domain.values import CaseNumber


class OriginSide(HouseholdBase):
    """Decisions of the region asked to move a person out."""

    def _origin_first(self, command: Receive, now: dt.datetime) -> list[Event]:
        """The request (refused at once if expired by this clock), or a withdrawal that
        overtook it on a reordered link (the side starts cancelled, a tombstone)."""
        event, actor, ref, src = command.event, command.actor, command.ref, command.from_region
        if isinstance(event, MoveOutWithdrawn):
            CaseNumber.parse(event.case_number)
            return [MoveOutWithdrawalReceived(
                        at=now, actor=actor, ref=ref, from_region=src, region=event.to_region,
                        case_number=event.case_number, person_key=event.person_key,
                        applicant_masked=event.applicant_masked, reason=event.reason),
                    MoveOutCancellationConfirmed(at=now, actor=actor, to_region=src)]
        assert isinstance(event, MoveOutRequested)
        CaseNumber.parse(event.case_number)
        receipt = MoveOutRequestReceived(
            at=now, actor=actor, ref=ref, from_region=src, region=event.to_region,
            case_number=event.case_number, person_key=event.person_key,
            applicant_masked=event.applicant_masked, permit_no=event.permit_no,
            permit_expires_at=event.permit_expires_at, companions=event.companions)
        if now >= event.permit_expires_at:
            return [receipt, refusal(actor, now, src, "permit_expired",
                                     expired_reason(event.permit_expires_at, now))]
        return [receipt, *start_step(self.rules, PROCESS, MOVE_OUT_STEP, now, actor)]

    def _origin(self, o: Origin, command: Command, now: dt.datetime) -> list[Event]:
        if isinstance(command, CheckMoveOut):
            return self._check(o, command, now)
        if isinstance(command, RefuseMoveOut):
            return self._refuse_command(o, command, now)
        if isinstance(command, RegisterMoveOut):
            return self._move_out(o, command, now)
        raise IllegalCommand(f"{type(command).__name__} is not an origin command",
                             code="not_applicable")

    def _check(self, o: Origin, command: CheckMoveOut, now: dt.datetime) -> list[Event]:
        """On the register, no legal bar, the permit valid by this clock: hold (迁移中)."""
        actor = command.actor
        if o.phase != "received":
            raise IllegalCommand(f"the request was already checked (status {o.phase})",
                                 code="already_checked")
        if not o.permit_valid(now):
            return self._refuse(o, actor, now, "permit_expired",
                                expired_reason(o.permit_expires_at, now))
        if not command.on_register:
            return self._refuse(o, actor, now, "not_on_register",
                                "the person is not on this region's register")
        if command.legal_bar.strip():
            return self._refuse(o, actor, now, "legal_bar", command.legal_bar.strip())
        return [MoveOutApproved(at=now, actor=actor, person_key=o.person_key, scheme=SCHEME,
                                case_id=o.case_id, companions=o.companions)]

    def _refuse_command(self, o: Origin, command: RefuseMoveOut, now: dt.datetime) -> list[Event]:
        if o.phase not in ("received", "held"):
            raise IllegalCommand(f"nothing to refuse in status {o.phase}", code="not_refusable")
        if command.code not in REFUSAL_CODES:
            raise InvalidValue(f"refusal code must be one of {', '.join(REFUSAL_CODES)}",
                               code="invalid_refusal_code")
        if command.code == "permit_expired" and o.permit_valid(now):
            assert o.permit_expires_at is not None
            raise InvalidValue(f"the permit is valid until {o.permit_expires_at.isoformat()}",
                               code="permit_still_valid")
        if not command.reason.strip():
            raise InvalidValue("a refusal must state its reason", code="reason_required")
        return self._refuse(o, command.actor, now, command.code, command.reason.strip())

    def _move_out(self, o: Origin, command: RegisterMoveOut, now: dt.datetime) -> list[Event]:
        """迁出登记 + 注销 (only before the permit expires, by this clock) and the 迁移证."""
        actor = command.actor
        if o.phase != "held":
            raise IllegalCommand(f"迁出登记 needs a checked, held request (status {o.phase})",
                                 code="not_held")
        if not o.permit_valid(now):
            raise IllegalCommand("the permit has expired by this region's clock: refuse it",
                                 code="permit_expired")
        certificate_no = f"QY-{o.case_number}"
        return [*clear_steps(o.keep.clocked, [MOVE_OUT_STEP], now, actor),
                MovedOut(at=now, actor=actor, person_key=o.person_key, scheme=SCHEME,
                         case_id=o.case_id, certificate_no=certificate_no,
                         companions=o.companions),
                MigrationCertificateIssued(at=now, actor=actor, to_region=o.destination_region,
                                           certificate_no=certificate_no,
                                           person_key=o.person_key),
                start_wait(self.rules, PROCESS, AWAITING_DESTINATION, COUNTERPART_WAIT, now,
                           actor)]

    def _refuse(self, o: Origin, actor: Actor, now: dt.datetime, code: str,
                reason: str) -> list[Event]:
        return [*_release(o, actor, now), refusal(actor, now, o.destination_region, code, reason)]

    def _origin_receives(self, o: Origin, command: Receive, now: dt.datetime) -> list[Event]:
        event, actor, ref, src = command.event, command.actor, command.ref, command.from_region
        if isinstance(event, MoveOutRequested):
            if o.phase == "cancelled" and not o.permit_no:
                return []  # the withdrawal overtook the request (tombstone): nothing to do
            raise IllegalCommand("the move-out request was already received",
                                 code="already_received")
        if isinstance(event, MoveOutWithdrawn):
            return _withdrawn(o, command, event, now)
        if isinstance(event, SettlementReported) and o.phase == "certificate_sent":
            if event.certificate_no != o.certificate_no:
                raise InvalidValue("the 回执 names another 迁移证", code="certificate_mismatch")
            return [*clear_steps(o.keep.clocked, [AWAITING_DESTINATION], now, actor),
                    SettlementReceiptReceived(at=now, actor=actor, ref=ref, from_region=src,
                                              certificate_no=event.certificate_no)]
        raise IllegalCommand(f"{event.TYPE} is not expected in status {o.phase}",
                             code="unexpected_event")


def _withdrawn(o: Origin, command: Receive, event: MoveOutWithdrawn,
               now: dt.datetime) -> list[Event]:
    """Before 注销 the hold is released; after it the withdrawal is refused: the 迁移证 is out
    and the person is no longer registered here, so the move completes (a move back is a new
    application; 恢复户口 is not a withdrawal's effect)."""
    actor, src = command.actor, command.from_region
    if o.phase == "refused":
        return []  # crossed our refusal, which the destination follows
    if o.phase not in ("received", "held", "certificate_sent"):
        raise IllegalCommand(f"a withdrawal in status {o.phase}", code="unexpected_event")
    receipt = MoveOutWithdrawalReceived(
        at=now, actor=actor, ref=command.ref, from_region=src, region=o.region,
        case_number=o.case_number, person_key=o.person_key,
        applicant_masked=o.applicant_masked, reason=event.reason)
    if o.phase == "certificate_sent":
        return [receipt, MoveOutWithdrawalRefused(
            at=now, actor=actor, to_region=src, certificate_no=o.certificate_no,
            reason="已办理迁出登记并注销户口: the move stands; moving back is a new application")]
    return [receipt, *_release(o, actor, now),
            MoveOutCancellationConfirmed(at=now, actor=actor, to_region=src)]


def _release(o: Origin, actor: Actor, now: dt.datetime) -> list[Event]:
    """The move-out step ends without a move; a hold on the registration is released."""
    events = clear_steps(o.keep.clocked, [MOVE_OUT_STEP], now, actor)
    if o.phase == "held":
        events.append(MoveOutHoldReleased(at=now, actor=actor, person_key=o.person_key,
                                          scheme=SCHEME, case_id=o.case_id,
                                          companions=o.companions))
    return events


def refusal(actor: Actor, now: dt.datetime, to: str, code: str, reason: str) -> MoveOutRefused:
    return MoveOutRefused(at=now, actor=actor, to_region=to, code=code, reason=reason)


def expired_reason(expires_at: dt.datetime | None, now: dt.datetime) -> str:
    when = expires_at.isoformat() if expires_at is not None else "(unknown)"
    return f"准迁证 expired at {when}; this region's clock reads {now.isoformat()}"


# --------------------------------------------------------------------------- evolve

_PHASE_OF: dict[type[Event], OriginPhase] = {
    MoveOutApproved: "held",
    MoveOutRefused: "refused",
    MoveOutCancellationConfirmed: "cancelled",
    MoveOutReversed: "reinstated",
    SettlementReceiptReceived: "moved_out",
}


def evolve_origin(o: Origin, event: Event) -> Origin:
    if isinstance(event, MovedOut):
        return replace(o, phase="certificate_sent", certificate_no=event.certificate_no)
    phase = _PHASE_OF.get(type(event))
    return o if phase is None else replace(o, phase=phase)
