"""Events and values of the transfer protocol (see `domain.protocols.transfer`); its commands
are in `transfer_commands`, the waiting limit's own events and readers in `transfer_waiting`.

Why a module of their own: the wire schema generator, the node's codecs and the scheme modules
need the vocabulary without the decider, and the decider reads better without 400 lines of
declarations in front of it. Amounts are integer fen, periods integer months; shared events set
`WIRE = True` and one `to_region` each. Events are stored and sent by type name (`TYPE`), never
by module: moving one between these modules changes no record.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, TypeAlias

import annotated_types

from domain.kernel import (
    Event,
    InvalidValue,
    Receipt,
    domain_event,
)
from domain.protocols.details import TransferDetails
from domain.reckoning import WaitingLimit
from domain.values import Fen, FenDelta, Money, Months

# --------------------------------------------------------------------------- value objects

#: The most corrected sheets one origin sends in one case (`CorrectInfoSheet` refuses more,
#: `too_many_corrections`): a sheet corrected a hundred times is a case for a person, and a
#: bound lets a peer's count be refused at decoding.
MAX_CORRECTIONS: Final = 100
#: A count of corrected sheets on the wire (`TransferConcluded.corrections`): 0 to
#: `MAX_CORRECTIONS`; a negative, boolean or larger count is refused when the message is
#: decoded (the inbox quarantines it), never acted upon.
Corrections = Annotated[int, annotated_types.Interval(ge=0, le=MAX_CORRECTIONS)]



@dataclass(frozen=True)
class Component:
    """One line of an info sheet: a named amount in fen (e.g. pension "pooled")."""

    name: str
    amount_fen: Fen


YearKind = Literal["paid", "deemed", "refunded"]


@dataclass(frozen=True)
class ContributionYear:
    """One line of a year's record: months and the monthly contribution base.

    `kind`: "paid" (contributions at `monthly_base_fen`), "deemed" (视同缴费: months that count
    without contributions, base 0) or "refunded" (制度衔接: months paid in both schemes, counted
    once at the destination; the origin refunds its contributions to the person, 清退)."""

    year: int
    months: int
    monthly_base_fen: Fen
    kind: YearKind = "paid"


@dataclass(frozen=True)
class YearLine:
    """One year's figures on a pension sheet: the contribution wage (Σ base × months of its paid
    lines) and its pooled part, 12 % of it rounded half-up to the fen once for the year; and,
    where the origin states them, the local average monthly wage its bases were held to (60 %
    to 300 % of it) and what the year booked to the individual account (11 % to 2005, 8 % from
    2006, of the wage); 0: not stated."""

    year: int
    wage_fen: Fen
    pooled_fen: Fen
    average_wage_fen: Fen = 0
    account_fen: Fen = 0


@dataclass(frozen=True)
class InfoSheet:
    """信息表: what an origin transfers — months, amounts by component, and (pension) the years."""

    months: int
    components: tuple[Component, ...]
    years: tuple[ContributionYear, ...] = ()
    #: lines the sheet states that move no money to the destination (a 职业年金 记账 part moved
    #: as a record, a 清退 refund paid to the person): never part of `amount_fen`
    memo: tuple[Component, ...] = ()
    #: pension: each year's wage and pooled part, so both sides compare year by year
    pooled_by_year: tuple[YearLine, ...] = ()

    @property
    def amount_fen(self) -> int:
        return sum(c.amount_fen for c in self.components)


def check_sheet_shape(sheet: InfoSheet, allowed: Sequence[str]) -> None:
    """The checks every scheme shares: whole months, non-negative fen, known component names."""
    if not isinstance(sheet, InfoSheet):
        raise InvalidValue("an info sheet is required")
    Months(sheet.months)
    names = [c.name for c in sheet.components]
    if len(set(names)) != len(names):
        raise InvalidValue(f"info sheet lists a component twice: {names}", code="invalid_sheet")
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise InvalidValue(f"info sheet components {unknown} are not among {list(allowed)}",
                           code="invalid_sheet")
    for c in sheet.components:
        Money(c.amount_fen)


# --------------------------------------------------------------------------- scheme specification

CounterpartKind = Literal["region", "military_agency"]
SheetRule: TypeAlias = Callable[[InfoSheet], None]
SheetSampler: TypeAlias = Callable[[random.Random], InfoSheet]


@dataclass(frozen=True)
class SheetVariant:
    """One direction of an item that runs both ways (b1-10, b1-11): its own sheet rule, its
    own sample, and what it asks of the application (`check_details`, raising `InvalidValue`).
    The application names it (`TransferDetails.direction`), the contact letter carries it."""

    name: str
    validate_sheet: SheetRule
    sample_sheet: SheetSampler
    check_details: Callable[[TransferDetails], None]


@dataclass(frozen=True)
class TransferSpec:
    """What distinguishes one scheme's transfer from another's (see the scheme modules)."""

    process: str
    scheme: str
    #: several origins in one application (two phases) are allowed
    multi_origin: bool
    #: the destination takes the relationship over once the sheets are in, before the money
    relationship_on_sheet: bool
    #: the destination may start paying a benefit once it holds the relationship (unemployment)
    has_benefit: bool
    #: the origin confirms receipt of the letter to the destination (公积金 反馈确认)
    confirms_receipt: bool
    #: approval needs the date insurance was stopped at the origin (医保 中止参保)
    requires_suspension: bool
    #: the remittance is a step of its own with its own deadline (失业 funds ≤ 1 month later)
    separate_remittance: bool
    validate_sheet: SheetRule
    sample_sheet: SheetSampler
    #: who the origin is: a region's agency (GB/T 2260), or a 军队经办机构 reached through the
    #: region whose node keys in its documents (退役军人, `domain.protocols.pension_items`)
    counterpart: CounterpartKind = "region"
    #: a mover of 50 (men) or 40 (women) to a province not the 户籍地 gets a 临时缴费账户 instead
    #: (企业职工 pension, `domain.protocols.pension_temporary`)
    temporary_accounts: bool = False
    #: the directions of an item that runs both ways; none: one rule (`validate_sheet`)
    variants: tuple[SheetVariant, ...] = ()

    def variant(self, direction: str) -> SheetVariant | None:
        return next((v for v in self.variants if v.name == direction), None)

    def sheet_rule(self, direction: str) -> SheetRule:
        """The sheet rule of a case going `direction` ("" : the item's one rule)."""
        variant = self.variant(direction)
        return variant.validate_sheet if variant is not None else self.validate_sheet

    def sheet_sampler(self, direction: str) -> SheetSampler:
        variant = self.variant(direction)
        return variant.sample_sheet if variant is not None else self.sample_sheet


# --------------------------------------------------------------------------- relationship events


@dataclass(frozen=True, kw_only=True)
class RelationshipEvent(Event):
    """An event that starts, holds, releases or ends the person's relationship in a region: it
    names the person, the scheme and the case, so `register_effects` needs nothing else."""

    case_id: str
    person_key: str
    scheme: str


def added_waiting(data: dict[str, Any]) -> dict[str, Any]:
    """Upcaster of a status event from before it carried its waiting limit (schema v1): the
    limit was a `TransferWaitingTimerSet` of its own then, so `waiting` stays None."""
    return data


def added_race_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Upcaster of a destination's return or conclusion from before it said what it kept or
    which corrections it applied (schema v1): the field stays None, and the origin judges as
    a v1 origin did (`transfer_origin._sent_back`; a conclusion is not compared)."""
    return data


# --------------------------------------------------------------------------- events: destination


@domain_event
class ContactLetterIssued(Event):
    """联系函: please transfer this person's relationship (one per origin).

    `waiting` (schema v2): the destination's own waiting limit of the status its first letter
    starts (`WaitingLimit`); the origin ignores it."""

    WIRE = True
    SCHEMA_VERSION = 2
    UPCASTERS = {1: added_waiting}  # noqa: RUF012 (the kernel's ClassVar)
    case_id: str
    case_number: str
    process: str
    person_key: str
    applicant_masked: str
    destination_region: str
    origins: tuple[str, ...]
    two_phase: bool
    letter_no: str
    #: 退役军人: the 军队经办机构 the origin region's node speaks for (its 部队代号), else ""
    agency: str = ""
    #: a two-way item's direction (`TransferDetails.direction`): the origin's sheet rule
    direction: str = ""
    waiting: WaitingLimit | None = None


@domain_event
class ProceedInstructed(Event):
    """Every origin holds: transfer out now (second phase)."""

    WIRE = True


@domain_event
class TransferCancelled(Event):
    """The transfer will not happen (withdrawn, or another origin refused): release if you can."""

    WIRE = True
    reason: str


@domain_event
class TransferReversed(Event):
    """Compensation: the destination sends back what it received; the origin reinstates."""

    WIRE = True
    case_id: str
    person_key: str
    scheme: str
    amount_fen: Fen
    bank_ref: str


@domain_event
class TransferConcluded(Event):
    """The destination's last word to each origin: the case's outcome; the origin may close.

    `corrections` (schema v2): how many of this origin's corrected sheets the destination had
    applied when it concluded. An origin that sent more completed on an earlier sheet than its
    latest (the correction crossed the money): it needs a person (`CorrectionNotApplied`).
    A count outside 0 to `MAX_CORRECTIONS` is refused at decoding; one above what the origin
    sent is refused by the origin (`conclusion_inconsistent`)."""

    WIRE = True
    SCHEMA_VERSION = 2
    UPCASTERS = {1: added_race_fields}  # noqa: RUF012 (the kernel's ClassVar)
    outcome: str
    corrections: Corrections | None = None


@domain_event
class ExcessReturned(Event):
    """Compensation: the destination's finance sends back what came beyond the origin's sheet
    (a double payment, a sheet corrected downwards); its received total drops by the amount.

    `kept_fen` (schema v2): what the destination keeps from this origin after the return (its
    sheet's amount, which may be older than the origin's: a correction still in flight). The
    origin books as sent back what it had sent beyond that, whatever its own sheet says."""

    WIRE = True
    SCHEMA_VERSION = 2
    UPCASTERS = {1: added_race_fields}  # noqa: RUF012 (the kernel's ClassVar)
    amount_fen: Fen
    bank_ref: str
    kept_fen: Fen | None = None


@domain_event
class LateFundsReturned(Event):
    """Money from an origin that reached this destination after it completed (the origin
    remitted the rest of a corrected sheet between an excess return and the conclusion):
    recorded (the notice's `notice_ref`) and sent back at once (`bank_ref`), never refused —
    the case credited what it concluded on (`kept_fen`), so the whole notice is beyond it. An
    annotation: it moves no status, before or after the end."""

    WIRE = True
    amount_fen: Fen
    notice_ref: str
    bank_ref: str
    kept_fen: Fen


@domain_event
class FundsReceived(Event):
    """The destination's finance side saw money arrive (bank notice or staff entry)."""

    from_region: str
    amount_fen: Fen
    bank_ref: str
    value_date: dt.date
    waiting: WaitingLimit | None = None


@domain_event
class Reconciled(Event):
    """核对: one origin's sheet against the funds received from it."""

    from_region: str
    matched: bool
    stated_fen: Fen
    received_fen: Fen
    difference_fen: FenDelta  # stated - received


@domain_event
class RelationshipTakenOver(RelationshipEvent):
    """接续 of the relationship before the money (unemployment benefit, medical cover)."""

    months: int


@domain_event
class BenefitStarted(Event):
    """The unemployment benefit is paid from now on, whether or not the money has arrived."""

    monthly_fen: Fen
    period_months: int


@domain_event
class TransferCompleted(RelationshipEvent):
    """办结: sheets and funds matched, credited to the person."""

    credited_fen: Fen
    credited_months: int
    opens_relationship: bool


@domain_event
class TransferCaseClosed(Event):
    """The case ended without a transfer: withdrawn, refused by an origin, or closed by the
    destination's staff with their reason (`TransferCloseOrdered`)."""

    outcome: Literal["withdrawn", "refused_by_origin", "closed"]
    reason: str = ""


@domain_event
class TransferCloseOrdered(Event):
    """The destination's staff close a transfer that needs attention, with the reason: the
    origins are asked to cancel, and the case ends "closed" once each has answered (or
    completes, if one had already transferred out: money sent is never closed away)."""

    reason: str
    waiting: WaitingLimit | None = None


@domain_event
class TransferReversalOrdered(Event):
    """An operator reverses a transfer an origin already made (an exceptional act, with a reason):
    what arrived is returned and the origins reinstate the relationship."""

    reason: str
    waiting: WaitingLimit | None = None


# --------------------------------------------------------------------------- events: origin


@domain_event
class ContactLetterConfirmed(Event):
    """反馈确认: the origin confirms it received the letter (housing fund)."""

    WIRE = True


@domain_event
class TransferOutHeld(RelationshipEvent):
    """The origin found the transfer eligible and holds the relationship for it.

    `waiting` (schema v2): the origin's own waiting limit of the status this starts; the
    destination ignores it."""

    WIRE = True
    SCHEMA_VERSION = 2
    UPCASTERS = {1: added_waiting}  # noqa: RUF012 (the kernel's ClassVar)
    suspended_on: dt.date | None = None
    waiting: WaitingLimit | None = None


@domain_event
class TransferOutRefused(Event):
    """不符合转出条件: the origin refuses, with its reason."""

    WIRE = True
    reason: str


@domain_event
class InfoSheetIssued(RelationshipEvent):
    """信息表 sent: the transfer out is done and cannot be withdrawn; the relationship ends.

    `waiting` (schema v2): the origin's own waiting limit of the status this starts; the
    destination ignores it."""

    WIRE = True
    SCHEMA_VERSION = 2
    UPCASTERS = {1: added_waiting}  # noqa: RUF012 (the kernel's ClassVar)
    sheet: InfoSheet
    waiting: WaitingLimit | None = None


@domain_event
class InfoSheetCorrected(Event):
    """Compensation: the origin replaces its info sheet (a wrong balance, a missed year). The
    first sheet stays on record; the destination reconciles against the corrected one."""

    WIRE = True
    sheet: InfoSheet
    reason: str


@domain_event
class FundsRemitted(Event):
    """基金划转 by the origin's finance (local: the destination reconciles its own bank notice)."""

    amount_fen: Fen
    bank_ref: str
    waiting: WaitingLimit | None = None


@domain_event
class HoldReleased(RelationshipEvent):
    """The hold on the relationship is released: it stays here."""



@domain_event
class CancellationAnswered(Event):
    """The origin's answer to a cancellation: released, or too late (already transferred)."""

    WIRE = True
    outcome: Literal["released", "already_transferred"]


@domain_event
class TransferOutReversed(RelationshipEvent):
    """The funds came back: the relationship is reinstated here (compensation)."""

    amount_fen: Fen
    waiting: WaitingLimit | None = None


@domain_event
class CorrectionNotApplied(Event):
    """The destination completed on an earlier sheet than this origin's latest: it had applied
    `applied` of the `corrections` this side sent (the last crossed the money or the
    conclusion and reached a completed case). The transfer-out is over, but the person's record
    at the destination is not what this side's sheet states (`sheet_fen`; `sent_fen` is what
    this side sent, net, which the destination holds): a 补转 or a return after completion is
    a person's decision, so the side needs attention until staff resolve it."""

    corrections: int
    applied: int
    sheet_fen: Fen
    sent_fen: Fen


@domain_event
class CorrectionForNewCase(Event):
    """Staff resolved an origin the destination completed without its last correction
    (`CorrectionNotApplied`): this transfer ends on the sheet the destination concluded on
    (`concluded`), and the corrected sheet's difference (`latest` less `concluded`: a 补转 when
    it asks for more, a return after completion when less) is left to a new case. Recorded
    before the resolution that ends the side, so the joint view and the invariants judge the
    ended side against the destination's sheet and name the difference."""

    concluded: InfoSheet
    latest: InfoSheet
    difference_fen: FenDelta
    difference_months: int


# --------------------------------------------------------------------------- events: receipts


@domain_event
class TransferMessageReceived(Receipt):
    """Receipt of a counterpart event whose only content is its type."""

    event_type: str
    waiting: WaitingLimit | None = None


@domain_event
class ContactLetterReceived(Receipt):
    case_id: str
    case_number: str
    process: str
    person_key: str
    applicant_masked: str
    region: str
    origins: tuple[str, ...]
    two_phase: bool
    letter_no: str
    agency: str = ""
    direction: str = ""
    waiting: WaitingLimit | None = None


@domain_event
class InfoSheetReceived(Receipt):
    sheet: InfoSheet


@domain_event
class OriginRefusalReceived(Receipt):
    reason: str
    waiting: WaitingLimit | None = None


@domain_event
class CancellationReceived(Receipt):
    reason: str
    waiting: WaitingLimit | None = None


@domain_event
class CancellationAnswerReceived(Receipt):
    outcome: Literal["released", "already_transferred"]


@domain_event
class TransferReversalReceived(Receipt):
    amount_fen: Fen
    bank_ref: str


@domain_event
class InfoSheetCorrectionReceived(Receipt):
    sheet: InfoSheet
    reason: str


@domain_event
class LateCorrectionReceived(Receipt):
    """A corrected sheet that reached this destination after it concluded (it crossed the money
    or the conclusion): kept on record, not applied, never refused — the origin learns from the
    conclusion that it was not applied (`CorrectionNotApplied`) and its staff decide the 补转.
    An annotation: it moves no status."""

    sheet: InfoSheet
    reason: str


@domain_event
class ExcessReturnReceived(Receipt):
    amount_fen: Fen
    bank_ref: str
    kept_fen: Fen | None = None


@domain_event
class LateFundsReturnReceived(Receipt):
    """The origin's receipt of `LateFundsReturned`: booked as sent back like an excess return
    (what it had sent beyond `kept_fen`); an annotation — the side may have ended already."""

    amount_fen: Fen
    bank_ref: str
    kept_fen: Fen


@domain_event
class ConclusionReceived(Receipt):
    outcome: str
    corrections: int | None = None
