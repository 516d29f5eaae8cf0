"""The two-way pension items run the rule of their direction (issue 15, item 1: b1-10, b1-11).

Before, 机关事业 → 企业 and 企业 → 机关事业 (b1-10) ran one enterprise rule, and 城乡居民 ↔ 职工
(b1-11) one rule that counted every month both ways. Now the application names its direction
(`details.direction`), the contact letter carries it to the origin, and both sides hold the
sheet to that direction's rule: what is carried and what is counted change with it.

Arithmetic in the comments is in yuan; the code works in fen.
"""

from __future__ import annotations

import datetime as dt

import pytest

from domain.kernel import Actor, DomainError
from domain.limits import Rules
from domain.protocols import PROTOCOLS, transfer
from domain.protocols.pension_items import BY_ITEM
from domain.protocols.transfer import (
    ApproveTransferOut,
    Component,
    ContributionYear,
    InfoSheet,
    IssueInfoSheet,
)
from domain.values import CaseNumber
from tests.fixtures.transfers import TRANSFERS, TransferWorld, accepted_case, staff
from tests.fixtures.world import FastCalendar

DEST, ORIGIN = "150600", "610800"
B1_10, B1_11 = BY_ITEM["b1-10"].process, BY_ITEM["b1-11"].process
MONDAY = dt.datetime(2025, 3, 3, 1, 0, tzinfo=dt.UTC)


def refused(world: TransferWorld, case: str, region: str, sheet: InfoSheet) -> str:
    side = world.sides[(case, region)]
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, IssueInfoSheet(actor=staff(region), sheet=sheet), world.now)
    return caught.value.code


def approved(direction: str, employee_months: int = 0) -> tuple[TransferWorld, str]:
    process = B1_10 if direction in ("institution_to_enterprise",
                                     "enterprise_to_institution") else B1_11
    world, case = accepted_case(TRANSFERS, process, (ORIGIN,), DEST, direction=direction,
                                employee_months=employee_months)
    world.act(case, ORIGIN, ApproveTransferOut(actor=staff(ORIGIN)))
    return world, case


def complete(world: TransferWorld, case: str, sheet: InfoSheet) -> None:
    """The origin issues `sheet` and remits; the destination's bank notice says it arrived."""
    world.transfer_out(case, ORIGIN, sheet)
    world.funds(case, DEST, ORIGIN, sheet.amount_fen, "B-1")


# 2010 worked at an enterprise (paid), 2015 at either: 5,000 × 12 × 12 % = 7,200.00 each year
ENTERPRISE_YEARS = (ContributionYear(2010, 12, 500_000), ContributionYear(2015, 12, 500_000))
ENTERPRISE_SHEET = InfoSheet(24, (Component("individual_account", 960_000),
                                  Component("pooled", 1_440_000)), ENTERPRISE_YEARS)


def test_enterprise_to_institution_carries_the_pooled_part_of_every_year_since_1998() -> None:
    """企业 → 机关事业 (人社部规〔2017〕1号): the enterprise's record moves whole — individual
    account plus 12 % of each year's wage since 1998-01-01 (国办发〔2009〕66号)."""
    world, case = approved("enterprise_to_institution")
    assert world.sides[(case, ORIGIN)].state.direction == "enterprise_to_institution"
    complete(world, case, ENTERPRISE_SHEET)
    dest = world.summary(case, DEST)
    assert (dest.status, dest.amount_credited, dest.months_credited) == (
        "completed", 2_400_000, 24)


def test_institution_to_enterprise_counts_the_pooled_part_from_the_reform_only() -> None:
    """机关事业 → 企业: the 机关事业 record starts at the reform (国发〔2015〕2号, 2014-10-01);
    service before it is deemed (视同缴费), months without money. The same enterprise sheet is
    refused, naming the year; the 机关事业 record of the same years completes."""
    world, case = approved("institution_to_enterprise")
    assert refused(world, case, ORIGIN, ENTERPRISE_SHEET) == "invalid_contribution_year"
    years = (ContributionYear(2010, 12, 0, kind="deemed"), ContributionYear(2015, 12, 500_000))
    sheet = InfoSheet(24, (Component("individual_account", 480_000),
                           Component("pooled", 720_000)), years)
    complete(world, case, sheet)
    dest = world.summary(case, DEST)
    assert (dest.status, dest.amount_credited, dest.months_credited) == (
        "completed", 1_200_000, 24)


RESIDENT_YEARS = (ContributionYear(2019, 12, 5_000), ContributionYear(2020, 12, 5_000))
RESIDENT_ACCOUNT = (Component("individual_account", 150_000),)


def test_resident_to_employee_merges_the_account_and_counts_no_employee_months() -> None:
    """城乡居民 → 职工 (人社部发〔2014〕17号): the whole individual account merges, and the
    城乡居民 years are neither added to nor converted into 职工 years: 0 months credited."""
    world, case = approved("resident_to_employee", employee_months=180)
    assert refused(world, case, ORIGIN, InfoSheet(24, RESIDENT_ACCOUNT, RESIDENT_YEARS)) == (
        "months_mismatch")
    complete(world, case, InfoSheet(0, RESIDENT_ACCOUNT, RESIDENT_YEARS))
    dest = world.summary(case, DEST)
    assert (dest.status, dest.amount_credited, dest.months_credited) == ("completed", 150_000, 0)


def test_employee_to_resident_counts_every_month_under_fifteen_years_only() -> None:
    """职工 → 城乡居民 (17号): only with fewer than 15 years of 职工 contributions; the account
    merges and every 职工 month counts as a 城乡居民 month. Fifteen years are refused."""
    fifteen = tuple(ContributionYear(y, 12, 500_000) for y in range(2005, 2020))
    world, case = approved("employee_to_resident")
    assert refused(world, case, ORIGIN, InfoSheet(180, RESIDENT_ACCOUNT, fifteen)) == (
        "switch_condition_unmet")
    complete(world, case, InfoSheet(168, RESIDENT_ACCOUNT, fifteen[1:]))
    dest = world.summary(case, DEST)
    assert (dest.status, dest.amount_credited, dest.months_credited) == ("completed", 150_000, 168)


def test_months_paid_twice_are_refunded_by_the_residents_scheme_only() -> None:
    """清退 (17号): the months paid in both schemes count as 职工 months and the 城乡居民 side
    refunds its contributions. The 职工 origin (职工 → 居民) has nothing to refund."""
    years = (*RESIDENT_YEARS, ContributionYear(2021, 3, 5_000, kind="refunded"))
    sheet = InfoSheet(0, RESIDENT_ACCOUNT, years, memo=(Component("refund_to_person", 15_000),))
    world, case = approved("resident_to_employee", employee_months=200)
    complete(world, case, sheet)
    assert world.summary(case, DEST).status == "completed"
    world, case = approved("employee_to_resident")
    assert refused(world, case, ORIGIN, InfoSheet(24, RESIDENT_ACCOUNT, years,
                                                  memo=sheet.memo)) == "invalid_sheet"


NUMBER = CaseNumber.parse("150600-20250303-0000000001")


def submit_refusal(process: str, direction: str, employee_months: int = 0) -> str:
    decider = PROTOCOLS[process].decider(Rules(FastCalendar()))
    command = transfer.application(process, NUMBER, "e1" * 32, (ORIGIN,),
                                   Actor("staff", "w-1", DEST), direction=direction,
                                   employee_months=employee_months)
    with pytest.raises(DomainError) as caught:
        decider.decide(None, command, MONDAY)
    return caught.value.code


def test_resident_to_employee_needs_fifteen_employee_years_at_the_destination() -> None:
    """17号: 城乡居民 → 职工 only for someone with 15 years of 职工 contributions (延长缴费 to
    15 included) at the 待遇领取地, which the destination's staff read from its own record."""
    assert submit_refusal(B1_11, "resident_to_employee", 179) == "switch_condition_unmet"
    decider = PROTOCOLS[B1_11].decider(Rules(FastCalendar()))
    command = transfer.application(B1_11, NUMBER, "e1" * 32, (ORIGIN,), Actor("staff", "w-1", DEST),
                                   direction="resident_to_employee", employee_months=180)
    assert decider.decide(None, command, MONDAY)
    assert submit_refusal(B1_11, "employee_to_resident", 100) == "invalid_details"


def test_a_direction_must_be_one_of_the_items_and_a_one_way_item_takes_none() -> None:
    assert submit_refusal(B1_10, "resident_to_employee") == "invalid_direction"
    assert submit_refusal(B1_11, "sideways") == "invalid_direction"
    assert submit_refusal("pension_transfer", "enterprise_to_institution") == "invalid_details"
    assert submit_refusal(B1_10, "", 12) == "invalid_details"
