"""企业职工基本养老保险关系转移接续: enterprise employees' basic pension, one or several origins.

Legal basis (reference/domain.md §2a): 国办发〔2009〕66号, 人社部发〔2009〕187号. The destination
(新参保地) accepts and sends the 联系函 within 15 WD of acceptance (`contact_letter`); each origin
(原参保地) completes the transfer out — info sheet, 基金划转, termination — within 15 WD of
receiving it (`transfer_out`); the destination finishes within 15 WD of having both the sheet and
the funds (`completion`). Several origins in one application are handled in two phases: hold,
then proceed (reference §1 invariant 4), see `domain.protocols.transfer`.

State tables: `domain.protocols.transfer` (the generic machine; this scheme uses all of it except
the early relationship take-over and the benefit). Allowed terminal pairs (destination, origin):
(completed, transferred_out | released) (released: a withdrawal overtaken by another origin's
transfer-out), (refused_by_origin, refused | released),
(withdrawn, released | refused | reinstated), (rejected | lapsed | withdrawn, absent).

The amount rule (the reconciliation rule, reference §2a "Amount to transfer"):
  转移基金 = 个人账户储存额 + 统筹基金, where
  统筹基金 = 12% × Σ over each year since 1998-01-01 of that year's actual contribution wage base;
  under a year of contributions counts pro rata by months.
Each year is recorded as (year, months paid, monthly contribution base in fen); that year's
contribution wage is `monthly_base × months` (which is the pro-rata rule for a partial year). A
year with several bases (the usual July adjustment) has one line per base, at most 12 months in
all; its wage is the sum of its lines.
Rounding, written down: **each year's pooled part is rounded half-up to the fen, then the years
are summed** (so the sheet shows per-year figures that add up). An exact half fen cannot in fact
occur — 12% of an integer number of fen is a multiple of 0.04 fen — so half-up and half-even agree;
what matters is that rounding is per year, not on the total (worked examples in the tests).
The individual account balance (个人账户储存额, with interest) is taken from the origin's books as
stated; it is a non-negative number of fen.

In scope: the amount rule above, several origins, contribution months as the sheet's months.
Not yet: contributions before 1998 (the pooled part starts in 1998; earlier years are refused
here), the 11%/8% cap and top-up of the individual account, 临时缴费账户 (temporary accounts,
whole 本息 moved, actual employer rate if above 12%), 个人身份参保 special cases, 待遇领取地
routing (66号 第六条), 视同缴费年限, and periodic net settlement (川渝).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from domain.kernel import InvalidValue
from domain.protocols import transfer
from domain.protocols.transfer_events import (
    Component,
    ContributionYear,
    InfoSheet,
    TransferSpec,
    check_sheet_shape,
)

PROCESS = "pension_transfer"
SCHEME = "pension"
ALLOWED_TERMINAL_PAIRS = transfer.TERMINAL_PAIRS
POOLED_RATE = Decimal("0.12")
FIRST_POOLED_YEAR = 1998
COMPONENTS = ("individual_account", "pooled")


def check_year(year: ContributionYear) -> None:
    """A contribution year as the sheet records it; clear errors for impossible records."""
    for name in ("year", "months", "monthly_base_fen"):
        value = getattr(year, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValue(f"contribution {name} must be an integer, got {value!r}",
                               code="invalid_contribution_year")
    if year.year < FIRST_POOLED_YEAR:
        raise InvalidValue(f"contributions of {year.year} predate the pooled part (1998-01-01); "
                           "pre-1998 records are not in scope yet",
                           code="invalid_contribution_year")
    if not 1 <= year.months <= 12:
        raise InvalidValue(f"{year.year}: months paid must be 1 to 12, got {year.months}",
                           code="invalid_contribution_year")
    if year.monthly_base_fen <= 0:
        raise InvalidValue(f"{year.year}: the contribution base must be positive",
                           code="invalid_contribution_year")


def pooled_part_fen(year: ContributionYear) -> int:
    """12% of one year's contribution wage (monthly base × months), rounded half-up to the fen."""
    check_year(year)
    wage = Decimal(year.monthly_base_fen * year.months)
    return int((wage * POOLED_RATE).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def pooled_part_of_year(lines: Sequence[ContributionYear]) -> int:
    """12% of one year's contribution wage — the sum of base × months over the year's lines
    (several bases in a year: the July adjustment) — rounded half-up to the fen, once."""
    for line in lines:
        check_year(line)
    if len(lines) == 1:
        return pooled_part_fen(lines[0])
    wage = sum(line.monthly_base_fen * line.months for line in lines)
    return pooled_part_fen(ContributionYear(lines[0].year, 1, wage))  # the one rounding rule


def transfer_amount(individual_account_fen: int, years: Sequence[ContributionYear]) -> InfoSheet:
    """The info sheet one origin issues: its individual account plus the pooled part, by year.

    A year may take several lines, one per contribution base (at most 12 months in all); the
    pooled part is rounded per year, then the years are summed.
    """
    if isinstance(individual_account_fen, bool) or not isinstance(individual_account_fen, int) or (
            individual_account_fen < 0):
        raise InvalidValue("the individual account balance is a non-negative number of fen",
                           code="invalid_amount")
    ordered = tuple(sorted(years, key=lambda y: y.year))
    if not ordered:
        raise InvalidValue("a pension transfer needs at least one contribution year",
                           code="invalid_contribution_year")
    if len(set(ordered)) != len(ordered):
        raise InvalidValue("a contribution line is listed twice", code="invalid_contribution_year")
    by_year: dict[int, list[ContributionYear]] = {}
    for line in ordered:
        check_year(line)
        by_year.setdefault(line.year, []).append(line)
    for year, lines in by_year.items():
        if sum(line.months for line in lines) > 12:
            raise InvalidValue(f"{year}: more than 12 months over its contribution bases",
                               code="invalid_contribution_year")
    pooled = sum(pooled_part_of_year(lines) for lines in by_year.values())
    return InfoSheet(months=sum(y.months for y in ordered),
                     components=(Component("individual_account", individual_account_fen),
                                 Component("pooled", pooled)),
                     years=ordered)


def validate_sheet(sheet: InfoSheet) -> None:
    """A sheet is valid when it is exactly what `transfer_amount` makes of its own years."""
    check_sheet_shape(sheet, COMPONENTS)
    amounts = {c.name: c.amount_fen for c in sheet.components}
    if set(amounts) != set(COMPONENTS):
        raise InvalidValue(f"a pension info sheet lists exactly {list(COMPONENTS)}",
                           code="invalid_sheet")
    expected = transfer_amount(amounts["individual_account"], sheet.years)
    in_order = tuple(sorted(sheet.components, key=lambda c: COMPONENTS.index(c.name)))
    if expected.components != in_order:
        raise InvalidValue(f"the pooled part must be 12% of the yearly bases: "
                           f"{ {c.name: c.amount_fen for c in expected.components} }",
                           code="pooled_part_mismatch")
    if expected.months != sheet.months:
        raise InvalidValue(f"the sheet's months ({sheet.months}) differ from its years "
                           f"({expected.months})", code="months_mismatch")


def sample_sheet(rng: random.Random) -> InfoSheet:
    """A plausible sheet: a few recent years, bases 3,000–20,000 yuan, account ≈ 8% of wages."""
    first = rng.randrange(2012, 2024)
    years = []
    for year in range(first, min(first + rng.randrange(1, 6), 2026)):
        months = 12 if rng.random() < 0.7 else rng.randrange(1, 12)
        years.append(ContributionYear(year, months, rng.randrange(300_000, 2_000_000)))
    account = sum(y.monthly_base_fen * y.months for y in years) * 8 // 100
    return transfer_amount(account + rng.randrange(0, 50_000), years)


SPEC = TransferSpec(
    process=PROCESS, scheme=SCHEME, multi_origin=True, relationship_on_sheet=False,
    has_benefit=False, confirms_receipt=False, requires_suspension=False,
    separate_remittance=False, validate_sheet=validate_sheet, sample_sheet=sample_sheet)

decider, options, register_effects = transfer.scheme_interface(SPEC)
