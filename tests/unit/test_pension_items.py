"""Each pension item of the plan runs its own rules (issue 15, item 1): its components, its
limits and its counterpart. Before, b1-7…b1-12 all ran `pension_transfer` with one spec.

Arithmetic in the comments is in yuan; the code works in fen.
"""

from __future__ import annotations

import datetime as dt

import pytest

from domain.catalogue import load_catalogue
from domain.kernel import Actor, DomainError
from domain.limits import Rules
from domain.protocols import PROTOCOLS, transfer
from domain.protocols.intake import Submit
from domain.protocols.pension_items import BY_ITEM
from domain.protocols.transfer import Component, ContributionYear, InfoSheet
from domain.statutes import STATUTORY
from domain.values import CaseNumber
from tests.fixtures.world import FastCalendar

CATALOGUE = load_catalogue()
PENSION_ITEMS = ("b1-7", "b1-8", "b1-9", "b1-10", "b1-11", "b1-12")
MONDAY = dt.datetime(2025, 3, 3, 1, 0, tzinfo=dt.UTC)


def process_of(item_id: str) -> str:
    return CATALOGUE.get(item_id).process


def rule(item_id: str):  # type: ignore[no-untyped-def]
    return BY_ITEM[item_id].transfer_spec.validate_sheet


def refusal(item_id: str, sheet: InfoSheet) -> str:
    with pytest.raises(DomainError) as caught:
        rule(item_id)(sheet)
    return caught.value.code


def test_every_pension_item_runs_a_process_of_its_own() -> None:
    processes = [process_of(i) for i in PENSION_ITEMS]
    assert len(set(processes)) == len(processes)
    assert all(p in PROTOCOLS for p in processes)
    assert {i: BY_ITEM[i].process for i in PENSION_ITEMS} == dict(zip(PENSION_ITEMS, processes,
                                                                      strict=True))


def test_the_catalogue_limits_of_each_pension_item_are_the_runtime_statute() -> None:
    """b1-8, b1-9 and b1-12 get no statutory limit (the catalogue gives none); before, all six
    got 15/15/15 working days because limits were keyed by the one process."""
    for item_id in PENSION_ITEMS:
        item = CATALOGUE.get(item_id)
        catalogue = {(lim.step, lim.days) for lim in item.limits}
        runtime = {(step, s.limit.amount) for (p, step), s in STATUTORY.items()
                   if p == item.process}
        assert catalogue == runtime, item_id


@pytest.mark.parametrize("item_id", ["b1-8", "b1-9", "b1-12"])
def test_items_without_a_statutory_limit_set_no_deadline(item_id: str) -> None:
    rules = Rules(FastCalendar())
    for step in ("contact_letter", "transfer_out", "completion"):
        assert rules.deadline_for(process_of(item_id), step, MONDAY) is None, (item_id, step)


def test_the_enterprise_pension_keeps_the_twelve_percent_pooled_part() -> None:
    # 5,000 × 12 × 12% = 7,200.00
    sheet = InfoSheet(12, (Component("individual_account", 100_000), Component("pooled", 720_000)),
                      (ContributionYear(2020, 12, 500_000),))
    rule("b1-7")(sheet)
    assert refusal("b1-7", InfoSheet(12, (Component("individual_account", 100_000),),
                                     sheet.years)) == "invalid_sheet"


@pytest.mark.parametrize("item_id", ["b1-8", "b1-11"])
def test_residents_and_scheme_switches_move_the_individual_account_only(item_id: str) -> None:
    """城乡居民 (人社部发〔2014〕23号: the whole individual account, 一次性转移) and 制度衔接
    (人社部发〔2014〕17号: 个人账户全部储存额并入) carry no 12% pooled part."""
    years = (ContributionYear(2020, 12, 50_000),)
    rule(item_id)(InfoSheet(12, (Component("individual_account", 300_000),), years))
    assert refusal(item_id, InfoSheet(12, (Component("individual_account", 300_000),
                                           Component("pooled", 72_000)), years)) == "invalid_sheet"


def test_a_scheme_switch_refunds_periods_paid_twice_and_counts_them_once() -> None:
    """制度衔接 (人社部发〔2014〕17号): months paid in both schemes count once; the 城乡居民
    contributions of those months are refunded to the person (清退) — a line on the sheet that
    moves no money to the destination."""
    years = (ContributionYear(2020, 12, 50_000), ContributionYear(2021, 3, 50_000, kind="refunded"))
    sheet = InfoSheet(12, (Component("individual_account", 300_000),), years,
                      memo=(Component("refund_to_person", 15_000),))
    rule("b1-11")(sheet)
    assert sheet.amount_fen == 300_000  # the refund is not remitted
    assert refusal("b1-11", InfoSheet(15, sheet.components, years, sheet.memo)) == (
        "months_mismatch")
    assert refusal("b1-11", InfoSheet(12, sheet.components, years)) == "refund_missing"
    assert refusal("b1-8", sheet) == "invalid_sheet"  # no 清退 outside 制度衔接


def test_the_institutions_pension_carries_the_occupational_annuity_funded_and_book_entry() -> None:
    """机关事业 (人社部规〔2017〕1号; 职业年金 实账 moves as money, 记账 as a record): the
    pooled part counts from the reform (2014-10-01), earlier service is deemed (视同缴费)."""
    years = (ContributionYear(2010, 12, 0, kind="deemed"), ContributionYear(2014, 3, 600_000),
             ContributionYear(2015, 12, 600_000))
    # 6,000 × 3 × 12% = 2,160.00; 6,000 × 12 × 12% = 8,640.00
    sheet = InfoSheet(27, (Component("individual_account", 500_000), Component("pooled", 1_080_000),
                           Component("occupational_annuity", 200_000)), years,
                      memo=(Component("occupational_annuity_book", 90_000),))
    rule("b1-9")(sheet)
    assert sheet.amount_fen == 1_780_000  # the 记账 part moves as a record, not as money
    before_reform = (ContributionYear(2014, 4, 600_000), *years[2:])
    assert refusal("b1-9", InfoSheet(16, sheet.components, before_reform, sheet.memo)) == (
        "invalid_contribution_year")
    assert refusal("b1-7", sheet) == "invalid_sheet"  # no 职业年金 in the enterprise scheme


def test_a_veterans_subsidy_is_eight_and_twelve_percent_of_the_service_wages() -> None:
    """退役军人 (军人保险法; 后财〔2015〕1726号): 20% of each service year's monthly wages,
    12% as the employer's part (pooled) and 8% as the person's (individual account)."""
    years = (ContributionYear(2016, 12, 600_000), ContributionYear(2017, 6, 650_000))
    # pooled: 6,000×12×12% = 8,640.00 + 6,500×6×12% = 4,680.00; account: 5,760.00 + 3,120.00
    sheet = InfoSheet(18, (Component("individual_account", 888_000),
                           Component("pooled", 1_332_000)), years)
    rule("b1-12")(sheet)
    assert refusal("b1-12", InfoSheet(18, (Component("individual_account", 888_001),
                                           Component("pooled", 1_332_000)), years)) == (
        "individual_account_mismatch")


NUMBER = CaseNumber.parse("150600-20250303-0000000001")
WINDOW = Actor("staff", "w-1", "150600")


def _submit(item_id: str, agency: str = "") -> Submit:
    return transfer.application(process_of(item_id), NUMBER, "e1" * 32, ("610800",), WINDOW,
                                item_id=item_id, agency=agency)


def test_a_veteran_transfer_names_the_military_agency_it_is_reached_through() -> None:
    """The counterpart is a 军队经办机构, not a GB/T 2260 region: the application names the
    agency, and the region whose node keys in its sheet and bank notice (the relay)."""
    decider = PROTOCOLS[process_of("b1-12")].decider(Rules(FastCalendar()))
    with pytest.raises(DomainError) as caught:
        decider.decide(None, _submit("b1-12"), MONDAY)
    assert caught.value.code == "agency_required"
    with pytest.raises(DomainError) as caught:
        decider.decide(None, _submit("b1-12", agency="PLA-1"), MONDAY)
    assert caught.value.code == "invalid_agency"
    events = decider.decide(None, _submit("b1-12", agency="32001"), MONDAY)
    state = None
    for event in events:
        state = decider.evolve(state, event)
    assert state is not None and state.agency == "32001"
    enterprise = PROTOCOLS["pension_transfer"].decider(Rules(FastCalendar()))
    with pytest.raises(DomainError) as caught:
        enterprise.decide(None, _submit("b1-7", agency="32001"), MONDAY)
    assert caught.value.code == "invalid_details"
