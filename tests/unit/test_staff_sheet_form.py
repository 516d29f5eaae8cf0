"""The staff's info-sheet form carries the whole 信息表 (issue 15 item 4, issue 13): the memo lines
that move no money (职业年金 记账, the 清退 refund) and the per-year pooled lines both sides
compare year by year. Before, the form forbade both (`extra="forbid"`), so an origin's staff
could not issue a 机关事业 sheet with its 记账 part, nor state the years the destination checks.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from api.staff_casework import (
    Sheet,
    SheetCorrection,
    SheetLine,
    SheetYear,
    SheetYearLine,
    info_sheet_of,
)
from domain.protocols import pension
from domain.protocols.transfer_events import Component, ContributionYear, InfoSheet, YearLine

YEARS = [ContributionYear(2019, 12, 600_000), ContributionYear(2020, 12, 650_000)]


def form(sheet: InfoSheet) -> dict[str, object]:
    """The sheet as staff send it (JSON: lists of objects)."""
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(sheet).items()}


def test_the_form_gives_the_domain_the_sheet_with_its_per_year_pooled_lines() -> None:
    sheet = pension.transfer_amount(120_000, YEARS)
    assert sheet.pooled_by_year  # the domain states them for an enterprise pension
    assert info_sheet_of(Sheet.model_validate(form(sheet))) == sheet


def test_the_form_gives_the_domain_the_memo_lines_that_move_no_money() -> None:
    sheet = dataclasses.replace(pension.transfer_amount(120_000, YEARS),
                                memo=(Component("occupational_annuity_book", 50_000),))
    got = info_sheet_of(SheetCorrection.model_validate({**form(sheet), "reason": "补记记账部分"}))
    assert got.memo == sheet.memo and got.amount_fen == sheet.amount_fen


def test_a_per_year_line_out_of_range_names_its_field() -> None:
    with pytest.raises(ValidationError) as raised:
        Sheet.model_validate({"months": 12, "components": [],
                              "pooled_by_year": [{"year": 2019, "wage_fen": -1,
                                                  "pooled_fen": 0}]})
    assert raised.value.errors()[0]["loc"] == ("pooled_by_year", 0, "wage_fen")


#: Each staff form model and the domain value it is read into (`info_sheet_of`).
FORM_OF = [(Sheet, InfoSheet), (SheetLine, Component), (SheetYear, ContributionYear),
           (SheetYearLine, YearLine)]


@pytest.mark.parametrize(("model", "value"), FORM_OF, ids=lambda t: t.__name__)
def test_each_form_model_has_exactly_the_fields_and_defaults_of_its_domain_value(
        model: type[BaseModel], value: type[Any]) -> None:
    """The forms copy the domain's fields by hand (they add the HTTP limits and descriptions),
    so a field the domain gains must reach the form too: PENSION's YearLine gained
    average_wage_fen and account_fen while SheetYearLine forbade extra fields, and the fresh-
    clone CI got a 422 for a sheet the domain itself had built (fixed in f18f851)."""
    assert all(f.default_factory is dataclasses.MISSING for f in dataclasses.fields(value))
    domain = {f.name: None if f.default is dataclasses.MISSING else f.default
              for f in dataclasses.fields(value)}
    form_fields = {name: None if f.is_required() else f.get_default(call_default_factory=True)
                   for name, f in model.model_fields.items()}
    assert {k: list(v) if isinstance(v, tuple) else v for k, v in domain.items()} == form_fields


def test_every_field_of_a_sheet_survives_the_form() -> None:
    """A sheet with every field set away from its default reads back equal: a field the form
    takes but `info_sheet_of` drops (or passes to the wrong place) shows here."""
    line = YearLine(**{f.name: 1_000 + i for i, f in enumerate(dataclasses.fields(YearLine))
                       if f.name != "year"}, year=2019)
    sheet = InfoSheet(months=12, components=(Component("pooled", 7),),
                      years=(ContributionYear(2019, 12, 600_000, "deemed"),),
                      memo=(Component("refund_to_person", 3),), pooled_by_year=(line,))
    assert info_sheet_of(Sheet.model_validate(form(sheet))) == sheet
