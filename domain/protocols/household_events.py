"""Events and commands of household moves (户口迁移, see `domain.protocols.household`).

Why a module of their own: the wire schema generator, the register effects and both roles'
rules (`household_destination`, `household_origin`) need the vocabulary without the decider.
Events between the destination (D, 迁入地) and the origin (O, 迁出地) set `WIRE = True` and one
`to_region`; what a side records of the other's events is a `Receipt`. The permit's expiry
travels as an absolute instant, never as a number of days to recompute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domain.kernel import Command, Event, Receipt, domain_event

PROCESS = "household_move"
MODE = "joint"
SCHEME = "hukou"

APPROVAL_STEP = "approval"
MOVE_OUT_STEP = "move_out"
PERMIT_STEP = "permit_validity"
AWAITING_ORIGIN = "awaiting_origin"
AWAITING_DESTINATION = "awaiting_destination"
#: The destination's wait between the 迁移证's arrival and the staff's 落户 (a waiting limit).
SETTLE_STEP = "settlement"

#: Each move type's condition (the evidence its approval needs) and who may move with the
#: applicant (随迁). [I]: the national 跨省通办 notices name the five types, not their conditions;
#: these are the documents local 公安 guides commonly require (工作调动: the transfer notice and
#: the receiving unit's letter; 录取: the admission notice; 毕业: the diploma with the 报到证 or
#: employer's letter; 夫妻投靠: the marriage certificate; 父母投靠子女: proof of kinship), and a
#: spouse and minor children may follow a job transfer, minor children a spouse, the other
#: parent a parent joining a child; students move alone.
MOVE_TYPES: dict[str, tuple[str, frozenset[str]]] = {
    "b2-3": ("工作调动证明", frozenset({"配偶", "子女"})),
    "b2-4": ("录取通知书", frozenset()),
    "b2-5": ("毕业证书", frozenset()),
    "b2-6": ("结婚证", frozenset({"子女"})),
    "b2-7": ("亲属关系证明", frozenset({"配偶"})),
}

#: Why an origin refuses (`MoveOutRefused.code`); `permit_expired` makes the destination lapse.
REFUSAL_CODES: tuple[str, ...] = (
    "permit_expired", "not_on_register", "legal_bar", "data_mismatch", "other")


# =========================================================================== events


@dataclass(frozen=True, kw_only=True)
class PersonEvent(Event):
    """An event that implies a register change carries what the register needs; `companions`
    are the person keys of the family members moving with the applicant (随迁): the same change
    applies to each."""

    person_key: str
    scheme: str
    case_id: str
    companions: tuple[str, ...] = ()


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
    companions: tuple[str, ...] = ()


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
class HouseholdSettled(PersonEvent):
    """落户: after the staff's check of the 迁移证, the destination registers the person and the
    members moving with them (register opened) at `address`."""

    certificate_no: str
    address: str = ""


@domain_event
class MoveOutWithdrawalRefused(Event):
    """O → D: the withdrawal came after 迁出登记 + 注销: the move stands (the 迁移证 already went
    out); moving back is a new application."""

    WIRE = True
    certificate_no: str
    reason: str


@domain_event
class MoveOutWithdrawalRefusalReceived(Receipt):
    certificate_no: str
    reason: str


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
    companions: tuple[str, ...] = ()


@domain_event
class MoveOutWithdrawalReceived(Receipt):
    """May be the origin's first event (a reordered link): the side then starts cancelled."""

    region: str
    case_number: str
    person_key: str
    applicant_masked: str
    reason: str = ""


@domain_event
class MoveOutApproved(PersonEvent):
    """The checks passed: the registration is held for the move (迁移中)."""


@domain_event
class MoveOutHoldReleased(PersonEvent):
    """The hold ends without a move (refusal or withdrawal): the registration stays here."""


@domain_event
class MovedOut(PersonEvent):
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
class RegistrationReinstated(PersonEvent):
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
class Settle(Command):
    """落户: the destination's staff checked the 迁移证 against the person and register them at
    `address` (never automatic on the 迁移证's arrival)."""

    address: str


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
