"""Hostile input to every value class of `domain.identities` and `domain.values`: a line feed
inside, digits of other scripts, overlong text, None, a number beyond any bound — each is
refused with the project's own `InvalidValue` (the API answers it as a 4xx problem naming the
field), never a bare ValueError, KeyError or TypeError from a library underneath, which an HTTP
handler would answer with a 500.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest

from domain.identities import CitizenId, CreditCode, check_person
from domain.kernel import InvalidValue
from domain.values import (
    CaseNumber,
    MaterialRef,
    Money,
    MoneyDelta,
    Months,
    RegionCode,
)

ORDOS = RegionCode("150600")
HUGE = 10**5000  # beyond Python's int-to-text limit (4,300 digits): its repr raises
HOSTILE: list[object] = [
    "9111000\n00037341XA", "11010519491231002\nX", "\n", "１２３", "١٢٣٤٥٦", "𝟏𝟐𝟑", "\x00",
    "x" * 10_000, "1" * 5_000, "", None, 1.5, b"150600", ["150600"], {"a": 1}, True, -1,
    Decimal("NaN"), Decimal("sNaN"), Decimal("1e5000"),
]
CLASSES: dict[str, Callable[[object], object]] = {
    "CitizenId": CitizenId, "CitizenId.parse": CitizenId.parse,  # type: ignore[dict-item]
    "CreditCode": CreditCode, "CreditCode.parse": CreditCode.parse,  # type: ignore[dict-item]
    "check_person(person_key)": lambda v: check_person(v, ""),  # type: ignore[arg-type]
    "check_person(masked)": lambda v: check_person("0" * 64, v),  # type: ignore[arg-type]
    "RegionCode": RegionCode, "RegionCode.parse": RegionCode.parse,  # type: ignore[dict-item]
    "CaseNumber.parse": CaseNumber.parse,  # type: ignore[dict-item]
    "CaseNumber(serial)": lambda v: CaseNumber(ORDOS, dt.date(2026, 3, 2), v),  # type: ignore[arg-type]
    "CaseNumber(date)": lambda v: CaseNumber(ORDOS, v, "0123456789"),  # type: ignore[arg-type]
    "CaseNumber.new": lambda v: CaseNumber.new(ORDOS, dt.date(2026, 3, 2), v),  # type: ignore[arg-type]
    "Money": Money, "Money.yuan": Money.yuan,  # type: ignore[dict-item]
    "MoneyDelta": MoneyDelta, "MoneyDelta.yuan": MoneyDelta.yuan,  # type: ignore[dict-item]
    "Months": Months,  # type: ignore[dict-item]
    "MaterialRef(sha256)": lambda v: MaterialRef("d", v, "a/b", 1, "t", "k"),  # type: ignore[arg-type]
    "MaterialRef(size)": lambda v: MaterialRef("d", "0" * 64, "a/b", v, "t", "k"),  # type: ignore[arg-type]
}


def refused_or_taken(make: Callable[[object], object], value: object) -> None:
    """`make(value)` is refused with `InvalidValue` in a message of a few lines (it is echoed
    in a 4xx answer), or it is a value (a parse may normalise what people type: spaces around,
    full-width digits); nothing else escapes."""
    try:
        make(value)
    except InvalidValue as exc:
        assert len(str(exc)) < 300


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_hostile_input_is_refused_with_the_projects_error_never_a_bare_one(name: str) -> None:
    for value in HOSTILE:
        refused_or_taken(CLASSES[name], value)


def test_a_credit_code_with_a_line_feed_inside_is_an_invalid_value() -> None:
    """stdnum's check-digit lookup (`alphabet.index`) raised its bare ValueError for it."""
    for text in ("9111000\n00037341XA", "91110000000037341\nA"):
        with pytest.raises(InvalidValue, match="credit code"):
            CreditCode(text)
        with pytest.raises(InvalidValue, match="credit code"):
            CreditCode.parse(text)


def test_an_amount_of_thousands_of_digits_is_beyond_the_largest_amount() -> None:
    """The text passes the yuan pattern; turning it into fen hit Python's int-to-text limit."""
    for make in (Money.yuan, MoneyDelta.yuan):
        with pytest.raises(InvalidValue, match="largest amount") as refused:
            make("1" * 5_000)
        assert refused.value.code == "invalid_amount"
        assert len(str(refused.value)) < 300


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_a_number_too_large_to_print_is_refused_and_the_message_stays_short(name: str) -> None:
    """Messages show the refused value; a number past Python's int-to-text limit made the
    message itself raise ValueError. (JSON cannot carry one — the parser refuses it first — but
    a value class does not rely on where its caller got the value.)"""
    for value in (HUGE, -HUGE):
        try:
            CLASSES[name](value)
        except InvalidValue as exc:
            assert len(str(exc)) < 300


def test_a_uuid_is_what_a_case_number_is_drawn_from() -> None:
    with pytest.raises(InvalidValue):
        CaseNumber.new(ORDOS, dt.date(2026, 3, 2), uuid.UUID(int=1).int)  # type: ignore[arg-type]
