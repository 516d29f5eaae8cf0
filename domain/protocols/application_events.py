"""Events and commands of online and proxy applications (see `domain.protocols.application`).

Why a module of their own: the wire schema generator, the household protocol (which shares the
decision vocabulary: `Approve`, `Deny`, `ApplicationDenied`) and the states need the vocabulary
without the decider. Events sent between the receiving window (R) and the handling region (H)
set `WIRE = True` and one `to_region`; what a side records of its counterpart's events is a
`Receipt`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from domain.kernel import Command, Event, InvalidValue, Receipt, domain_event
from domain.protocols.casework_events import CaseFacts
from domain.protocols.details import Details, NoDetails
from domain.values import MaterialRef

Channel = Literal["online", "post", "window"]


@domain_event
class ApplicationApproved(Event):
    """准予: the handling region grants the application; `result` is the e-certificate(s)."""

    result: tuple[MaterialRef, ...] = ()


@domain_event
class ApplicationDenied(Event):
    """不予批准 after acceptance (the reason is mandatory, 书面说明)."""

    reason: str


@domain_event
class ResultDelivered(Event):
    channel: Channel
    tracking_no: str = ""


def result_delivered(command: DeliverResult, channels: tuple[str, ...],
                     now: dt.datetime) -> ResultDelivered:
    """The delivery `command` records, by one of `channels` (post needs its tracking number)."""
    if command.channel not in channels:
        raise InvalidValue(
            f"a result is delivered by {', '.join(channels)}, not {command.channel!r}",
            code="invalid_channel")
    if command.channel == "post" and not command.tracking_no.strip():
        raise InvalidValue("a result sent by post needs its tracking number",
                           code="tracking_no_required")
    return ResultDelivered(at=now, actor=command.actor, channel=command.channel,
                           tracking_no=command.tracking_no.strip())


@domain_event
class CaseCompleted(Event):
    """办结."""


@domain_event
class FormalReviewPassed(Event):
    """The receiving window's 形式审查 and 身份核验 passed."""

    identity_verified: bool
    originals_tracking_no: str = ""


@domain_event
class ApplicationForwarded(Event):
    """R → H: the application with its materials (content-addressed) for a decision."""

    WIRE = True
    facts: CaseFacts
    materials: tuple[MaterialRef, ...] = ()
    details: Details = field(default_factory=NoDetails)
    #: The paper originals the window posted (寄递) to the handler, by tracking number.
    originals_tracking_no: str = ""


@domain_event
class SupplementForwarded(Event):
    WIRE = True
    materials: tuple[MaterialRef, ...]


@domain_event
class WithdrawalForwarded(Event):
    """R → H: the applicant withdrew; carries the facts, as it may be the first H sees."""

    WIRE = True
    facts: CaseFacts
    reason: str = ""


@domain_event
class CompletionNotified(Event):
    """R → H: the result was delivered and the case is 办结."""

    WIRE = True
    channel: Channel


@domain_event
class HandlingAccepted(Event):
    WIRE = True


@domain_event
class HandlingSupplementRequested(Event):
    """H → R: everything missing at once, and until when (H's waiting limit, not recomputed)."""

    WIRE = True
    missing_kinds: tuple[str, ...]
    due_at: dt.datetime
    note: str = ""


@domain_event
class HandlingRejected(Event):
    WIRE = True
    reason: str


@domain_event
class HandlingApproved(Event):
    WIRE = True


@domain_event
class HandlingDenied(Event):
    WIRE = True
    reason: str


@domain_event
class HandlingResultSent(Event):
    """H → R: the result, online (e-certificate refs) or by post to the window (tracking no)."""

    WIRE = True
    channel: Literal["online", "post"]
    tracking_no: str = ""
    result: tuple[MaterialRef, ...] = ()
    #: Posted straight to the applicant (not to the window): the window completes on receipt.
    to_applicant: bool = False


@domain_event
class HandlingLapsed(Event):
    WIRE = True
    reason: str


@domain_event
class HandlingWithdrawalConfirmed(Event):
    WIRE = True


# ---- 多地联办 of a single decision: the accepting region (A) and its partner (P)


@domain_event
class AssistanceRequested(Event):
    """A → P: the accepting region asks the partner for its part of the case — the 调档函 for a
    personnel file, the 协查 of a vehicle file or of deposit records, a settlement's confirmation,
    the move of a disability record. Carries the facts: it is the first event P sees."""

    WIRE = True
    facts: CaseFacts


@domain_event
class AssistanceGiven(Event):
    """P → A: the partner's part, as documents and/or a physical dispatch (机要号, EMS no.)."""

    WIRE = True
    materials: tuple[MaterialRef, ...] = ()
    tracking_no: str = ""


@domain_event
class AssistanceDeclined(Event):
    """P → A: the partner cannot give its part (reason mandatory); A can then only deny."""

    WIRE = True
    reason: str


@domain_event
class CooperationClosed(Event):
    """A → P: the case ended here (completed, denied or withdrawn); the partner's side ends."""

    WIRE = True
    outcome: str


@domain_event
class AssistanceRequestReceived(Receipt):
    """P's first event: the request; the partner region is `region`."""

    region: str
    facts: CaseFacts


@domain_event
class AssistanceReceived(Receipt):
    """A recorded the partner's answer: `given`, or declined with `reason`."""

    given: bool
    materials: tuple[MaterialRef, ...] = ()
    tracking_no: str = ""
    reason: str = ""


@domain_event
class CooperationClosedReceived(Receipt):
    outcome: str


# ---- receipts on the handling side


@domain_event
class ForwardedApplicationReceived(Receipt):
    """H's first event: the forwarded application; the handling region is `region`."""

    region: str
    facts: CaseFacts
    materials: tuple[MaterialRef, ...] = ()
    details: Details = field(default_factory=NoDetails)
    originals_tracking_no: str = ""


@domain_event
class OriginalsReceived(Event):
    """H's staff took delivery of the posted paper originals (the tracking number matches)."""

    tracking_no: str


@domain_event
class AcceptanceDeemed(Event):
    """行政许可法 art. 32: the deciding side did not tell the applicant what to supplement within
    5 working days of receiving the materials, so the application counts as accepted (受理)
    from that receipt; `due_at` is when the 5 working days ended."""

    due_at: dt.datetime


@domain_event
class ForwardedSupplementReceived(Receipt):
    materials: tuple[MaterialRef, ...]


@domain_event
class WithdrawalRequestReceived(Receipt):
    """May be H's first event (a reordered link): then H's side starts withdrawn."""

    region: str
    facts: CaseFacts
    reason: str = ""


@domain_event
class CompletionNoticeReceived(Receipt):
    channel: Channel


# ---- receipts on the receiving side


@domain_event
class HandlingNoticeReceived(Receipt):
    """R recorded one of H's notices; `notice` is its type, the other fields its content.

    `stale`: an older notice than one already applied (a reordered link): recorded, not applied.
    """

    notice: str
    stale: bool = False
    reason: str = ""
    missing_kinds: tuple[str, ...] = ()
    due_at: dt.datetime | None = None
    channel: str = ""
    tracking_no: str = ""
    result: tuple[MaterialRef, ...] = ()
    #: The handler's note to the applicant with a 补正 request (一次性告知), shown at the window.
    note: str = ""


# =========================================================================== commands


@dataclass(frozen=True, kw_only=True)
class Approve(Command):
    result: tuple[MaterialRef, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Deny(Command):
    reason: str


@dataclass(frozen=True, kw_only=True)
class DeliverResult(Command):
    channel: Channel
    tracking_no: str = ""


@dataclass(frozen=True, kw_only=True)
class VerifyAndForward(Command):
    """The window's 形式审查 and 身份核验; forwards when the identity is verified."""

    identity_verified: bool
    note: str = ""
    #: The tracking number of the paper originals the window posts to the handler (寄递).
    originals_tracking_no: str = ""


@dataclass(frozen=True, kw_only=True)
class SendResult(Command):
    channel: Literal["online", "post"]
    tracking_no: str = ""
    #: Post the result straight to the applicant instead of to the window.
    to_applicant: bool = False


@dataclass(frozen=True, kw_only=True)
class ConfirmOriginalsReceived(Command):
    """The handler's staff confirm the posted originals arrived (by their tracking number)."""

    tracking_no: str


@dataclass(frozen=True, kw_only=True)
class GiveAssistance(Command):
    """The partner's staff send its part (documents, and the tracking number of what is posted)."""

    materials: tuple[MaterialRef, ...] = ()
    tracking_no: str = ""


@dataclass(frozen=True, kw_only=True)
class DeclineAssistance(Command):
    reason: str
