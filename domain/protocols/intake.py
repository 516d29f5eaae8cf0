"""Intake (受理) of an application: the sub-machine every accepting side runs first.

State table (status → command → events → status):

| status                 | command            | events                                   | next                   |
|------------------------|--------------------|------------------------------------------|------------------------|
| —                      | Submit             | ApplicationSubmitted                     | submitted              |
| submitted              | AcceptIntake       | IntakeAccepted                           | accepted               |
| submitted              | RejectIntake       | IntakeRejected (reason mandatory)        | rejected (terminal)    |
| submitted              | RequestSupplement  | SupplementRequested (all kinds at once)  | supplement_requested   |
| supplement_requested   | ProvideSupplement  | SupplementProvided                       | submitted              |
| supplement_requested   | (waiting timer)    | CaseLapsed                               | lapsed (terminal)      |
| submitted/supplement…  | Withdraw           | ApplicationWithdrawn                     | withdrawn (terminal)   |

Rules (行政许可法 art. 32, reference/domain.md §0): a refusal states its reason; a supplement
request lists *everything* missing at once, and a second request for the same application is
refused; the supplement must cover every kind asked for. While the applicant is asked to supplement,
the statutory clock stops: the protocol pauses its step deadline and the region's waiting limit
runs instead (`DeadlineRules.waiting_limit(process, "supplement_requested", ...)`), after which the
case lapses (逾期未补正). The protocols call `decide_intake`/`evolve_intake` from their own
`decide`/`evolve`; what happens after acceptance is theirs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from domain.fold import replace
from domain.kernel import Command, Event, IllegalCommand, InvalidValue, domain_event
from domain.protocols.details import Details, NoDetails
from domain.reckoning import WaitingLimit
from domain.values import MaterialRef, check_person

Channel = Literal["window", "online", "backend"]
IntakeStatus = Literal[
    "submitted", "supplement_requested", "accepted", "rejected", "withdrawn", "lapsed"]


@domain_event
class ApplicationSubmitted(Event):
    case_number: str
    item_id: str
    process: str
    mode: str
    person_key: str  # keyed hash of the ID number (no plaintext)
    applicant_masked: str
    channel: Channel
    materials: tuple[MaterialRef, ...] = ()
    details: Details = field(default_factory=NoDetails)
    #: The materials the deciding region's guide requires (titles, from the operator's
    #: materials file, filled in by the node): what the window's 形式审查 checks against.
    required: tuple[str, ...] = ()
    #: the waiting limit of the status this starts, for a protocol that keeps one (a transfer's
    #: `Rules.waiting_limit`, `domain.reckoning.WaitingLimit`); None otherwise
    waiting: WaitingLimit | None = None


@domain_event
class IntakeAccepted(Event):
    waiting: WaitingLimit | None = None  # as on `ApplicationSubmitted`


@domain_event
class IntakeRejected(Event):
    reason: str


@domain_event
class SupplementRequested(Event):
    missing_kinds: tuple[str, ...]
    note: str = ""
    waiting: WaitingLimit | None = None  # as on `ApplicationSubmitted`


@domain_event
class SupplementProvided(Event):
    materials: tuple[MaterialRef, ...]
    waiting: WaitingLimit | None = None  # as on `ApplicationSubmitted`


@domain_event
class ApplicationWithdrawn(Event):
    reason: str = ""
    waiting: WaitingLimit | None = None  # as on `ApplicationSubmitted`


@domain_event
class CaseLapsed(Event):
    """A waiting state's time ran out (补正 not supplied, permit expired...)."""

    waiting_state: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Submit(Command):
    """An application. A back-end names the applicant by the ID number (`applicant_id`); the
    node derives `person_key` (a keyed hash with the region's secret) and `applicant_masked`
    from it before deciding, so no plaintext reaches a decider, a store or a counterpart."""

    case_number: str
    item_id: str
    process: str
    mode: str
    person_key: str
    applicant_masked: str
    channel: Channel
    materials: tuple[MaterialRef, ...] = ()
    details: Details = field(default_factory=NoDetails)
    #: Filled in by the node from the operator's materials file (a back-end sends none).
    required: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AcceptIntake(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class RejectIntake(Command):
    reason: str


@dataclass(frozen=True, kw_only=True)
class RequestSupplement(Command):
    missing_kinds: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class ProvideSupplement(Command):
    materials: tuple[MaterialRef, ...]


@dataclass(frozen=True, kw_only=True)
class Withdraw(Command):
    reason: str = ""


@dataclass(frozen=True)
class Intake:
    status: IntakeStatus
    submitted: ApplicationSubmitted
    materials: tuple[MaterialRef, ...]
    missing_kinds: tuple[str, ...] = ()
    supplement_asked: bool = False
    waiting_since: dt.datetime | None = None


INTAKE_COMMANDS = (Submit, AcceptIntake, RejectIntake, RequestSupplement, ProvideSupplement)


def decide_intake(intake: Intake | None, command: Command, now: dt.datetime) -> list[Event]:
    """Events for an intake command; `IllegalCommand` when the state does not allow it."""
    actor = command.actor
    if isinstance(command, Submit):
        if intake is not None:
            raise IllegalCommand("the application was already submitted", code="already_submitted")
        check_person(command.person_key, command.applicant_masked)
        return [ApplicationSubmitted(
            at=now, actor=actor, case_number=command.case_number, item_id=command.item_id,
            process=command.process, mode=command.mode, person_key=command.person_key,
            applicant_masked=command.applicant_masked, channel=command.channel,
            materials=command.materials, details=command.details, required=command.required)]
    if intake is None:
        raise IllegalCommand("no application has been submitted", code="not_submitted")
    if isinstance(command, ProvideSupplement):
        if intake.status != "supplement_requested":
            raise IllegalCommand(f"no supplement was requested (status {intake.status})")
        still = sorted(set(intake.missing_kinds) - {m.kind for m in command.materials})
        if still:
            raise InvalidValue(f"the supplement lacks: {', '.join(still)}", code="supplement_incomplete")
        return [SupplementProvided(at=now, actor=actor, materials=command.materials)]
    if intake.status != "submitted":
        raise IllegalCommand(f"intake is already {intake.status}", code="intake_decided")
    if isinstance(command, AcceptIntake):
        return [IntakeAccepted(at=now, actor=actor)]
    if isinstance(command, RejectIntake):
        if not command.reason.strip():
            raise InvalidValue("a rejection must state its reason (书面说明)", code="reason_required")
        return [IntakeRejected(at=now, actor=actor, reason=command.reason.strip())]
    if isinstance(command, RequestSupplement):
        kinds = tuple(k.strip() for k in command.missing_kinds)
        if not kinds or any(not k for k in kinds) or len(set(kinds)) != len(kinds):
            raise InvalidValue("a supplement request lists every missing kind once, none empty")
        if intake.supplement_asked:
            raise IllegalCommand("missing materials must all be asked for at once (一次性告知)",
                                 code="supplement_already_requested")
        return [SupplementRequested(at=now, actor=actor, missing_kinds=kinds, note=command.note)]
    raise IllegalCommand(f"not an intake command: {type(command).__name__}")


def evolve_intake(intake: Intake | None, event: Event) -> Intake | None:
    """Fold an intake event; other events leave the intake unchanged."""
    if isinstance(event, ApplicationSubmitted):
        return Intake("submitted", event, event.materials)
    if intake is None:
        return None
    if isinstance(event, IntakeAccepted):
        return replace(intake, status="accepted")
    if isinstance(event, IntakeRejected):
        return replace(intake, status="rejected")
    if isinstance(event, SupplementRequested):
        return replace(intake, status="supplement_requested", missing_kinds=event.missing_kinds,
                       supplement_asked=True, waiting_since=event.at)
    if isinstance(event, SupplementProvided):
        return replace(intake, status="submitted", missing_kinds=(), waiting_since=None,
                       materials=intake.materials + event.materials)
    if isinstance(event, ApplicationWithdrawn):
        return replace(intake, status="withdrawn")
    if isinstance(event, CaseLapsed):
        return replace(intake, status="lapsed")
    return intake
