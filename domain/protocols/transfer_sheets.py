"""The info sheet's values and each scheme's transfer specification (see
`domain.protocols.transfer`): what an origin states (`InfoSheet` and its lines), the checks every
scheme shares, and what distinguishes one scheme's transfer from another's (`TransferSpec`).

Why a module of their own: the scheme modules (pension, medical, unemployment, housing fund),
the staff's sheet form and the simulator need the sheet without any event, and the events
(`transfer_events`) read better without these in front of them. Values are stored inside
events by their fields, never by module: moving them changes no record.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Final, Literal, TypeAlias

import annotated_types

from domain.amounts import MonthCount
from domain.kernel import InvalidValue
from domain.protocols.details import TransferDetails
from domain.values import Fen, Money, Months

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

    months: MonthCount
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

