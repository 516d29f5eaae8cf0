"""The pension amount rule, by worked examples: account + 12% × Σ yearly bases, rounded per year.

Arithmetic in the comments is in yuan; the code works in fen.
"""

from __future__ import annotations

import pytest

from domain.kernel import DomainError
from domain.protocols.pension import pooled_part_fen, transfer_amount, validate_sheet
from domain.protocols.transfer import Component, ContributionYear, InfoSheet


def test_a_full_year_moves_twelve_percent_of_its_contribution_wage() -> None:
    # 5,000.00 × 12 months = 60,000.00; × 12% = 7,200.00
    assert pooled_part_fen(ContributionYear(2019, 12, 500_000)) == 720_000


def test_a_partial_year_counts_pro_rata_by_months() -> None:
    # 4,321.17 × 5 months = 21,605.85; × 12% = 2,592.702 → 2,592.70
    assert pooled_part_fen(ContributionYear(2024, 5, 432_117)) == 259_270


def test_each_years_pooled_part_is_rounded_half_up_to_the_fen() -> None:
    # 3,000.05 × 12% = 360.006 → 360.01 (0.6 fen rounds up); 3,000.04 × 12% = 360.0048 → 360.00
    assert pooled_part_fen(ContributionYear(2020, 1, 300_005)) == 36_001
    assert pooled_part_fen(ContributionYear(2020, 1, 300_004)) == 36_000


def test_rounding_is_per_year_then_summed_not_on_the_total() -> None:
    # two years of 360.0048 each: per year 360.00 + 360.00 = 720.00 (the total 720.0096 would
    # round to 720.01: the rule is per year)
    years = [ContributionYear(2020, 1, 300_004), ContributionYear(2021, 1, 300_004)]
    pooled = {c.name: c.amount_fen for c in transfer_amount(0, years).components}["pooled"]
    assert pooled == 72_000


def test_several_years_and_the_individual_account_make_the_transfer_amount() -> None:
    # 2019: 6,000 × 12 × 12% = 8,640.00; 2020: 6,500 × 12 × 12% = 9,360.00;
    # 2021: 7,000 × 7 × 12% = 5,880.00; pooled 23,880.00 + account 18,500.00 = 42,380.00
    sheet = transfer_amount(1_850_000, [ContributionYear(2021, 7, 700_000),
                                        ContributionYear(2019, 12, 600_000),
                                        ContributionYear(2020, 12, 650_000)])
    assert sheet.components == (Component("individual_account", 1_850_000),
                                Component("pooled", 2_388_000))
    assert (sheet.amount_fen, sheet.months) == (4_238_000, 31)
    assert [y.year for y in sheet.years] == [2019, 2020, 2021]
    validate_sheet(sheet)


@pytest.mark.parametrize(("year", "code"), [
    (ContributionYear(1949, 12, 500_000), "invalid_contribution_year"),
    (ContributionYear(1997, 12, 500_000, kind="refunded"), "invalid_contribution_year"),
    (ContributionYear(1997, 12, 500_000, kind="unpaid"), "invalid_contribution_year"),  # type: ignore[arg-type]
    (ContributionYear(2020, 0, 500_000), "invalid_contribution_year"),
    (ContributionYear(2020, 13, 500_000), "invalid_contribution_year"),
    (ContributionYear(2020, 12, 0), "invalid_contribution_year"),
    (ContributionYear(2020, 12, True), "invalid_contribution_year"),
])
def test_impossible_contribution_years_are_refused(year: ContributionYear, code: str) -> None:
    with pytest.raises(DomainError) as caught:
        transfer_amount(0, [year])
    assert caught.value.code == code


def test_a_negative_or_fractional_account_and_a_repeated_year_are_refused() -> None:
    year = ContributionYear(2020, 12, 500_000)
    for account in (-1, 1.5):
        with pytest.raises(DomainError, match="non-negative number of fen"):
            transfer_amount(account, [year])  # type: ignore[arg-type]
    with pytest.raises(DomainError, match="listed twice"):
        transfer_amount(0, [year, year])
    with pytest.raises(DomainError, match="at least one"):
        transfer_amount(0, [])


def test_a_sheet_whose_pooled_part_or_months_disagree_with_its_years_is_refused() -> None:
    good = transfer_amount(100_000, [ContributionYear(2020, 12, 500_000)])
    inflated = InfoSheet(good.months, (good.components[0], Component("pooled", 720_001)),
                         good.years)
    with pytest.raises(DomainError) as caught:
        validate_sheet(inflated)
    assert caught.value.code == "pooled_part_mismatch"
    with pytest.raises(DomainError) as caught:
        validate_sheet(InfoSheet(13, good.components, good.years))
    assert caught.value.code == "months_mismatch"
    with pytest.raises(DomainError) as caught:
        validate_sheet(InfoSheet(good.months, good.components[:1], good.years))
    assert caught.value.code == "invalid_sheet"


def test_a_year_may_have_several_bases_and_is_rounded_as_one_year() -> None:
    """The July base adjustment (issue 15, item 4): 2023 at 5,000.04 for six months, then at
    5,500.04 for six: the year's wage is the sum of its lines, 12% of it rounded once (the rule
    stays per year). Before, a year listed twice was refused."""
    lines = [ContributionYear(2023, 6, 500_004), ContributionYear(2023, 6, 550_004)]
    sheet = transfer_amount(0, lines)
    wage = 500_004 * 6 + 550_004 * 6
    assert {c.name: c.amount_fen for c in sheet.components}["pooled"] == (wage * 12 + 50) // 100
    assert sheet.months == 12
    validate_sheet(sheet)


def test_a_year_with_more_than_twelve_months_over_its_bases_is_refused() -> None:
    with pytest.raises(DomainError, match="more than 12 months"):
        transfer_amount(0, [ContributionYear(2023, 7, 500_000), ContributionYear(2023, 6, 550_000)])


def test_years_before_1998_count_their_months_without_pooled_money() -> None:
    """Issue 15, item 4: a record from 1996 was refused, so its months were under-counted. The
    pooled part counts from 1998-01-01 (国办发〔2009〕66号 第五条), the months of every year."""
    sheet = transfer_amount(400_000, [ContributionYear(1996, 12, 300_000),
                                      ContributionYear(1998, 12, 500_000)])
    assert {c.name: c.amount_fen for c in sheet.components}["pooled"] == 720_000
    assert sheet.months == 24
    validate_sheet(sheet)


def test_deemed_years_count_their_months_and_carry_no_base_and_no_money() -> None:
    """视同缴费年限 (deemed years, 人社部规〔2016〕5号) count toward the months, never the money."""
    sheet = transfer_amount(0, [ContributionYear(1990, 12, 0, kind="deemed"),
                                ContributionYear(2020, 12, 500_000)])
    assert {c.name: c.amount_fen for c in sheet.components}["pooled"] == 720_000
    assert sheet.months == 24
    validate_sheet(sheet)
    with pytest.raises(DomainError) as caught:
        transfer_amount(0, [ContributionYear(1990, 12, 300_000, kind="deemed")])
    assert caught.value.code == "invalid_contribution_year"


def test_the_sheet_states_each_years_wage_and_pooled_part_so_both_sides_compare_lines() -> None:
    """Issue 15, item 4: per-year lines on the sheet, rounded by the one rule, so a destination
    that disagrees names the year instead of a total it cannot trace."""
    from domain.protocols.transfer_events import YearLine

    # 2020: 3,000.04 × 12% = 360.0048 → 360.00; 2021: 3,000.05 × 12% = 360.006 → 360.01
    sheet = transfer_amount(0, [ContributionYear(2020, 1, 300_004), ContributionYear(2021, 1, 300_005),
                                ContributionYear(1990, 12, 0, kind="deemed")])
    assert sheet.pooled_by_year == (YearLine(2020, 300_004, 36_000), YearLine(2021, 300_005, 36_001))
    validate_sheet(sheet)
    off = (YearLine(2020, 300_004, 36_001), YearLine(2021, 300_005, 36_000))  # same total
    with pytest.raises(DomainError) as caught:
        validate_sheet(InfoSheet(sheet.months, sheet.components, sheet.years, pooled_by_year=off))
    assert caught.value.code == "pooled_part_mismatch" and "2020" in str(caught.value)
    assert caught.value.field == "sheet.pooled_by_year[0]"
