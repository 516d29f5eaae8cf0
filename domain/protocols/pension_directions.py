"""The pension items that run both ways, one rule per direction (issue 15, item 1).

Why a module of its own: b1-10 and b1-11 are each one catalogue item (one process, one set of
time limits) for two opposite moves, and what the sheet carries and what the destination counts
depend on the way the person moves. The application names the direction
(`TransferDetails.direction`), the contact letter carries it to the origin, and both sides hold
the sheet to that direction's `AmountRule` (`TransferSpec.variants`). An application without a
direction runs the item's one rule of before (cases stored before directions existed).

b1-10 机关事业单位 ↔ 企业职工 (人社部规〔2017〕1号, 人社厅发〔2017〕7号; reference/domain.md §2a′):
- `institution_to_enterprise` (机关事业 → 企业: 辞职、辞退… to the 企业职工 agency of the 户籍地):
  the individual account + 12 % of each year's contribution wage since the reform (国发〔2015〕2号,
  2014-10-01) [V2]; service before the reform is deemed (视同缴费: months, no money), so a paid
  line before 2014-10 is refused, naming its year. The 职业年金 is not on this sheet: the
  reference gives its rules for moves between 机关事业 units only (b1-9), so its fate on leaving
  for an enterprise is not modelled here.
- `enterprise_to_institution` (企业 → 机关事业): the enterprise's record moves whole, as b1-7
  (国办发〔2009〕66号, 人社部发〔2009〕187号): the account + 12 % of each year's wage since
  1998-01-01; pre-1998 paid years and deemed years count months only. [I]: the reference states
  the 12 % amount for the 机关事业 → 企业 direction; this direction's is the enterprise's own.

b1-11 城乡养老保险制度衔接 (人社部发〔2014〕17号, reference §2b-2 [V] for the steps and the 清退;
the conditions below are the 暂行办法's text as commonly reproduced, not quoted in the
reference: [I]):
- `resident_to_employee` (城乡居民 → 职工): for a person with 15 years of 职工 contributions
  (延长缴费 to 15 included) at the 待遇领取地 — the destination, whose staff read them from its
  own record (`details.employee_months` ≥ 180). The whole 城乡居民 account merges into the
  职工 account; its years are neither added to nor converted into 职工 years, so the sheet
  counts 0 months. Months paid in both schemes count as 职工 months and the 城乡居民 origin
  refunds their 个人缴费 and 集体补助 to the person (清退: refunded lines and a memo line).
- `employee_to_resident` (职工 → 城乡居民): only with fewer than 15 years of 职工 contributions
  (the sheet counts under 180 months); the whole 职工 individual account merges (no pooled
  part moves) and every 职工 month counts as a 城乡居民 month. The 职工 origin refunds nothing:
  months paid twice are the 城乡居民 destination's own record, refunded there, not on this sheet.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from domain.kernel import InvalidValue
from domain.protocols.details import TransferDetails
from domain.protocols.pension_amounts import AmountRule, booked_fen, make_sheet, validate
from domain.protocols.pension_limits import ENTERPRISE_ACCOUNT_RATES
from domain.protocols.transfer_sheets import (
    Component,
    ContributionYear,
    InfoSheet,
    SheetVariant,
)

TWELVE = Decimal("0.12")
#: 17号: the 15 years of 职工 contributions that decide which way a switch may go
FIFTEEN_YEARS = 180


@dataclass(frozen=True)
class Direction:
    """One way of a two-way item: its name, its words and its sheet rule."""

    name: str
    label: str
    rule: AmountRule
    sample: Callable[[AmountRule, random.Random], InfoSheet]
    #: the 职工 months the destination must record (居民 → 职工); 0: none asked
    employee_months_from: int = 0

    def check_details(self, details: TransferDetails) -> None:
        if self.employee_months_from:
            if details.employee_months < self.employee_months_from:
                raise InvalidValue(
                    f"{self.label}: only with {self.employee_months_from // 12} years of 职工 "
                    f"contributions at the 待遇领取地 (人社部发〔2014〕17号); "
                    f"details.employee_months is {details.employee_months}",
                    code="switch_condition_unmet", field="details.employee_months")
        elif details.employee_months:
            raise InvalidValue(f"{self.label} asks no 职工 months of the destination: "
                               "details.employee_months is for 城乡居民 → 职工",
                               code="invalid_details", field="details.employee_months")

    def variant(self) -> SheetVariant:
        rule, label = self.rule, self.label

        def check(sheet: InfoSheet) -> None:
            validate(sheet, rule, label)

        def sample(rng: random.Random) -> InfoSheet:
            return self.sample(rule, rng)

        return SheetVariant(self.name, check, sample, self.check_details)


# --------------------------------------------------------------------------- sample records


def _years(rng: random.Random, first: int, last: int, base: tuple[int, int],
           ) -> list[ContributionYear]:
    start = rng.randrange(first, last)
    return [ContributionYear(year, 12 if rng.random() < 0.7 else rng.randrange(1, 12),
                             rng.randrange(*base))
            for year in range(start, min(start + rng.randrange(1, 6), 2026))]


def _wages(years: list[ContributionYear]) -> int:
    return sum(y.monthly_base_fen * y.months for y in years)


def _averages(years: list[ContributionYear]) -> dict[int, int] | None:
    """Every other record states its years' local average wage (the base at 4/3 of it)."""
    return {y.year: y.monthly_base_fen * 3 // 4 for y in years} if len(years) % 2 else None


def _institution_record(rule: AmountRule, rng: random.Random) -> InfoSheet:
    paid = _years(rng, 2015, 2024, (500_000, 2_500_000))
    years = [ContributionYear(rng.randrange(1995, 2014), 12, 0, kind="deemed"), *paid]
    return make_sheet(rule, booked_fen(years, rule), years, averages=_averages(paid))


def _enterprise_record(rule: AmountRule, rng: random.Random) -> InfoSheet:
    years = _years(rng, 1998, 2024, (300_000, 2_000_000))
    return make_sheet(rule, booked_fen(years, rule) + rng.randrange(0, 50_000), years,
                      averages=_averages(years))


def _resident_record(rule: AmountRule, rng: random.Random) -> InfoSheet:
    """A 城乡居民 record (a yearly 缴费档次 of 200–5,000 yuan), now and then months paid twice."""
    years = _years(rng, 2012, 2024, (1_700, 42_000))
    account = _wages(years) + rng.randrange(0, 20_000)
    last = years[-1]
    if rng.random() < 0.3 and last.months < 12:
        twice = ContributionYear(last.year, 12 - last.months, last.monthly_base_fen,
                                 kind="refunded")
        return make_sheet(rule, account, (*years, twice), memo=(
            Component("refund_to_person", twice.monthly_base_fen * twice.months),))
    return make_sheet(rule, account, years)


def _employee_record(rule: AmountRule, rng: random.Random) -> InfoSheet:
    """A 职工 record of fewer than 15 years (at most five here)."""
    years = _years(rng, 2005, 2024, (300_000, 2_000_000))
    return make_sheet(rule, _wages(years) * 8 // 100 + rng.randrange(0, 30_000), years)


# --------------------------------------------------------------------------- the directions

DIRECTIONS: Mapping[str, tuple[Direction, ...]] = {
    "b1-10": (
        Direction("institution_to_enterprise", "机关事业单位 → 企业职工",
                  AmountRule(components=("individual_account", "pooled"), pooled_rate=TWELVE,
                             pooled_from=(2014, 10), paid_before_start_refused=True,
                             account_rates=((2014, Decimal("0.08")),)),
                  _institution_record),
        Direction("enterprise_to_institution", "企业职工 → 机关事业单位",
                  AmountRule(components=("individual_account", "pooled"), pooled_rate=TWELVE,
                             account_rates=ENTERPRISE_ACCOUNT_RATES),
                  _enterprise_record),
    ),
    "b1-11": (
        Direction("resident_to_employee", "城乡居民 → 职工",
                  AmountRule(components=("individual_account",), pooled_rate=None,
                             memo=("refund_to_person",), months_counted=False),
                  _resident_record, employee_months_from=FIFTEEN_YEARS),
        Direction("employee_to_resident", "职工 → 城乡居民",
                  AmountRule(components=("individual_account",), pooled_rate=None,
                             months_below=FIFTEEN_YEARS),
                  _employee_record),
    ),
}


def variants(item_id: str) -> tuple[SheetVariant, ...]:
    return tuple(d.variant() for d in DIRECTIONS.get(item_id, ()))


def draw_direction(item_id: str, rng: random.Random) -> tuple[str, int]:
    """A direction and the 职工 months it needs, for the simulator and the property worlds
    ("" and 0, drawing nothing, for a one-way item)."""
    directions = DIRECTIONS.get(item_id)
    if not directions:
        return "", 0
    direction = rng.choice(directions)
    months = rng.randrange(direction.employee_months_from, 420) if (
        direction.employee_months_from) else 0
    return direction.name, months
