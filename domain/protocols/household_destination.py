"""The destination's (迁入地) rules of a household move: intake, the 准迁证, the move-out request,
落户 on the 迁移证, withdrawal. State table: `domain.protocols.household`."""

from __future__ import annotations

import datetime as dt

from domain.fold import replace
from domain.kernel import Command, Event, IllegalCommand, InvalidValue, Receive
from domain.protocols.application_events import ApplicationDenied, Approve, Deny
from domain.protocols.casework import (
    COUNTERPART_WAIT,
    INTAKE_STEP,
    SUPPLEMENT_STEP,
    checked_region,
    clear_steps,
    denial_reason,
    lapse_due,
    pause_for_supplement,
    resume_after_supplement,
    start_step,
    start_wait,
    supplement_lapsed,
)
from domain.protocols.casework_events import Lapse, lapse_of
from domain.protocols.details import HouseholdDetails
from domain.protocols.household_events import (
    APPROVAL_STEP,
    AWAITING_ORIGIN,
    MODE,
    MOVE_TYPES,
    PERMIT_STEP,
    PROCESS,
    SCHEME,
    SETTLE_STEP,
    ExpirePermit,
    HouseholdSettled,
    MigrationCertificateIssued,
    MigrationCertificateReceived,
    MoveOutCancellationConfirmed,
    MoveOutCancellationReceived,
    MoveOutRefusalReceived,
    MoveOutRefused,
    MoveOutRequested,
    MoveOutReversalReceived,
    MoveOutReversed,
    MoveOutWithdrawalRefusalReceived,
    MoveOutWithdrawalRefused,
    MoveOutWithdrawn,
    MovePermitIssued,
    SendMoveOutRequest,
    Settle,
    SettlementReported,
)
from domain.protocols.household_states import Destination, DestinationPhase, HouseholdBase
from domain.protocols.intake import (
    AcceptIntake,
    ApplicationWithdrawn,
    CaseLapsed,
    ProvideSupplement,
    RejectIntake,
    RequestSupplement,
    Submit,
    Withdraw,
    decide_intake,
)
from domain.values import CaseNumber

IntakeCommand = AcceptIntake | RejectIntake | RequestSupplement | ProvideSupplement


class DestinationSide(HouseholdBase):
    """Decisions of the region the applicant files at."""

    def _destination_first(self, command: Submit, now: dt.datetime) -> list[Event]:
        _check_submission(command)
        return [*decide_intake(None, command, now),
                *start_step(self.rules, PROCESS, INTAKE_STEP, now, command.actor)]

    def _destination(self, d: Destination, command: Command, now: dt.datetime) -> list[Event]:
        if isinstance(command, (AcceptIntake, RejectIntake, RequestSupplement, ProvideSupplement)):
            return self._destination_intake(d, command, now)
        if (lapse := lapse_of(command)) is not None:
            return _supplement_lapse(d, lapse, now)
        if isinstance(command, (Approve, Deny)):
            return self._destination_decides(d, command, now)
        if isinstance(command, SendMoveOutRequest):
            return self._request_move_out(d, command, now)
        if isinstance(command, ExpirePermit):
            return _expire_permit(d, command, now)
        if isinstance(command, Withdraw):
            return self._destination_withdraws(d, command, now)
        if isinstance(command, Settle):
            return _settle_now(d, command, now)
        raise IllegalCommand(f"{type(command).__name__} is not a destination command",
                             code="not_applicable")

    def _destination_intake(self, d: Destination, command: IntakeCommand,
                            now: dt.datetime) -> list[Event]:
        actor = command.actor
        events = decide_intake(d.intake, command, now)
        if isinstance(command, AcceptIntake):
            return [*events, *clear_steps(d.keep.clocked, [INTAKE_STEP], now, actor),
                    *start_step(self.rules, PROCESS, APPROVAL_STEP, now, actor)]
        if isinstance(command, RejectIntake):
            return [*clear_steps(d.keep.clocked, [INTAKE_STEP], now, actor), *events]
        if isinstance(command, RequestSupplement):
            return [*events, *pause_for_supplement(self.rules, PROCESS, d.keep, now, actor)]
        return [*events, *resume_after_supplement(self.rules, PROCESS, d.keep, now, actor)]

    def _destination_decides(self, d: Destination, command: Approve | Deny,
                             now: dt.datetime) -> list[Event]:
        """Approval issues the 准迁证, valid until an absolute instant; a denial states why."""
        actor = command.actor
        if d.phase != "under_review":
            raise IllegalCommand(f"nothing to decide in status {d.phase}",
                                 code="not_under_review")
        done = clear_steps(d.keep.clocked, [APPROVAL_STEP], now, actor)
        if isinstance(command, Deny):
            return [*done, ApplicationDenied(at=now, actor=actor,
                                             reason=denial_reason(command.reason))]
        evidence, _ = MOVE_TYPES.get(d.facts.item_id, ("", frozenset()))
        if evidence and evidence not in {m.kind for m in d.intake.materials}:
            raise InvalidValue(f"a {d.facts.item_id} move is approved on its {evidence}, which "
                               "the application lacks: ask for it (补正) or deny",
                               code="move_conditions", field="materials")
        spec = self.rules.deadline_for(PROCESS, PERMIT_STEP, now)
        if spec is None:
            raise IllegalCommand("no validity is configured for the 准迁证", code="no_time_limit")
        return [*done, MovePermitIssued(
            at=now, actor=actor, permit_no=f"ZQ-{d.facts.case_number}",
            expires_at=spec.due_at, basis=spec.basis, calendar_version=spec.calendar_version)]

    def _request_move_out(self, d: Destination, command: SendMoveOutRequest,
                          now: dt.datetime) -> list[Event]:
        if d.phase != "permit_issued":
            raise IllegalCommand(f"no permit waiting to be sent (status {d.phase})",
                                 code="not_permit_issued")
        assert d.permit_expires_at is not None
        if now >= d.permit_expires_at:
            raise IllegalCommand("the permit expired before it was sent", code="permit_expired")
        return [MoveOutRequested(
                    at=now, actor=command.actor, to_region=d.origin_region,
                    case_number=d.facts.case_number, person_key=d.person_key,
                    applicant_masked=d.facts.applicant_masked, permit_no=d.permit_no,
                    permit_expires_at=d.permit_expires_at, companions=d.companions),
                start_wait(self.rules, PROCESS, AWAITING_ORIGIN, COUNTERPART_WAIT, now,
                           command.actor)]

    def _destination_withdraws(self, d: Destination, command: Withdraw,
                               now: dt.datetime) -> list[Event]:
        actor = command.actor
        if d.phase == "withdrawing":
            raise IllegalCommand("the withdrawal is already on its way", code="already_withdrawing")
        if d.phase == "certificate_received" or d.deregistered:
            raise IllegalCommand("the origin has done 迁出登记 and 注销: the move completes here; "
                                 "moving back is a new application", code="already_moved_out")
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
            return self._certificate(d, command, event, done, now)
        if isinstance(event, MoveOutWithdrawalRefused) and d.phase == "withdrawing":
            refused = MoveOutWithdrawalRefusalReceived(
                at=now, actor=actor, ref=ref, from_region=src,
                certificate_no=event.certificate_no, reason=event.reason)
            return [*done, refused, start_wait(self.rules, PROCESS, SETTLE_STEP,
                                               "certificate_received", now, actor)]
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


    def _certificate(self, d: Destination, command: Receive, event: MigrationCertificateIssued,
                     done: list[Event], now: dt.datetime) -> list[Event]:
        """The 迁移证 arrives: recorded, and 落户 waits for the staff's check (`Settle`); while
        withdrawing it is kept — the origin's answer says whether the move stands."""
        actor, src = command.actor, command.from_region
        receipt = MigrationCertificateReceived(at=now, actor=actor, ref=command.ref,
                                               from_region=src,
                                               certificate_no=event.certificate_no)
        if d.phase == "withdrawing":
            return [receipt]
        if d.phase == "withdrawn":
            return []  # the reversal overtook it (a reordered link): void already
        if d.phase != "awaiting_origin":
            raise IllegalCommand(f"a 迁移证 in status {d.phase}", code="unexpected_event")
        if event.person_key != d.person_key:
            raise InvalidValue("the 迁移证 names another person", code="person_mismatch")
        return [receipt, *done, start_wait(self.rules, PROCESS, SETTLE_STEP,
                                           "certificate_received", now, actor)]


def _settle_now(d: Destination, command: Settle, now: dt.datetime) -> list[Event]:
    """落户 after the staff checked the 迁移证 against the person (and the members moving with
    them): the 回执 goes back and the register opens here."""
    if d.phase != "certificate_received":
        raise IllegalCommand(f"no 迁移证 waiting for 落户 (status {d.phase})",
                             code="no_certificate")
    if not command.address.strip():
        raise InvalidValue("落户 names the address registered", code="address_required",
                           field="address")
    actor = command.actor
    return [*clear_steps(d.keep.clocked, [SETTLE_STEP], now, actor),
            SettlementReported(at=now, actor=actor, to_region=d.origin_region,
                               certificate_no=d.certificate_no),
            HouseholdSettled(at=now, actor=actor, person_key=d.person_key, scheme=SCHEME,
                             case_id=d.case_id, certificate_no=d.certificate_no,
                             address=command.address.strip(), companions=d.companions)]


def _supplement_lapse(d: Destination, command: Lapse, now: dt.datetime) -> list[Event]:
    if (command.step != SUPPLEMENT_STEP or d.phase != "supplement_requested"
            or not lapse_due(d.keep, SUPPLEMENT_STEP, now)):
        return []  # a stale timer command
    due = d.keep.book[SUPPLEMENT_STEP].due_at
    return [supplement_lapsed(command.actor, now, f"nothing supplied by {due.isoformat()}")]


def _expire_permit(d: Destination, command: ExpirePermit, now: dt.datetime) -> list[Event]:
    """Only a permit that was never sent expires here; once sent, the origin decides."""
    if d.phase in ("awaiting_origin", "withdrawing"):
        raise IllegalCommand("a move-out request is outstanding: only the origin decides "
                             "whether the permit expired", code="move_out_outstanding")
    if d.phase != "permit_issued" or d.permit_expires_at is None:
        raise IllegalCommand(f"no unsent permit (status {d.phase})", code="not_permit_issued")
    if now < d.permit_expires_at:
        return []  # a timer command before its time
    return [CaseLapsed(at=now, actor=command.actor, waiting_state="permit_issued",
                       reason=f"准迁证失效: expired {d.permit_expires_at.isoformat()} "
                              "before the move-out request was sent")]


def _check_submission(command: Submit) -> None:
    if command.process != PROCESS:
        raise InvalidValue(f"the household-move protocol runs {PROCESS}, not {command.process!r}",
                           code="unknown_process")
    if command.mode != MODE:
        raise InvalidValue(f"a household move is handled jointly (mode {MODE}), not "
                           f"{command.mode!r}", code="invalid_mode")
    destination = str(CaseNumber.parse(command.case_number).region)
    if not isinstance(command.details, HouseholdDetails):
        raise InvalidValue("a household move names the region it moves out of "
                           "(details.origin_region)", code="invalid_details",
                           field="details.origin_region")
    origin = checked_region(command.details.origin_region, "details.origin_region")
    if origin == destination:
        raise InvalidValue("the origin region must differ from the destination",
                           code="same_region", field="details.origin_region")
    _check_members(command, command.details)


def _check_members(command: Submit, details: HouseholdDetails) -> None:
    """随迁: who may move with the applicant depends on the move type; each once, keyed."""
    _, allowed = MOVE_TYPES.get(command.item_id, ("", frozenset()))
    seen = {command.person_key}
    for n, member in enumerate(details.members):
        where = f"details.members[{n}]"
        if member.id_number:
            raise InvalidValue("a member's ID number is turned into its person key by the node",
                               code="invalid_details", field=f"{where}.id_number")
        if not member.person_key or not member.masked:
            raise InvalidValue("a member moving with the applicant is named by person key",
                               code="invalid_details", field=f"{where}.person_key")
        if member.relation not in allowed:
            raise InvalidValue(f"a {command.item_id} move takes no {member.relation!r} with the "
                               f"applicant (allowed: {', '.join(sorted(allowed)) or 'nobody'})",
                               code="companion_not_allowed", field=f"{where}.relation")
        if member.person_key in seen:
            raise InvalidValue("a person moves once in a move", code="invalid_details",
                               field=f"{where}.person_key")
        seen.add(member.person_key)


# --------------------------------------------------------------------------- evolve

_PHASE_OF: dict[type[Event], DestinationPhase] = {
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


def evolve_destination(d: Destination, event: Event) -> Destination:
    if isinstance(event, MovePermitIssued):
        return replace(d, phase="permit_issued", permit_no=event.permit_no,
                       permit_expires_at=event.expires_at)
    if isinstance(event, ApplicationWithdrawn):
        return replace(d, phase="withdrawing" if d.phase == "awaiting_origin" else "withdrawn")
    if isinstance(event, MigrationCertificateReceived):
        phase: DestinationPhase = "certificate_received" if d.phase == "awaiting_origin" \
            else d.phase
        return replace(d, certificate_no=event.certificate_no, phase=phase)
    if isinstance(event, MoveOutWithdrawalRefusalReceived):
        return replace(d, phase="certificate_received" if d.certificate_no
                       else "awaiting_origin", deregistered=True)
    if isinstance(event, MoveOutRefusalReceived):
        if d.phase == "withdrawing":
            return replace(d, phase="withdrawn")
        return d if event.code == "permit_expired" else replace(d, phase="refused_by_origin")
    if isinstance(event, (MoveOutCancellationReceived, MoveOutReversalReceived)):
        return replace(d, phase="withdrawn")
    found = _PHASE_OF.get(type(event))
    if found is not None:
        return replace(d, phase=found)
    if d.phase in ("submitted", "supplement_requested") and d.intake.status in _INTAKE_PHASE:
        return replace(d, phase=_INTAKE_PHASE[d.intake.status])
    return d
