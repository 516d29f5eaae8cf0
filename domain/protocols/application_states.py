"""Side states of online and proxy applications and how events fold into them.

Why apart from the decider (`domain.protocols.application`): the invariant checkers, the views
and the property tests read the phases, the terminal pairs and the transition table without
the rules that decide; and `evolve` is the one place an event changes a side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from domain.deadlines import DeadlineRules
from domain.fold import replace
from domain.kernel import Event, IllegalCommand
from domain.protocols.application_events import (
    ApplicationApproved,
    ApplicationDenied,
    ApplicationForwarded,
    AssistanceDeclined,
    AssistanceGiven,
    AssistanceReceived,
    AssistanceRequestReceived,
    CaseCompleted,
    CompletionNoticeReceived,
    CooperationClosedReceived,
    ForwardedApplicationReceived,
    HandlingAccepted,
    HandlingApproved,
    HandlingDenied,
    HandlingLapsed,
    HandlingNoticeReceived,
    HandlingRejected,
    HandlingResultSent,
    HandlingSupplementRequested,
    HandlingWithdrawalConfirmed,
    OriginalsReceived,
    WithdrawalRequestReceived,
)
from domain.protocols.casework import (
    ABSENT,
    INTAKE_TRANSITIONS,
    Bookkeeping,
    CaseworkViews,
    evolve_bookkeeping,
)
from domain.protocols.casework_events import ANNOTATIONS, CaseFacts, facts_of
from domain.protocols.details import ApplicationDetails, Details, JointDetails, NoDetails
from domain.protocols.intake import (
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CaseLapsed,
    Intake,
    IntakeAccepted,
    IntakeRejected,
    SupplementProvided,
    SupplementRequested,
    evolve_intake,
)
from domain.values import MaterialRef

#: Catalogue processes decided by one region (online, proxy with a receiving window, or joint
#: with a partner region's part). The last three are joint-only (docs: `application_joint`).
PROCESSES: tuple[str, ...] = (
    "benefit_claim", "card_service", "certificate_issuance", "certification", "filing",
    "fund_withdrawal", "loan_repayment", "notarisation", "query_verify", "registration",
    "single_region_approval",
    "personnel_file_transfer", "disability_cert_move", "direct_settlement",
)
MODES = ("online", "proxy", "joint", "local")

Phase = Literal[
    "submitted", "supplement_requested", "under_review", "approved", "forwarded",
    "awaiting_result", "result_received", "result_sent", "withdrawing",
    "awaiting_records", "requested", "assisted", "declined",
    "completed", "rejected", "denied", "withdrawn", "lapsed", "closed",
]
TERMINAL: frozenset[str] = frozenset({"completed", "rejected", "denied", "withdrawn", "lapsed",
                                      "closed"})
BEFORE_DECISION: frozenset[str] = frozenset({"submitted", "supplement_requested", "under_review"})
Role = Literal["single", "receiving", "handling", "accepting", "partner"]

ALLOWED_TERMINAL_PAIRS: frozenset[tuple[str, str]] = frozenset({
    # proxy: (receiving, handling)
    ("completed", "completed"), ("rejected", "rejected"), ("denied", "denied"),
    ("lapsed", "lapsed"), ("withdrawn", "withdrawn"),
    ("rejected", ABSENT), ("withdrawn", ABSENT),
    # online: (single, absent)
    ("completed", ABSENT), ("denied", ABSENT), ("lapsed", ABSENT),
    # joint: (accepting, partner); (rejected | lapsed | withdrawn, absent) before the request
    ("completed", "closed"), ("denied", "closed"), ("withdrawn", "closed"),
})

#: Phase changes each role may make ("" is "no side yet"); `needs_attention` is an overlay on
#: these, not a phase, and annotations (`ANNOTATIONS`) change none. The receiving side follows
#: the handler's notices, so it may pass from any waiting phase to the outcome notified.
TRANSITIONS: frozenset[tuple[str, str]] = INTAKE_TRANSITIONS | frozenset({
    # decision and result: single and handling sides
    ("under_review", "approved"), ("approved", "completed"), ("approved", "result_sent"), ("result_sent", "completed"),
    # receiving side
    ("submitted", "forwarded"),
    *((waiting, outcome)
      for waiting in ("forwarded", "supplement_requested", "under_review")
      for outcome in ("supplement_requested", "under_review", "rejected", "awaiting_result",
                      "denied", "lapsed", "result_received")
      if waiting != outcome),
    *(("withdrawing", outcome) for outcome in ("rejected", "awaiting_result", "denied",
                                               "lapsed", "result_received")),
    ("forwarded", "withdrawing"), ("supplement_requested", "forwarded"),
    ("supplement_requested", "withdrawing"), ("under_review", "withdrawing"),
    ("withdrawing", "withdrawn"),
    ("awaiting_result", "result_received"), ("result_received", "completed"),
    # joint: the accepting side waits for its partner, the partner ends with the case
    ("submitted", "awaiting_records"), ("awaiting_records", "under_review"),
    ("awaiting_records", "withdrawn"),
    ("", "requested"), ("requested", "assisted"), ("requested", "declined"),
    ("requested", "closed"), ("assisted", "closed"), ("declined", "closed"),
})

RECEIVING_WAIT = "awaiting_handling"
HANDLING_WAIT = "awaiting_receiving"
#: Joint: the accepting side waits for the partner's part, the partner for the case's end.
PARTNER_WAIT = "awaiting_partner"
CLOSURE_WAIT = "awaiting_closure"
#: The receiving side's phases while it waits for the handler's next notice.
AWAITING_HANDLER: frozenset[str] = frozenset({"forwarded", "supplement_requested", "under_review",
                                              "withdrawing"})


@dataclass(frozen=True)
class ApplicationSide:
    """One region's side of an online or proxy application.

    `region` is this side's region, `peer` the counterpart's ("" online). `intake` is the
    intake sub-machine (for the handling side, built from the forwarded application).
    """

    role: Role
    facts: CaseFacts
    region: str
    peer: str
    phase: Phase
    intake: Intake
    keep: Bookkeeping = field(default_factory=Bookkeeping)
    missing_kinds: tuple[str, ...] = ()
    result: tuple[MaterialRef, ...] = ()
    forwarded: bool = False
    notice_version: int = 0
    requested: bool = False
    declined: str = ""
    originals_pending: str = ""

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL

    @property
    def handling_region(self) -> str:
        """The region that decided: the peer once the window forwarded, else this one."""
        return self.peer if self.role == "receiving" and self.forwarded else self.region


def _intake_from_forwarded(e: ForwardedApplicationReceived | WithdrawalRequestReceived
                           | AssistanceRequestReceived,
                           materials: tuple[MaterialRef, ...], details: Details) -> Intake:
    f = e.facts
    submitted = ApplicationSubmitted(
        at=e.at, actor=e.actor, case_number=f.case_number, item_id=f.item_id,
        process=f.process, mode=f.mode, person_key=f.person_key,
        applicant_masked=f.applicant_masked, channel="window", materials=materials,
        details=details)
    intake = evolve_intake(None, submitted)
    assert intake is not None
    return intake


_PHASE_OF: dict[type[Event], Phase] = {
    SupplementRequested: "supplement_requested",
    IntakeAccepted: "under_review",
    IntakeRejected: "rejected",
    ApplicationWithdrawn: "withdrawn",
    CaseLapsed: "lapsed",
    ApplicationApproved: "approved",
    ApplicationDenied: "denied",
    CaseCompleted: "completed",
    HandlingResultSent: "result_sent",
    CompletionNoticeReceived: "completed",
}

#: What the receiving side does on each of H's notices (None: the phase does not change).
NOTICE_PHASE: dict[str, Phase | None] = {
    "HandlingAccepted": "under_review",
    "HandlingSupplementRequested": "supplement_requested",
    "HandlingRejected": "rejected",
    "HandlingApproved": "awaiting_result",
    "HandlingDenied": "denied",
    "HandlingResultSent": "result_received",
    "HandlingLapsed": "lapsed",
    "HandlingWithdrawalConfirmed": "withdrawn",
}
NOTICE_TYPES: tuple[type[Event], ...] = (
    HandlingAccepted, HandlingSupplementRequested, HandlingRejected, HandlingApproved,
    HandlingDenied, HandlingResultSent, HandlingLapsed, HandlingWithdrawalConfirmed,
)


def _evolve_phase(side: ApplicationSide, event: Event) -> ApplicationSide:
    if isinstance(event, HandlingNoticeReceived):
        return _evolve_notice(side, event)
    if isinstance(event, ApplicationWithdrawn) and side.role == "receiving" and side.forwarded:
        return replace(side, phase="withdrawing")  # the handling region has to confirm
    if isinstance(event, SupplementProvided):
        phase: Phase = "forwarded" if side.role == "receiving" and side.forwarded else "submitted"
        return replace(side, phase=phase, missing_kinds=())
    if isinstance(event, SupplementRequested):
        return replace(side, phase="supplement_requested", missing_kinds=event.missing_kinds)
    if isinstance(event, ApplicationApproved):
        return replace(side, phase="approved", result=event.result)
    if isinstance(event, ApplicationForwarded):
        return replace(side, phase="forwarded", forwarded=True)
    if isinstance(event, OriginalsReceived):
        return replace(side, originals_pending="")
    if isinstance(event, IntakeAccepted) and side.role == "accepting":
        return replace(side, phase="awaiting_records", requested=True)
    if isinstance(event, AssistanceReceived):
        return replace(side, phase="under_review", declined="" if event.given else event.reason)
    if isinstance(event, (AssistanceGiven, AssistanceDeclined)):
        return replace(side, phase="assisted" if isinstance(event, AssistanceGiven)
                       else "declined")
    if isinstance(event, CooperationClosedReceived):
        return replace(side, phase="closed")
    new_phase = _PHASE_OF.get(type(event))
    return side if new_phase is None else replace(side, phase=new_phase)


def _evolve_notice(side: ApplicationSide, e: HandlingNoticeReceived) -> ApplicationSide:
    if e.stale:
        return side
    side = replace(side, notice_version=max(side.notice_version, e.ref.version))
    target = NOTICE_PHASE.get(e.notice)
    if e.notice == "HandlingSupplementRequested":
        if side.phase == "withdrawing":
            return replace(side, missing_kinds=e.missing_kinds)
        return replace(side, phase="supplement_requested", missing_kinds=e.missing_kinds)
    if e.notice == "HandlingAccepted" and side.phase == "withdrawing":
        return side  # H accepted before the withdrawal reached it; its confirmation follows
    if e.notice == "HandlingResultSent":
        return replace(side, phase="result_received", result=e.result)
    return side if target is None else replace(side, phase=target)


def evolve(state: ApplicationSide | None, event: Event) -> ApplicationSide:
    """Fold one event; `evolve(None, first_event)` builds the side."""
    if state is None:
        return _start(event)
    side = replace(state, keep=evolve_bookkeeping(state.keep, event))
    if isinstance(event, ANNOTATIONS) and side.terminal:
        return side
    intake = evolve_intake(side.intake, event)
    assert intake is not None
    side = replace(side, intake=intake)
    return _evolve_phase(side, event)


def _start(event: Event) -> ApplicationSide:
    if isinstance(event, ApplicationSubmitted):
        facts = facts_of(event)
        intake = evolve_intake(None, event)
        assert intake is not None
        if event.mode == "proxy":
            handling = (event.details.handling_region
                        if isinstance(event.details, ApplicationDetails) else "")
            return ApplicationSide("receiving", facts, facts.accepting_region, handling,
                                   "submitted", intake)
        if event.mode == "joint":
            partner = (event.details.partner_region
                       if isinstance(event.details, JointDetails) else "")
            return ApplicationSide("accepting", facts, facts.accepting_region, partner,
                                   "submitted", intake)
        return ApplicationSide("single", facts, facts.accepting_region, "", "submitted", intake)
    if isinstance(event, ForwardedApplicationReceived):
        intake = _intake_from_forwarded(event, event.materials, event.details)
        keep = evolve_bookkeeping(Bookkeeping(), event)
        return ApplicationSide("handling", event.facts, event.region, event.from_region,
                               "submitted", intake, keep,
                               originals_pending=event.originals_tracking_no)
    if isinstance(event, WithdrawalRequestReceived):
        intake = _intake_from_forwarded(event, (), NoDetails())
        keep = evolve_bookkeeping(Bookkeeping(), event)
        return ApplicationSide("handling", event.facts, event.region, event.from_region,
                               "submitted", intake, keep)
    if isinstance(event, AssistanceRequestReceived):
        intake = _intake_from_forwarded(event, (), NoDetails())
        keep = evolve_bookkeeping(Bookkeeping(), event)
        return ApplicationSide("partner", event.facts, event.region, event.from_region,
                               "requested", intake, keep)
    raise IllegalCommand(f"{event.TYPE} cannot start an application side", code="no_side")


@dataclass(frozen=True)
class ApplicationBase(CaseworkViews):
    """What every role's rules share: the region's deadline rules."""

    rules: DeadlineRules
    process = "application"  # a class attribute, not a field: `kernel.Decider` reads it
