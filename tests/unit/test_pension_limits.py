"""The limits a pension sheet's yearly lines must respect (issue 15, scope item 3): the
contribution base between 60 % and 300 % of the local average wage, and the individual account
booked at 11 % of the contribution wage to 2005 and 8 % from 2006 (国发〔2005〕38号). A sheet
outside them is refused with a clear error naming the year and the limit.

Arithmetic in the comments is in yuan; the code works in fen.
"""

from __future__ import annotations

import dataclasses

import pytest

from domain.kernel import DomainError
from domain.protocols.pension_items import BY_ITEM
from domain.protocols.transfer import ContributionYear, InfoSheet
from domain.protocols.transfer_sheets import YearLine

ENTERPRISE = BY_ITEM["b1-7"]


def sheet(years: tuple[ContributionYear, ...], account: int, **year_fields: dict[int, int],
          ) -> InfoSheet:
    """The enterprise sheet of `years`, its yearly lines stating `average_wage_fen` and
    `account_fen` as given per year."""
    made = ENTERPRISE.sheet(account, years)
    lines = tuple(dataclasses.replace(line, **{name: by_year.get(line.year, 0)
                                               for name, by_year in year_fields.items()})
                  for line in made.pooled_by_year)
    return dataclasses.replace(made, pooled_by_year=lines)


def refusal(bad: InfoSheet) -> DomainError:
    with pytest.raises(DomainError) as caught:
        ENTERPRISE.validate_sheet(bad)
    return caught.value


# 2015: the local average monthly wage 5,000.00; 60 % = 3,000.00, 300 % = 15,000.00
AVERAGE = {2015: 500_000}


@pytest.mark.parametrize("base", [300_000, 1_500_000])
def test_a_base_at_sixty_or_three_hundred_percent_of_the_average_wage_is_accepted(
        base: int) -> None:
    ENTERPRISE.validate_sheet(sheet((ContributionYear(2015, 12, base),), 0,
                                    average_wage_fen=AVERAGE))


@pytest.mark.parametrize(("base", "limit"), [(299_999, "60 %"), (1_500_001, "300 %")])
def test_a_base_outside_sixty_to_three_hundred_percent_is_refused_naming_year_and_limit(
        base: int, limit: str) -> None:
    error = refusal(sheet((ContributionYear(2015, 12, base),), 0, average_wage_fen=AVERAGE))
    assert error.code == "base_out_of_range"
    assert "2015" in str(error) and limit in str(error)
    assert error.field == "sheet.pooled_by_year[0]"


def test_the_july_adjustment_holds_each_base_of_the_year_to_the_limit() -> None:
    """Two bases in 2015, one of them under 60 %: refused for that line."""
    years = (ContributionYear(2015, 6, 350_000), ContributionYear(2015, 6, 250_000))
    assert refusal(sheet(years, 0, average_wage_fen=AVERAGE)).code == "base_out_of_range"


# 2004: wage 4,000.00 × 12 = 48,000.00; 11 % = 5,280.00. 2007: 48,000.00 × 8 % = 3,840.00
YEARS = (ContributionYear(2004, 12, 400_000), ContributionYear(2007, 12, 400_000))


def test_the_account_is_booked_at_eleven_percent_to_2005_and_eight_from_2006() -> None:
    ENTERPRISE.validate_sheet(sheet(YEARS, 1_000_000, account_fen={2004: 528_000, 2007: 384_000}))


def test_a_booking_above_the_rate_is_refused_naming_the_year_and_the_rate() -> None:
    """国发〔2005〕38号: from 2006 the account takes 8 %; 11 % in 2007 is refused."""
    error = refusal(sheet(YEARS, 1_200_000, account_fen={2004: 528_000, 2007: 528_000}))
    assert error.code == "account_rate_exceeded"
    assert "2007" in str(error) and "8 %" in str(error)
    assert error.field == "sheet.pooled_by_year[1]"


def test_a_booking_below_the_rate_must_be_topped_up_by_the_origin() -> None:
    """The 2017 规程: a booking under 11 % (8 %) is topped up by the 转出地 before it transfers."""
    error = refusal(sheet(YEARS, 1_000_000, account_fen={2004: 400_000, 2007: 384_000}))
    assert error.code == "account_top_up_missing"
    assert "2004" in str(error) and "11 %" in str(error)


def test_the_account_holds_at_least_what_its_years_booked() -> None:
    """The balance is the bookings plus interest: less than the bookings cannot be."""
    error = refusal(sheet(YEARS, 900_000, account_fen={2004: 528_000, 2007: 384_000}))
    assert error.code == "individual_account_mismatch"


def test_a_sheet_that_states_no_average_or_booking_is_checked_on_its_figures_alone() -> None:
    ENTERPRISE.validate_sheet(sheet(YEARS, 10))
    assert sheet(YEARS, 10).pooled_by_year[0] == YearLine(2004, 4_800_000, 576_000)
