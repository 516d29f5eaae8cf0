"""The six pension items of the plan, each with its own rules (issue 15, item 1).

Why one spec per item: b1-7…b1-12 all ran `pension_transfer` with one spec, so 城乡居民 and
制度衔接 carried a 12 % pooled part they must not have, 机关事业 could not carry its 职业年金, the
veteran's counterpart had to be a region, and every item got the 15/15/15 working days of 66号.
Now each item is a process of its own (the catalogue names it), so its time limits are those the
statute gives that item (`domain.statutes.STATUTORY`, none where none is given) and its sheet rule
is its own `AmountRule` (`domain.protocols.pension_amounts`). All six share the generic transfer
machine (`domain.protocols.transfer`) and the register's "pension" scheme: a person holds one
basic pension relationship at a time, whichever scheme holds it (制度衔接 moves it across).

| item  | process                                 | money components (memo lines)            |
|-------|-----------------------------------------|------------------------------------------|
| b1-7  | pension_transfer (企业职工)              | individual_account, pooled 12 % from 1998 |
| b1-8  | resident_pension_transfer (城乡居民)     | individual_account                        |
| b1-9  | institution_pension_transfer (机关事业)  | individual_account, pooled 12 % from      |
|       |                                         | 2014-10, occupational_annuity (实账)      |
|       |                                         | (occupational_annuity_book: 记账)         |
| b1-10 | institution_enterprise_pension_transfer | individual_account, pooled 12 % from 1998 |
| b1-11 | pension_scheme_switch (制度衔接)         | individual_account (refund_to_person)     |
| b1-12 | veteran_pension_transfer (退役军人)      | individual_account 8 %, pooled 12 %      |

Sources (reference/domain.md; [V] verified, [V2] a secondary source, [I] inferred):
- b1-7 (§2a): 国办发〔2009〕66号, 人社部发〔2009〕187号: 个人账户储存额 + 12 % × Σ yearly bases since
  1998-01-01, pro rata by months; earlier years and 视同缴费年限 count months only [V2].
- b1-8 (§2b-1): 人社部发〔2014〕23号 第七章: the whole individual account moves in one go
  (一次性转移), no pooled part [V]; no step limits — the sources say 按规定时限 only.
- b1-9 (§2a′): 人社部规〔2017〕1号, 人社厅发〔2017〕7号: individual account + 12 % × the yearly
  bases since the reform (国发〔2015〕2号, 2014-10-01; service before it is deemed) [V2];
  职业年金: the funded part (实账) moves as money; the book-entry part (记账) moves as a record
  where both employers are funded by the same-level budget, else the 同级财政 funds it (记实)
  before the transfer and it moves as money (clpc.com.cn FAQ) [V]. The summary's 机关事业 row is
  the 机关事业 → 企业 direction only, so no step limits.
- b1-10 (§2a′): 人社厅发〔2017〕7号: transfer out 15 WD, completion 15 WD after information and
  funds match [V2] (that direction; the reference gives none for 企业 → 机关事业, which runs on
  the same limits here — a stricter clock, never a longer one). Money by direction
  (`domain.protocols.pension_directions`): 机关事业 → 企业 12 % from 2014-10, 企业 → 机关事业
  as b1-7.
- b1-11 (§2b-2): 人社部发〔2014〕17号: 15/15/15 WD [V2]; the individual account's whole balance
  merges (个人账户全部储存额并入), no pooled part; months paid in both schemes count once and the
  城乡居民 contributions (个人缴费 and 集体补助) of those months are refunded to the person (清退) [V].
  By direction (`pension_directions`): 城乡居民 → 职工 counts no months and needs 15 职工 years
  at the destination; 职工 → 城乡居民 counts every month and needs fewer than 15.
- b1-12 (no section: reference §1's transfer pattern; 军人保险法 2012; 后财〔2012〕547号 and
  后财〔2015〕1726号 as quoted at shebaodata.com/zhishi/yanglao/138267.html [V2]): the 退役基本养老
  保险补助 is 20 % of each service year's monthly wages, 12 % as the employer's part (pooled)
  and 8 % as the person's (individual account), computed at once by the finance department of
  the veteran's unit (后勤(联勤、保障)机关财务部门), remitted by bank to the 安置地 县级以上 社会
  保险经办机构 with the 缴费凭证 and 信息表. No step limits are given for 军地衔接. The counterpart
  is that 军队经办机构, not a GB/T 2260 region; the 1998 start of the figures is [I] (the 军人保险
  制度实施方案 of 1998; earlier service is deemed).

How a military agency is routed: the application names the agency (`TransferDetails.agency`,
its five-digit 部队代号) and one relay region (`origins`): the region whose node keys in the
documents the agency issues — its 信息表 and bank notice — since the 军队 network is not on this
federation. Messages go to the relay exactly as to any origin (`tb.v1.evt.<relay>.<dest>`); the
contact letter names the agency (`ContactLetterIssued.agency`), so the relay's origin side says
whom it acts for, and the destination refuses a veteran's case without one (`agency_required`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from domain.protocols import pension_directions
from domain.protocols.pension_amounts import AmountRule, booked_fen, make_sheet, validate
from domain.protocols.pension_limits import ENTERPRISE_ACCOUNT_RATES
from domain.protocols.transfer_sheets import (
    Component,
    ContributionYear,
    CounterpartKind,
    InfoSheet,
    TransferSpec,
)

SCHEME = "pension"
TWELVE = Decimal("0.12")
#: 国发〔2005〕38号 (企业, from 2006), 国发〔2015〕2号 (机关事业): 8 % of the wage to the account
EIGHT = Decimal("0.08")


@dataclass(frozen=True)
class PensionItem:
    """One pension item of the catalogue: its process, its sheet rule, its counterpart."""

    item_id: str
    process: str
    name: str
    rule: AmountRule
    counterpart: CounterpartKind = "region"
    multi_origin: bool = False

    def validate_sheet(self, sheet: InfoSheet) -> None:
        validate(sheet, self.rule, self.name)

    def sheet(self, account_fen_stated: int, years: tuple[ContributionYear, ...],
              extra: Mapping[str, int] | None = None,
              memo: tuple[Component, ...] = (),
              averages: Mapping[int, int] | None = None) -> InfoSheet:
        """The sheet this item's origin issues for a record (`pension_amounts.make_sheet`)."""
        return make_sheet(self.rule, account_fen_stated, years, extra, memo, averages)

    @property
    def transfer_spec(self) -> TransferSpec:
        return _SPECS[self.item_id]


ENTERPRISE = AmountRule(components=("individual_account", "pooled"), pooled_rate=TWELVE,
                        account_rates=ENTERPRISE_ACCOUNT_RATES)
RESIDENT = AmountRule(components=("individual_account",), pooled_rate=None)
INSTITUTION = AmountRule(
    components=("individual_account", "pooled", "occupational_annuity"), pooled_rate=TWELVE,
    pooled_from=(2014, 10), paid_before_start_refused=True, memo=("occupational_annuity_book",),
    account_rates=((2014, EIGHT),))
SCHEME_SWITCH = AmountRule(components=("individual_account",), pooled_rate=None,
                           memo=("refund_to_person",))
VETERAN = AmountRule(components=("individual_account", "pooled"), pooled_rate=TWELVE,
                     account_rate=EIGHT, account_rates=((1998, EIGHT),))

ITEMS: tuple[PensionItem, ...] = (
    PensionItem("b1-7", "pension_transfer", "企业职工基本养老保险", ENTERPRISE, multi_origin=True),
    PensionItem("b1-8", "resident_pension_transfer", "城乡居民基本养老保险", RESIDENT),
    PensionItem("b1-9", "institution_pension_transfer", "机关事业单位基本养老保险", INSTITUTION),
    PensionItem("b1-10", "institution_enterprise_pension_transfer",
                "机关事业单位与企业职工基本养老保险互转", ENTERPRISE),
    PensionItem("b1-11", "pension_scheme_switch", "城乡养老保险制度衔接", SCHEME_SWITCH),
    PensionItem("b1-12", "veteran_pension_transfer", "退役军人养老保险", VETERAN,
                counterpart="military_agency"),
)
BY_ITEM: Mapping[str, PensionItem] = {item.item_id: item for item in ITEMS}
BY_PROCESS: Mapping[str, PensionItem] = {item.process: item for item in ITEMS}


# --------------------------------------------------------------------------- sample sheets


def _years(rng: random.Random, first: int, last: int, base: tuple[int, int],
           ) -> list[ContributionYear]:
    start = rng.randrange(first, last)
    out = []
    for year in range(start, min(start + rng.randrange(1, 6), 2026)):
        months = 12 if rng.random() < 0.7 else rng.randrange(1, 12)
        out.append(ContributionYear(year, months, rng.randrange(*base)))
    return out


def _older(rng: random.Random, before: int) -> list[ContributionYear]:
    """Now and then an older record: deemed service, or (enterprise) years before 1998."""
    if rng.random() < 0.2:
        return [ContributionYear(rng.randrange(1985, before), 12, 0, kind="deemed")]
    return []


def _enterprise(item: PensionItem) -> Callable[[random.Random], InfoSheet]:
    def sample(rng: random.Random) -> InfoSheet:
        years = _years(rng, 2012, 2024, (300_000, 2_000_000)) + _older(rng, 1993)
        if rng.random() < 0.1:
            years.append(ContributionYear(rng.randrange(1993, 1998), 12,
                                          rng.randrange(50_000, 150_000)))
        early = sum(y.monthly_base_fen * y.months for y in years if y.year < 1998) * 8 // 100
        account = booked_fen(years, item.rule) + early + rng.randrange(0, 50_000)
        return item.sheet(account, tuple(years), averages=averages(years))
    return sample


def averages(years: list[ContributionYear]) -> dict[int, int] | None:
    """Every other record states each year's local average wage (its base at 4/3 of it, within
    60 %–300 %) and its bookings, so both kinds of sheet are drawn."""
    if len(years) % 2:
        return None
    return {y.year: y.monthly_base_fen * 3 // 4 for y in years if y.kind == "paid"}


def _resident(item: PensionItem) -> Callable[[random.Random], InfoSheet]:
    """城乡居民: a yearly 缴费档次 of 200–5,000 yuan, recorded per month."""
    def sample(rng: random.Random) -> InfoSheet:
        years = _years(rng, 2012, 2024, (1_700, 42_000))
        account = sum(y.monthly_base_fen * y.months for y in years) + rng.randrange(0, 20_000)
        if item.rule.memo and rng.random() < 0.3:  # 制度衔接: months paid twice, refunded
            last = years[-1]
            if last.months < 12:
                twice = ContributionYear(last.year, 12 - last.months, last.monthly_base_fen,
                                         kind="refunded")
                refund = twice.monthly_base_fen * twice.months
                return item.sheet(account, (*years, twice),
                                  memo=(Component("refund_to_person", refund),))
        return item.sheet(account, tuple(years))
    return sample


def _institution(item: PensionItem) -> Callable[[random.Random], InfoSheet]:
    def sample(rng: random.Random) -> InfoSheet:
        years = [ContributionYear(rng.randrange(1995, 2010), 12, 0, kind="deemed"),
                 *_years(rng, 2015, 2024, (500_000, 2_500_000))]
        account = booked_fen(years, item.rule)
        annuity = sum(y.monthly_base_fen * y.months for y in years) * 4 // 100
        book = annuity // 2 if rng.random() < 0.5 else 0
        memo = (Component("occupational_annuity_book", book),) if book else ()
        return item.sheet(account, tuple(years), {"occupational_annuity": annuity - book}, memo,
                          averages(years))
    return sample


def _veteran(item: PensionItem) -> Callable[[random.Random], InfoSheet]:
    def sample(rng: random.Random) -> InfoSheet:
        return item.sheet(0, tuple(_years(rng, 2008, 2024, (400_000, 1_500_000))))
    return sample


_SAMPLERS = {"b1-7": _enterprise, "b1-8": _resident, "b1-9": _institution,
             "b1-10": _enterprise, "b1-11": _resident, "b1-12": _veteran}

_SPECS: Mapping[str, TransferSpec] = {
    item.item_id: TransferSpec(
        process=item.process, scheme=SCHEME, multi_origin=item.multi_origin,
        relationship_on_sheet=False, has_benefit=False, confirms_receipt=False,
        requires_suspension=False, separate_remittance=False,
        validate_sheet=item.validate_sheet, sample_sheet=_SAMPLERS[item.item_id](item),
        counterpart=item.counterpart, temporary_accounts=item.item_id == "b1-7",
        variants=pension_directions.variants(item.item_id))
    for item in ITEMS}


def draw_direction(process: str, rng: random.Random) -> tuple[str, int]:
    """A two-way item's direction and the 职工 months it needs (`pension_directions`); ("", 0)
    without drawing for any other process."""
    item = BY_PROCESS.get(process)
    return pension_directions.draw_direction(item.item_id, rng) if item else ("", 0)
