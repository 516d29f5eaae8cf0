"""The limits a pension sheet's yearly lines state (issue 15): the contribution base between
60 % and 300 % of the local average wage, and the individual account's booking at its rate.

Why a module of its own: `pension_amounts` computes a record's figures; these are limits the
origin's own figures must respect, checked on the lines that state them (`YearLine.
average_wage_fen`, `account_fen`; 0: not stated). Also the one rounding rule (`round_fen`),
which both use. A refusal names the year and the limit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeAlias

from domain.kernel import InvalidValue
from domain.protocols.transfer_sheets import ContributionYear, YearLine
from domain.values import Money

#: (from year, rate) pairs: the share of each year's wage booked to the individual account
Rates: TypeAlias = tuple[tuple[int, Decimal], ...]

#: The individual account's share of the contribution wage, by the year it starts: 11 % from
#: 1998 (国发〔1997〕26号, the unified account), 8 % from 2006-01-01 (国发〔2005〕38号: "个人账户
#: 的规模统一由本人缴费工资的11%调整为8%") [V2: reference §2a, "11% … for 1998–2005 and 8% from
#: 2006"]. The 2017 规程: a booking above it is not transferred, one below it is topped up by the
#: 转出地 — so a stated booking must be exactly the rate's figure.
ENTERPRISE_ACCOUNT_RATES = ((1998, Decimal("0.11")), (2006, Decimal("0.08")))
#: The contribution base is held between 60 % and 300 % of the local average monthly wage
#: (劳办发〔1997〕116号 个人账户管理暂行办法: below 60 % contributes at 60 %, above 300 % the rest
#: is not counted) [I: not in the reference; the national rule as commonly restated].
BASE_FLOOR, BASE_CAP = Decimal("0.6"), 3


def round_fen(amount: Decimal) -> int:
    """The one rounding rule: half-up to the fen (ties away from zero).

    A finite `Decimal` below 10**24 is rounded from its exact ratio (`_half_up`, as
    `round_fen_times` rounds; issue 17: `quantize` and `int` were four fifths of a rounding's
    cost); anything else by `quantize`, which refuses what it refused
    (tests/property/test_round_fen.py)."""
    if type(amount) is Decimal and amount.is_finite() and amount.adjusted() < 24:
        return _half_up(*amount.as_integer_ratio())
    return int(amount.quantize(_FEN, rounding=ROUND_HALF_UP))


def _half_up(n: int, q: int) -> int:
    """n/q (q > 0) rounded half-up, ties away from zero: floor((2·|n| + q) / 2q), the sign put
    back. The one integer core of `round_fen` and `round_fen_times`."""
    if n >= 0:
        return (2 * n + q) // (2 * q)
    return -((q - 2 * n) // (2 * q))


_FEN = Decimal(1)


def round_fen_times(fen: int, rate: Decimal) -> int:
    """`round_fen(Decimal(fen) * rate)`, the one rounding rule, in integers where that is exact.

    Why: a sheet's check reckons each year's pooled part and booking this way, ~20 a case, and
    the `Decimal` product and `quantize` cost ~10 times the integer sum (issue 17). With `rate`
    = p/q (a finite `Decimal` of at most 12 digits, below 10**13) and |fen| < 10**15, the product
    has at most 27 digits and is below 10**28, so `Decimal`'s (28 digits) is exact too and
    `quantize` does not refuse it, and it is rounded from fen·p/q
    (`_half_up`); anything else takes `Decimal`'s way (tests/property/test_round_fen.py holds
    the two equal)."""
    ratio = _RATIOS.get(rate) if type(rate) is Decimal else None
    if ratio is None or type(fen) is not int or not -_FEN_BOUND < fen < _FEN_BOUND:
        if type(rate) is Decimal and rate not in _RATIOS:
            if len(_RATIOS) >= 64:  # the rules have a handful: anything else, afresh
                _RATIOS.clear()
            _RATIOS[rate] = _ratio(rate)
        return round_fen(Decimal(fen) * rate)
    p, q = ratio
    return _half_up(fen * p, q)


_FEN_BOUND = 10**15
#: Each rate seen: its (numerator, denominator), or None when the integers would not be exact.
_RATIOS: dict[Decimal, tuple[int, int] | None] = {}


def _ratio(rate: Decimal) -> tuple[int, int] | None:
    if not rate.is_finite() or len(rate.as_tuple().digits) > 12 or rate.adjusted() > 12:
        return None  # (a rate of 1E+30 has one digit, but its product is past 10**28)
    return rate.as_integer_ratio()


def account_rate(rates: Rates, year: int) -> Decimal | None:
    """The share of `year`'s wage the individual account takes under `rates` (None: none)."""
    rate = None
    for start, share in rates:
        if year >= start:
            rate = share
    return rate


def check_line_limits(index: int, got: YearLine, lines: Sequence[ContributionYear],
                      rates: Rates) -> None:
    """A yearly line's stated limits: each paid base of the year within 60 %–300 % of the
    stated average wage, and the stated booking exactly the year's rate of its wage."""
    field = f"sheet.pooled_by_year[{index}]"
    if got.average_wage_fen:
        average = Money(got.average_wage_fen)
        floor = round_fen_times(got.average_wage_fen, BASE_FLOOR)
        cap = got.average_wage_fen * BASE_CAP
        for line in lines:
            if line.year != got.year or line.kind != "paid":
                continue
            if not floor <= line.monthly_base_fen <= cap:
                side, limit = (("below 60 %", floor) if line.monthly_base_fen < floor
                               else ("above 300 %", cap))
                raise InvalidValue(
                    f"{got.year}: the monthly base {Money(line.monthly_base_fen)} is {side} of "
                    f"the local average wage {average} (limit {Money(limit)}; 劳办发〔1997〕"
                    "116号)", code="base_out_of_range", field=field)
    if got.account_fen:
        rate = account_rate(rates, got.year)
        if rate is None:
            raise InvalidValue(f"{got.year}: this scheme books no individual account by rate",
                               code="invalid_sheet", field=field)
        want = round_fen_times(got.wage_fen, rate)
        if got.account_fen != want:
            over = got.account_fen > want
            raise InvalidValue(
                f"{got.year}: the individual account takes {rate * 100:.0f} % of the wage "
                f"{Money(got.wage_fen)} = {Money(want)} (国发〔2005〕38号); the sheet books "
                f"{Money(got.account_fen)}" + ("" if over else
                                               ": the 转出地 tops it up before the transfer"),
                code="account_rate_exceeded" if over else "account_top_up_missing", field=field)


def state_limits(lines: tuple[YearLine, ...], rates: Rates,
                 averages: Mapping[int, int]) -> tuple[YearLine, ...]:
    """The yearly lines stating the average wage of each year given and each year's booking."""
    out = []
    for line in lines:
        rate = account_rate(rates, line.year)
        out.append(dataclasses.replace(
            line, average_wage_fen=averages.get(line.year, 0),
            account_fen=0 if rate is None else round_fen_times(line.wage_fen, rate)))
    return tuple(out)
