"""多地联办 of a single decision: the region the applicant goes to accepts and decides, a partner
region gives its part (issue 15 item 8). State table, accepting side A and partner P:

    A —                 Submit(mode joint, partner_region) → ApplicationSubmitted → submitted
    A submitted         AcceptIntake → IntakeAccepted, AssistanceRequested →P (+ wait)
                        → awaiting_records          (RejectIntake / 补正 / lapse as online)
    P —                 AssistanceRequested → AssistanceRequestReceived (+ the partner's step
                        deadline, where the statute or the region gives one) → requested
    P requested         GiveAssistance → AssistanceGiven →A (+ wait) → assisted
    P requested         DeclineAssistance(reason) → AssistanceDeclined →A (+ wait) → declined
    A awaiting_records  AssistanceGiven | AssistanceDeclined → AssistanceReceived (+ decision
                        deadline) → under_review
    A under_review      Approve (refused after a decline: `assistance_declined`) → approved;
                        Deny(reason) → CooperationClosed →P, ApplicationDenied → denied (T)
    A approved          DeliverResult → ResultDelivered, CooperationClosed →P, CaseCompleted
                        → completed (T)
    A before a decision Withdraw → (CooperationClosed →P once asked) ApplicationWithdrawn
                        → withdrawn (T); P's answer crossing it is ignored (nothing recorded)
    P any open phase    CooperationClosed → CooperationClosedReceived → closed (T)

Allowed terminal pairs (accepting, partner): (completed, closed), (denied, closed),
(withdrawn, closed), and (rejected | lapsed | withdrawn, absent) when P was never asked. P ends
only on A's closure, so P never sends after A ended except an answer crossing a withdrawal.

What each joint item is, and its partner's part (the catalogue's `basis` says why joint):
- b1-26 出具贷款职工住房公积金缴存使用证明 (certificate_issuance): the 购房地 centre issues the
  certificate; the 缴存地 centre gives the deposit and use records (reference/domain.md §2d-1).
- b1-28 小型非营运二手车交易登记 (registration): the vehicle's 转入地 invoices and registers the
  transfer; the 转出地 vehicle office gives the vehicle's file.
- b2-45 购房提取住房公积金 in joint mode (fund_withdrawal): the centre the applicant applies to
  decides and pays; the other centre gives the purchase or deposit records (§2d-1 [I]).
- b2-26 流动人员人事档案接收、转递 (personnel_file_transfer): the receiving agency (转入地) issues
  the 调档函 (the request); the holding agency checks the file, seals it and sends it by 机要 or
  EMS within 15 WD of the letter (人社部发〔2021〕112号 [V2], step `transfer_out`) — the tracking
  number is mandatory: the person never carries their own file; the receiver checks it and
  returns the 回执 (approval and delivery), or refuses an incomplete file (denial).
- b2-62 门诊费用跨省直接结算 and b3-7 工伤职工异地就医结算 (direct_settlement): the 就医地
  settles at the point of care (the accepting side, one case per settlement); the 参保地 fund
  confirms cover and its share (the partner's part); clearing between the funds is monthly and
  outside the case (reference/domain.md §2d-2 [I]; 工伤: the 参保地 work-injury fund, [I]).
- b2-68 残疾人证迁移 (disability_cert_move): the 迁入地 残联 accepts and issues the new card; the
  迁出地 残联 moves the record in the 全国残疾人人口基础数据库 (reference/domain.md §2d-4: the
  expected shape, [I] — nothing public was found; no step limits).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from domain.deadlines import DeadlineSet
from domain.kernel import Command, Event, IllegalCommand, InvalidValue, Receive
from domain.protocols.application_events import (
    Approve,
    AssistanceDeclined,
    AssistanceGiven,
    AssistanceReceived,
    AssistanceRequested,
    AssistanceRequestReceived,
    CooperationClosed,
    CooperationClosedReceived,
    DeclineAssistance,
    DeliverResult,
    Deny,
    GiveAssistance,
)
from domain.protocols.application_handling import DECISION_STEP, check_facts
from domain.protocols.application_states import (
    CLOSURE_WAIT,
    PARTNER_WAIT,
    ApplicationBase,
    ApplicationSide,
)
from domain.protocols.casework import COUNTERPART_WAIT, clear_steps, start_step, start_wait
from domain.protocols.intake import AcceptIntake

Handler = Callable[[ApplicationSide, Command, dt.datetime], list[Event]]

#: The partner's own step, by process (a statute names it for personnel files); "assistance"
#: gets a deadline only where the region configures one.
PARTNER_STEPS: dict[str, str] = {"personnel_file_transfer": "transfer_out"}
#: Processes whose partner sends something physical: a tracking number is mandatory.
PHYSICAL: frozenset[str] = frozenset({"personnel_file_transfer"})


def partner_step(process: str) -> str:
    return PARTNER_STEPS.get(process, "assistance")


class JointSide(ApplicationBase):
    """The joint-only rules of the accepting side and the partner's whole side."""

    def _accepting(self, side: ApplicationSide, command: Command, now: dt.datetime,
                   handle: Handler) -> list[Event]:
        """The online rules (`handle`), plus the partner: asked on acceptance, closed at the end;
        the decision clock starts when the partner answered (its time is not the decider's)."""
        if isinstance(command, Approve) and side.declined:
            raise IllegalCommand(f"the partner region declined its part ({side.declined}): "
                                 "the application can only be denied",
                                 code="assistance_declined")
        events = handle(side, command, now)
        if isinstance(command, AcceptIntake):
            events = [e for e in events
                      if not (isinstance(e, DeadlineSet) and e.step == DECISION_STEP)]
            return events + self._request_assistance(side, now, command)
        if isinstance(command, (Deny, DeliverResult)):
            outcome = "denied" if isinstance(command, Deny) else "completed"
            *body, last = events
            return [*body, *self._closure(side, outcome, now, command), last]
        return events

    def _request_assistance(self, side: ApplicationSide, now: dt.datetime,
                            command: Command) -> list[Event]:
        """On acceptance: the request to the partner, and A's wait for its answer."""
        return [AssistanceRequested(at=now, actor=command.actor, to_region=side.peer,
                                    facts=side.facts),
                start_wait(self.rules, side.facts.process, PARTNER_WAIT, COUNTERPART_WAIT, now,
                           command.actor)]

    def _closure(self, side: ApplicationSide, outcome: str, now: dt.datetime,
                 command: Command) -> list[Event]:
        """The partner's side ends with the case (only once it was asked)."""
        if side.role != "accepting" or not side.requested:
            return []
        return [*clear_steps(side.keep.clocked, [PARTNER_WAIT], now, command.actor),
                CooperationClosed(at=now, actor=command.actor, to_region=side.peer,
                                  outcome=outcome)]

    def _partner_first(self, command: Receive, now: dt.datetime) -> list[Event]:
        event = command.event
        assert isinstance(event, AssistanceRequested)
        check_facts(event.facts)
        return [AssistanceRequestReceived(at=now, actor=command.actor, ref=command.ref,
                                          from_region=command.from_region,
                                          region=event.to_region, facts=event.facts),
                *start_step(self.rules, event.facts.process, partner_step(event.facts.process),
                            now, command.actor)]

    def _partner(self, side: ApplicationSide, command: Command, now: dt.datetime) -> list[Event]:
        actor, process = command.actor, side.facts.process
        if not isinstance(command, (GiveAssistance, DeclineAssistance)):
            raise IllegalCommand(f"{type(command).__name__} is not a command of the partner "
                                 "region (it gives its part; the case is decided where the "
                                 "applicant applied)", code="handled_elsewhere")
        if side.phase != "requested":
            raise IllegalCommand(f"the part was already given (status {side.phase})",
                                 code="already_answered")
        if isinstance(command, GiveAssistance):
            tracking = command.tracking_no.strip()
            if process in PHYSICAL and not tracking:
                raise InvalidValue("a personnel file travels by 机要 or EMS: its tracking number "
                                   "is required", code="tracking_no_required",
                                   field="tracking_no")
            if not tracking and not command.materials:
                raise InvalidValue("the partner's part is documents or a tracked dispatch",
                                   code="materials_required", field="materials")
            answer: Event = AssistanceGiven(at=now, actor=actor, to_region=side.peer,
                                            materials=command.materials, tracking_no=tracking)
        else:
            if not command.reason.strip():
                raise InvalidValue("a partner's refusal states its reason",
                                   code="reason_required", field="reason")
            answer = AssistanceDeclined(at=now, actor=actor, to_region=side.peer,
                                        reason=command.reason.strip())
        return [*clear_steps(side.keep.clocked, [partner_step(process)], now, actor), answer,
                start_wait(self.rules, process, CLOSURE_WAIT, COUNTERPART_WAIT, now, actor)]

    def _accepting_receives(self, side: ApplicationSide, command: Receive,
                            now: dt.datetime) -> list[Event]:
        event, actor = command.event, command.actor
        if not isinstance(event, (AssistanceGiven, AssistanceDeclined)):
            raise IllegalCommand(f"{event.TYPE} is not expected by the accepting side",
                                 code="unexpected_event")
        if side.terminal:
            return []  # crossed the withdrawal, which closes the partner's side
        if side.phase != "awaiting_records":
            raise IllegalCommand(f"{event.TYPE} in status {side.phase}", code="unexpected_event")
        received = AssistanceReceived(
            at=now, actor=actor, ref=command.ref, from_region=command.from_region,
            given=isinstance(event, AssistanceGiven),
            materials=getattr(event, "materials", ()), tracking_no=getattr(event, "tracking_no", ""),
            reason=getattr(event, "reason", ""))
        return [*clear_steps(side.keep.clocked, [PARTNER_WAIT], now, actor), received,
                *start_step(self.rules, side.facts.process, DECISION_STEP, now, actor)]

    def _partner_receives(self, side: ApplicationSide, command: Receive,
                          now: dt.datetime) -> list[Event]:
        event, actor = command.event, command.actor
        if not isinstance(event, CooperationClosed):
            raise IllegalCommand(f"{event.TYPE} is not expected by the partner side",
                                 code="unexpected_event")
        steps = [partner_step(side.facts.process), CLOSURE_WAIT]
        return [*clear_steps(side.keep.clocked, steps, now, actor),
                CooperationClosedReceived(at=now, actor=actor, ref=command.ref,
                                          from_region=command.from_region,
                                          outcome=event.outcome)]
