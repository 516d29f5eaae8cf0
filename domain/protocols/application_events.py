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


@domain_event
class ApplicationForwarded(Event):
    """R → H: the application with its materials (content-addressed) for a decision."""

    WIRE = True
    facts: CaseFacts
    materials: tuple[MaterialRef, ...] = ()
    details: Details = field(default_factory=NoDetails)


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


@domain_event
class HandlingLapsed(Event):
    WIRE = True
    reason: str


@domain_event
class HandlingWithdrawalConfirmed(Event):
    WIRE = True


# ---- receipts on the handling side


@domain_event
class ForwardedApplicationReceived(Receipt):
    """H's first event: the forwarded application; the handling region is `region`."""

    region: str
    facts: CaseFacts
    materials: tuple[MaterialRef, ...] = ()
    details: Details = field(default_factory=NoDetails)


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


@dataclass(frozen=True, kw_only=True)
class SendResult(Command):
    channel: Literal["online", "post"]
    tracking_no: str = ""
