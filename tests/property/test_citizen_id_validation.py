"""`CitizenId` refuses exactly what `stdnum.cn.ric.validate` refuses, with the same complaint.

`domain.values` validates a compact number step by step, with the birth place's verdict kept
per place code and birth year, instead of calling `ric.validate` (which compacts the number five
times and walks stdnum's place table at every call: docs/performance.md, NODECPU). The library
stays the reference: numbers near valid ones (every place code stdnum knows and some it does
not, birth years around the codes' validity ranges, dates that do not exist, wrong check digits,
non-digits, wrong lengths), each judged both ways — except where stdnum fails itself: a place
code it knows only the province of makes it raise `KeyError`, which `CitizenId` refuses as an
unknown place; and a line feed in place of the 17th digit, which stdnum's `isdigits` lets
through (tests/unit/test_values.py), `CitizenId` refuses as a format error.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent, ValidationError

from domain.kernel import InvalidValue
from domain.values import CitizenId

KNOWN = ["110105", "152921", "152701", "150602", "440300", "330102", "510104", "650102",
         "999999", "000000", "110000", "710000", "820000"]


def _with_check(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


@st.composite
def numbers(draw: st.DrawFn) -> str:
    place = draw(st.sampled_from(KNOWN) | st.from_regex(r"[0-9]{6}", fullmatch=True))
    year = draw(st.integers(0, 2100))
    month = draw(st.integers(0, 13))
    day = draw(st.integers(0, 32))
    serial = draw(st.integers(0, 999))
    body = f"{place}{year:04d}{month:02d}{day:02d}{serial:03d}"[:17]
    number = _with_check(body)
    mutation = draw(st.sampled_from(["none", "none", "check", "letter", "short", "long"]))
    if mutation == "check":
        number = number[:-1] + draw(st.sampled_from("0123456789X"))
    elif mutation == "letter":
        at = draw(st.integers(0, 16))
        number = number[:at] + draw(st.sampled_from("AX")) + number[at + 1:]
    elif mutation == "short":
        number = number[: draw(st.integers(0, 17))]
    elif mutation == "long":
        number = number + draw(st.sampled_from("0123456789X"))
    return number


def _reference(number: str) -> str:
    """What the library says: "" for valid, else its exception's class and message."""
    try:
        ric.validate(number)
    except ValidationError as exc:
        return f"{type(exc).__name__}: {exc}"
    except KeyError:  # a place code naming a province but no county: no birth place
        return f"InvalidComponent: {InvalidComponent()}"
    return ""


def _ours(number: str) -> str:
    try:
        CitizenId(number)
    except InvalidValue as exc:
        return str(exc)
    except Exception as exc:
        return f"raised {type(exc).__name__}"
    return ""


@settings(max_examples=1500, deadline=None)
@given(numbers())
def test_a_citizen_id_is_refused_exactly_when_stdnum_refuses_it_and_with_its_complaint(
        number: str) -> None:
    expected = _reference(number)
    got = _ours(number)
    if not expected:
        assert got == expected
    else:
        masked = number[:4] + "*" * (len(number) - 8) + number[-4:]
        message = expected.split(": ", 1)[1]
        assert got == f"citizen id {masked!r} is invalid: {message}"


@pytest.mark.parametrize("year", [1900, 1949, 1983, 1984, 2000, 2001, 2020])
def test_a_place_code_valid_only_for_some_years_is_judged_by_the_birth_year(year: int) -> None:
    """152701 东胜市 was abolished in 2001: its verdict depends on the year (kept per year)."""
    for place in ("152701", "150602", "110105"):
        number = _with_check(f"{place}{year:04d}0615123")
        assert (_ours(number) == "") == (_reference(number) == "")
