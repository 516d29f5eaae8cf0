"""The pension amount rules: contribution records, the pooled part by year, one rounding rule.

Why a module of its own: the six pension items (`domain.protocols.pension_items`) share the
record and the arithmetic and differ only in their parameters (`AmountRule`) — which components
a sheet carries, from when a pooled part counts, whether the individual account is fixed by a
rate. Sources are reference/domain.md §2a, §2a′, §2b-1, §2b-2 unless a rule names its own.

The record. A sheet lists lines (`ContributionYear`): a year, months, a monthly base, a kind.
- "paid": contributions at a positive monthly base; a year may take several lines, one per base
  (the July adjustment), at most 12 months in all.
- "deemed" (视同缴费年限, 人社部规〔2016〕5号; for 机关事业 the service before the reform,
  国发〔2015〕2号): months that count, with no base (0) and no money.
- "refunded" (制度衔接 only, 人社部发〔2014〕17号): months paid in both schemes; they count once at
  the destination, so not on this sheet's months, and the origin refunds their contributions to
  the person (清退), stated as a memo line.
Paid lines before the pooled part's start count their months but no pooled money (enterprise
years before 1998-01-01: the individual account holds their own contributions with interest).

The pooled part (统筹基金, where the item has one): rate × Σ over each year from the start of
that year's contribution wage (base × months, summed over the year's paid lines; under a year
counts pro rata by months, which base × months is).

The limits a yearly line states (`YearLine.average_wage_fen`, `account_fen`; 0: not stated, and
the line is checked on its figures alone): each paid base of the year within 60 %–300 % of the
local average monthly wage (`BASE_FLOOR`, `BASE_CAP`), and the year's booking to the individual
account exactly its rate of the wage (`ENTERPRISE_ACCOUNT_RATES`: 11 % to 2005, 8 % from 2006;
机关事业 8 %) — above is refused naming the year and the rate, below too (the 转出地 tops it
up first); the account then holds at least the bookings (the rest is interest).

Rounding, written down: **each year's figure is rounded half-up to the fen, then the years are
summed** — the pooled part, and an account fixed by a rate (the veteran's 8 %), alike, through
`year_figures`, the one function both sides and the sheet's per-year lines use. An exact half
fen cannot occur at 12 % or 8 % of an integer number of fen (multiples of 0.04 fen), so half-up
and half-even agree; what matters is that rounding is per year, not on the total.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.kernel import InvalidValue
from domain.protocols.pension_limits import (
    account_rate,
    check_line_limits,
    round_fen_times,
    state_limits,
)
from domain.protocols.transfer_sheets import (
    Component,
    ContributionYear,
    InfoSheet,
    YearLine,
    check_sheet_shape,
)
from domain.values import Money

KINDS = ("paid", "deemed", "refunded")


@dataclass(frozen=True)
class AmountRule:
    """What one pension item's sheet carries and how its figures follow from its record."""

    #: the components with money, in sheet order (each must be listed, 0 allowed)
    components: tuple[str, ...]
    #: 12 % where a pooled part moves; None where only the individual account moves
    pooled_rate: Decimal | None
    #: (year, month) from which paid months carry a pooled part
    pooled_from: tuple[int, int] = (1998, 1)
    #: paid lines before `pooled_from` are refused (机关事业: no contributions before the reform;
    #: that service is deemed) instead of counted without money (the enterprise's pre-1998 years)
    paid_before_start_refused: bool = False
    #: a rate that fixes the individual account (the veteran's 8 %); None: stated by the origin
    account_rate: Decimal | None = None
    #: memo lines the sheet may state, moving no money ("refund_to_person" requires refunded lines)
    memo: tuple[str, ...] = ()
    #: the destination credits the record's months (False: 城乡居民 → 职工, 17号: those years
    #: are neither added to nor converted into 职工 years; the sheet states 0 months)
    months_counted: bool = True
    #: the counted months must stay below this (职工 → 城乡居民, 17号: under 15 years only)
    months_below: int | None = None
    #: (from year, rate): the share of each year's wage booked to the individual account, which
    #: a yearly line's stated `account_fen` must equal (empty: the scheme books none by rate)
    account_rates: tuple[tuple[int, Decimal], ...] = ()


def check_line(line: ContributionYear, rule: AmountRule) -> None:
    """One line of the record; a clear error names what is impossible about it."""
    for name in ("year", "months", "monthly_base_fen"):
        value = getattr(line, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValue(f"contribution {name} must be an integer, got {value!r}",
                               code="invalid_contribution_year")
    if line.kind not in KINDS:
        raise InvalidValue(f"{line.year}: a line is one of {list(KINDS)}, got {line.kind!r}",
                           code="invalid_contribution_year")
    if not 1950 <= line.year <= 2100:
        raise InvalidValue(f"{line.year} is not a contribution year", code="invalid_contribution_year")
    if not 1 <= line.months <= 12:
        raise InvalidValue(f"{line.year}: months must be 1 to 12, got {line.months}",
                           code="invalid_contribution_year")
    if line.kind == "deemed":
        if line.monthly_base_fen != 0:
            raise InvalidValue(f"{line.year}: deemed months (视同缴费) carry no base",
                               code="invalid_contribution_year")
        return
    if line.monthly_base_fen <= 0:
        raise InvalidValue(f"{line.year}: the contribution base must be positive", code="invalid_contribution_year")
    if line.kind == "refunded" and "refund_to_person" not in rule.memo:
        raise InvalidValue(f"{line.year}: refunded months (清退) belong to a scheme switch only",
                           code="invalid_contribution_year")
    if line.kind == "paid" and rule.paid_before_start_refused:
        start_year, start_month = rule.pooled_from
        if line.year < start_year:
            raise InvalidValue(f"{line.year}: no contributions before {start_year}-"
                               f"{start_month:02d} in this scheme; earlier service is deemed",
                               code="invalid_contribution_year")


def yearly_wages(lines: Sequence[ContributionYear], rule: AmountRule) -> dict[int, int]:
    """Each year's contribution wage from the start of the pooled part: base × months, summed
    over the year's paid lines (`check_record` holds the start year to its months from the
    start)."""
    start_year = rule.pooled_from[0]  # the start year's lines hold only months from the start
    wages: dict[int, int] = {}
    for line in lines:
        if line.kind != "paid" or line.year < start_year:
            continue
        wages[line.year] = wages.get(line.year, 0) + line.monthly_base_fen * line.months
    return wages


def year_figures(lines: Sequence[ContributionYear], rule: AmountRule,
                 rate: Decimal) -> dict[int, int]:
    """rate × each year's wage, rounded per year (the one rounding rule), by year: in integers
    where that is exact (`round_fen_times`; issue 17: the `Decimal` product was ~9 µs a case)."""
    return {year: round_fen_times(wage, rate)
            for year, wage in sorted(yearly_wages(lines, rule).items())}


def check_record(lines: Sequence[ContributionYear], rule: AmountRule) -> tuple[ContributionYear, ...]:
    """The lines in year order, each checked, no line twice, at most 12 months a year."""
    ordered = tuple(sorted(lines, key=lambda y: (y.year, KINDS.index(y.kind)
                                                 if y.kind in KINDS else 9)))
    if not ordered:
        raise InvalidValue("a pension transfer needs at least one contribution year",
                           code="invalid_contribution_year")
    if len(set(ordered)) != len(ordered):
        raise InvalidValue("a contribution line is listed twice", code="invalid_contribution_year")
    months: dict[int, int] = {}
    for line in ordered:
        check_line(line, rule)
        months[line.year] = months.get(line.year, 0) + line.months
    for year, total in months.items():
        if total > 12:
            raise InvalidValue(f"{year}: more than 12 months over its lines", code="invalid_contribution_year")
    start_year, start_month = rule.pooled_from
    first = sum(line.months for line in ordered if line.year == start_year and line.kind == "paid")
    if rule.paid_before_start_refused and first > 13 - start_month:
        raise InvalidValue(f"{start_year}: at most {13 - start_month} paid months from "
                           f"{start_year}-{start_month:02d}", code="invalid_contribution_year")
    return ordered


def counted_months(lines: Sequence[ContributionYear], rule: AmountRule | None = None) -> int:
    """The months the destination credits: paid and deemed, not the refunded (counted there);
    none where the rule's months do not count at the destination."""
    if rule is not None and not rule.months_counted:
        return 0
    return sum(line.months for line in lines if line.kind != "refunded")


def pooled_fen(lines: Sequence[ContributionYear], rule: AmountRule) -> int:
    if rule.pooled_rate is None:
        return 0
    return sum(year_figures(lines, rule, rule.pooled_rate).values())


def account_fen(lines: Sequence[ContributionYear], rule: AmountRule) -> int | None:
    """The individual account a rate fixes (None when the origin states it)."""
    if rule.account_rate is None:
        return None
    return sum(year_figures(lines, rule, rule.account_rate).values())


def year_lines(lines: Sequence[ContributionYear], rule: AmountRule,
               pooled: Callable[[], Mapping[int, int]] | None = None) -> tuple[YearLine, ...]:
    """The sheet's per-year lines: each year's wage and its pooled part by the one rule
    (`pooled`: the pooled figures by year, when the caller has them: `validate`)."""
    if rule.pooled_rate is None:
        return ()
    figures = year_figures(lines, rule, rule.pooled_rate) if pooled is None else pooled()
    return tuple(YearLine(year, wage, figures[year])
                 for year, wage in sorted(yearly_wages(lines, rule).items()))


def booked_fen(lines: Sequence[ContributionYear], rule: AmountRule) -> int:
    """What the years from the pooled part's start booked to the individual account at their
    rate, rounded per year (the one rounding rule): the least the account can hold."""
    return sum(round_fen_times(wage, rate)
               for year, wage in yearly_wages(lines, rule).items()
               if (rate := account_rate(rule.account_rates, year)) is not None)


def check_year_lines(sheet: InfoSheet, lines: Sequence[ContributionYear],
                     rule: AmountRule, pooled: Callable[[], Mapping[int, int]] | None = None,
                     ) -> None:
    """The stated per-year lines, where the sheet gives them, are the computed ones (and within
    their stated limits); the first that differs is named (a sheet without them is checked on
    its total alone)."""
    if not sheet.pooled_by_year:
        return
    want = year_lines(lines, rule, pooled)
    if not want:
        raise InvalidValue("this item moves no pooled part: no per-year pooled lines",
                           code="invalid_sheet", field="sheet.pooled_by_year")
    for index, (got, line) in enumerate(zip(sheet.pooled_by_year, want, strict=False)):
        check_line_limits(index, got, lines, rule.account_rates)
        if (got.year, got.wage_fen, got.pooled_fen) != (line.year, line.wage_fen,
                                                         line.pooled_fen):
            raise InvalidValue(f"{line.year}: wage {Money(line.wage_fen)}, pooled part "
                               f"{Money(line.pooled_fen)} ({rule.pooled_rate} rounded half-up "
                               f"per year); the sheet says {got}", code="pooled_part_mismatch",
                               field=f"sheet.pooled_by_year[{index}]")
    if len(sheet.pooled_by_year) != len(want):
        raise InvalidValue(f"the sheet lists {len(sheet.pooled_by_year)} years of pooled part, "
                           f"its record has {len(want)}", code="pooled_part_mismatch",
                           field="sheet.pooled_by_year")


def validate(sheet: InfoSheet, rule: AmountRule, what: str) -> None:
    """A sheet is valid when its components, memo and months are what its record makes."""
    check_sheet_shape(sheet, rule.components)
    amounts = {c.name: c.amount_fen for c in sheet.components}
    if set(amounts) != set(rule.components):
        raise InvalidValue(f"a {what} info sheet lists exactly {list(rule.components)}",
                           code="invalid_sheet")
    memo = {c.name: c.amount_fen for c in sheet.memo}
    if len(memo) != len(sheet.memo) or not set(memo) <= set(rule.memo):
        raise InvalidValue(f"a {what} info sheet's memo lines are among {list(rule.memo)}",
                           code="invalid_sheet")
    for line in sheet.memo:
        Money(line.amount_fen)
    lines = check_record(sheet.years, rule)
    refunded = any(line.kind == "refunded" for line in lines)
    if refunded != (memo.get("refund_to_person", 0) > 0):
        raise InvalidValue("months paid twice are refunded to the person (清退): the sheet states "
                           "the refund exactly when it lists refunded months",
                           code="refund_missing" if refunded else "invalid_sheet")
    figures: list[Mapping[int, int]] = []

    def pooled() -> Mapping[int, int]:
        """The pooled part by year, reckoned once however often the checks ask (issue 17:
        twice before, at a tenth of a sheet's check), and only when one asks."""
        if not figures:
            assert rule.pooled_rate is not None
            figures.append(year_figures(lines, rule, rule.pooled_rate))
        return figures[0]

    check_year_lines(sheet, lines, rule, pooled)
    booked = sum(line.account_fen for line in sheet.pooled_by_year)
    if booked > amounts.get("individual_account", 0):
        raise InvalidValue(f"the individual account ({Money(amounts.get('individual_account', 0))})"
                           f" holds less than its years booked ({Money(booked)}): the balance is "
                           "the bookings plus interest", code="individual_account_mismatch",
                           field="sheet.components")
    if "pooled" in amounts:  # what `pooled_fen` gives
        want = 0 if rule.pooled_rate is None else sum(pooled().values())
        if amounts["pooled"] != want:
            raise InvalidValue(f"the pooled part must be {rule.pooled_rate} of the yearly "
                               f"bases, rounded per year: {want} fen",
                               code="pooled_part_mismatch")
    fixed = account_fen(lines, rule)
    if fixed is not None and amounts["individual_account"] != fixed:
        raise InvalidValue(f"the individual account must be {rule.account_rate} of the yearly "
                           f"bases, rounded per year: {fixed} fen",
                           code="individual_account_mismatch")
    counted = counted_months(lines, rule)
    if sheet.months != counted:
        raise InvalidValue(f"the sheet's months ({sheet.months}) differ from what its years "
                           f"count at the destination ({counted})", code="months_mismatch")
    if rule.months_below is not None and counted >= rule.months_below:
        raise InvalidValue(f"{what}: only with fewer than {rule.months_below} months "
                           f"({rule.months_below // 12} years); the sheet counts {counted}",
                           code="switch_condition_unmet", field="sheet.months")


def make_sheet(rule: AmountRule, account_fen_stated: int, years: Sequence[ContributionYear],
               extra: Mapping[str, int] | None = None,
               memo: tuple[Component, ...] = (),
               averages: Mapping[int, int] | None = None) -> InfoSheet:
    """The sheet an origin issues for a record under `rule`: figures computed by the rule, the
    account as stated (unless a rate fixes it), other components (`extra`) as stated; with
    `averages` (year → the local average monthly wage), the yearly lines state them and each
    year's booking."""
    lines = check_record(years, rule)
    yearly = year_lines(lines, rule)
    if averages is not None:
        yearly = state_limits(yearly, rule.account_rates, averages)
    fixed = account_fen(lines, rule)
    figures = {"individual_account": account_fen_stated if fixed is None else fixed,
               "pooled": pooled_fen(lines, rule), **(extra or {})}
    return InfoSheet(months=counted_months(lines, rule),
                     components=tuple(Component(name, figures.get(name, 0))
                                      for name in rule.components),
                     years=lines, memo=memo, pooled_by_year=yearly)
