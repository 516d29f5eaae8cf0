"""Value objects refuse malformed input at the edge; amounts are exact; IDs never leak."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest

from domain.kernel import InvalidValue, from_payload, to_payload
from domain.values import (
    PILOT_PAIRS,
    PILOT_REGIONS,
    CaseNumber,
    CitizenId,
    CreditCode,
    MaterialRef,
    Money,
    MoneyDelta,
    Months,
    RegionCode,
)

# The example number printed in GB 11643 itself (a 北京 东城 number with check character X).
STANDARD_EXAMPLE_ID = "11010519491231002X"
ORDOS = RegionCode("150600")
YULIN = RegionCode("610800")

# --------------------------------------------------------------------------- region codes


@pytest.mark.parametrize(
    ("code", "name", "level"),
    [
        ("150600", "鄂尔多斯市", "prefecture"),
        ("610800", "榆林市", "prefecture"),
        ("152900", "阿拉善盟", "prefecture"),
        ("640100", "银川市", "prefecture"),
        ("150900", "乌兰察布市", "prefecture"),
        ("140200", "大同市", "prefecture"),
        ("130700", "张家口市", "prefecture"),
        ("150100", "呼和浩特市", "prefecture"),
        ("150200", "包头市", "prefecture"),
        ("150000", "内蒙古自治区", "province"),
        ("610000", "陕西省", "province"),
        ("640000", "宁夏回族自治区", "province"),
        ("140000", "山西省", "province"),
        ("130000", "河北省", "province"),
        ("110000", "北京市", "province"),
        ("120000", "天津市", "province"),
    ],
)
def test_known_region_codes_have_their_names_and_levels(code: str, name: str, level: str) -> None:
    region = RegionCode.parse(code)
    assert (region.name, region.level, str(region)) == (name, level, code)


def test_region_code_knows_its_province_and_prefecture() -> None:
    county = RegionCode("150602")  # 东胜区, under 鄂尔多斯
    assert county.level == "county"
    assert county.prefecture == ORDOS
    assert county.province == RegionCode("150000")
    assert county.province.name == "内蒙古自治区"
    assert RegionCode("150000").prefecture is None
    assert ORDOS.prefecture == ORDOS


def test_well_formed_unknown_region_codes_are_accepted_without_a_name() -> None:
    assert RegionCode.parse(" 330100 ").name == ""
    assert RegionCode.parse(650100) == RegionCode("650100")


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("15060", "six digits"),
        ("1506000", "six digits"),
        ("15060a", "six digits"),
        ("990600", "province prefix"),  # no province 99
        ("160600", "province prefix"),  # the 1x range ends at 15
        ("470100", "province prefix"),  # the 4x range ends at 46
        ("150009", "prefecture part"),  # a county must sit under a prefecture
    ],
)
def test_malformed_region_codes_are_refused_with_the_reason(value: str, complaint: str) -> None:
    with pytest.raises(InvalidValue, match=complaint):
        RegionCode.parse(value)


def test_region_code_refuses_non_text_input() -> None:
    with pytest.raises(InvalidValue):
        RegionCode.parse(True)
    with pytest.raises(InvalidValue):
        RegionCode.parse(150600.0)  # type: ignore[arg-type]


def test_pilot_pairs_are_the_plans_three_groups_and_pilot_regions_add_hohhot() -> None:
    assert [[str(r) for r in group] for group in PILOT_PAIRS] == [
        ["150600", "610800"],
        ["152900", "640100"],
        ["150900", "140200", "130700"],
    ]
    assert {str(r) for r in PILOT_REGIONS} == {
        "150600",
        "610800",
        "152900",
        "640100",
        "150900",
        "140200",
        "130700",
        "150100",
    }
    assert all(r.name for r in PILOT_REGIONS)


# --------------------------------------------------------------------------- case numbers

FIXED_ID = uuid.UUID("0190e2f4-5b6c-7d8e-9fa0-b1c2d3e4f506")


def test_case_number_carries_region_and_local_date_and_a_serial_from_the_injected_uuid() -> None:
    number = CaseNumber.new(ORDOS, dt.date(2025, 10, 9), FIXED_ID)
    text = str(number)
    assert re.fullmatch(r"150600-20251009-[0-9ABCDEFGHJKMNPQRSTVWXYZ]{10}", text)
    assert CaseNumber.new(ORDOS, dt.date(2025, 10, 9), FIXED_ID) == number  # no hidden randomness


def test_case_number_serials_differ_when_the_random_bits_of_the_uuid_differ() -> None:
    serials = {
        CaseNumber.new(ORDOS, dt.date(2025, 10, 9), uuid.UUID(int=FIXED_ID.int ^ (1 << bit))).serial
        for bit in range(50)
    }
    assert len(serials) == 50


def test_case_number_parses_back_to_itself_even_when_typed_in_lower_case() -> None:
    number = CaseNumber.new(YULIN, dt.date(2026, 2, 14), FIXED_ID)
    assert CaseNumber.parse(str(number)) == number
    assert CaseNumber.parse(f"  {str(number).lower()} ") == number


def test_case_id_is_derived_from_the_number_so_every_region_computes_the_same() -> None:
    number = CaseNumber.new(ORDOS, dt.date(2025, 10, 9), FIXED_ID)
    other = CaseNumber.new(ORDOS, dt.date(2025, 10, 10), FIXED_ID)
    assert CaseNumber.parse(str(number)).case_id == number.case_id
    assert number.case_id != other.case_id
    assert number.case_id.version == 5


def test_each_region_has_its_own_side_id_within_a_case() -> None:
    number = CaseNumber.new(ORDOS, dt.date(2025, 10, 9), FIXED_ID)
    other = CaseNumber.new(ORDOS, dt.date(2025, 10, 10), FIXED_ID)
    sides = {number.side_id(ORDOS), number.side_id(YULIN), other.side_id(ORDOS)}
    assert len(sides) == 3
    assert number.side_id(ORDOS) == CaseNumber.parse(str(number)).side_id(RegionCode("150600"))
    assert number.case_id not in sides


@pytest.mark.parametrize(
    "text",
    [
        "150600-20250230-0123456789",  # 30 February
        "150600-20251009-012345678I",  # I is not Crockford base32
        "150600-20251009-01234567OU",
        "150600-20251009-012345678",  # short serial
        "990600-20251009-0123456789",  # no such province
        "150600/20251009/0123456789",
    ],
)
def test_malformed_case_numbers_are_refused(text: str) -> None:
    with pytest.raises(InvalidValue):
        CaseNumber.parse(text)


def test_case_number_needs_a_local_date_not_an_instant() -> None:
    with pytest.raises(InvalidValue, match="local date"):
        CaseNumber.new(ORDOS, dt.datetime(2025, 10, 9, tzinfo=dt.UTC), FIXED_ID)


# --------------------------------------------------------------------------- identity numbers


def test_citizen_id_with_a_valid_check_digit_is_accepted_and_exposes_birth_date_and_region() -> (
    None
):
    citizen = CitizenId.parse(STANDARD_EXAMPLE_ID.lower())
    assert citizen.number == STANDARD_EXAMPLE_ID
    assert citizen.birth_date == dt.date(1949, 12, 31)
    assert citizen.region == "110105"
    assert citizen.masked == "1101**********002X"


@pytest.mark.parametrize(
    ("number", "complaint"),
    [
        ("110105194912310021", "checksum"),  # last character should be X
        ("11010519491231002", "length"),
        ("1101051949123100AX", "format"),
        ("110105194913310024", "invalid"),  # month 13
    ],
)
def test_citizen_ids_failing_gb_11643_are_refused(number: str, complaint: str) -> None:
    with pytest.raises(InvalidValue, match=complaint):
        CitizenId.parse(number)


def test_a_citizen_id_whose_place_code_names_no_county_is_refused_as_invalid() -> None:
    """330001: 浙江省's prefix, no county under it. The check digit and the birth date are
    right, so only the place is wrong: `invalid_person_id` (422), not an internal error (500)."""
    with pytest.raises(InvalidValue, match="invalid"):
        CitizenId.parse("330001199001011232")


def test_a_citizen_id_with_a_line_feed_in_place_of_a_digit_is_refused() -> None:
    """'1101051949123100\\n2' has a valid check digit by stdnum's arithmetic (int() ignores the
    whitespace) and was accepted: its keyed hash is nobody's, and its masked form
    ('1101**********00\\n2') is one `check_person` refuses (MASKED_ID) where it is carried on."""
    with pytest.raises(InvalidValue, match="format"):
        CitizenId.parse("1101051949123100\n2")
    with pytest.raises(InvalidValue, match="format"):
        CitizenId("1101051949123100\n2")


def test_citizen_id_never_shows_its_plaintext_in_repr_str_or_errors() -> None:
    citizen = CitizenId.parse(STANDARD_EXAMPLE_ID)
    assert STANDARD_EXAMPLE_ID not in repr(citizen)
    assert STANDARD_EXAMPLE_ID not in str(citizen)
    with pytest.raises(InvalidValue) as caught:
        CitizenId.parse("110105194912310021")
    assert "110105194912310021" not in str(caught.value)


def test_keyed_hash_is_stable_per_key_and_reveals_nothing_of_the_number() -> None:
    citizen = CitizenId.parse(STANDARD_EXAMPLE_ID)
    first = citizen.keyed_hash(b"region-150600-register-key")
    assert first == CitizenId.parse(STANDARD_EXAMPLE_ID.lower()).keyed_hash(
        b"region-150600-register-key"
    )
    assert first != citizen.keyed_hash(b"another-key")
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert "19491231" not in first
    with pytest.raises(InvalidValue, match="key"):
        citizen.keyed_hash(b"")


def test_citizen_id_constructor_refuses_uncompacted_input() -> None:
    with pytest.raises(InvalidValue, match="parse"):
        CitizenId("11010519491231002x")


def test_credit_code_is_validated_by_gb_32100() -> None:
    code = CreditCode.parse(" 91110000600037341l ")
    assert str(code) == "91110000600037341L"
    assert code.registration_region == "110000"
    with pytest.raises(InvalidValue, match="credit code"):
        CreditCode.parse("91110000600037341M")


# --------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12.34", 1234),
        ("12.3", 1230),
        ("12", 1200),
        ("0.05", 5),
        ("0", 0),
        ("806420000.00", 80642000000),
    ],
)
def test_yuan_strings_convert_exactly_to_fen(text: str, fen: int) -> None:
    assert Money.yuan(text) == Money(fen)


def test_yuan_from_decimal_and_int_is_exact() -> None:
    assert Money.yuan(Decimal("0.10")) == Money(10)
    assert Money.yuan(7) == Money(700)


@pytest.mark.parametrize("value", ["12.345", "1e3", "-1.00", "12,34", "¥12", "", "1.2.3"])
def test_ambiguous_or_finer_than_fen_yuan_strings_are_refused(value: str) -> None:
    with pytest.raises(InvalidValue):
        Money.yuan(value)


def test_floats_are_refused_because_they_cannot_hold_fen_exactly() -> None:
    with pytest.raises(InvalidValue, match="float"):
        Money.yuan(0.1)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        Money(12.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="more than 2 decimals"):
        Money.yuan(Decimal("0.001"))


def test_money_prints_as_yuan_with_two_decimals() -> None:
    assert str(Money(1234)) == "¥12.34"
    assert str(Money(5)) == "¥0.05"
    assert str(Money(0)) == "¥0.00"


def test_money_adds_compares_and_never_goes_negative() -> None:
    assert Money(1000) + Money(234) == Money(1234)
    assert Money(1234) - Money(234) == Money(1000)
    assert Money(1) < Money(2)
    assert Money.total([Money(1), Money(2), Money(3)]) == Money(6)
    with pytest.raises(InvalidValue, match="negative"):
        Money(100) - Money(101)
    with pytest.raises(InvalidValue, match="MoneyDelta"):
        Money(-1)


def test_signed_differences_are_a_separate_type() -> None:
    delta = Money.yuan("100.00").difference(Money.yuan("100.05"))
    assert delta == MoneyDelta(-5)
    assert str(delta) == "-¥0.05"
    assert MoneyDelta.yuan("-0.05") == delta
    assert -delta == MoneyDelta(5)
    assert (delta + MoneyDelta(5)).is_zero
    assert MoneyDelta(3) - MoneyDelta(5) == MoneyDelta(-2)
    with pytest.raises(TypeError):
        _ = Money(5) + MoneyDelta(5)  # type: ignore[operator]


def test_months_are_non_negative_whole_counts() -> None:
    assert Months(12) + Months(6) == Months(18)
    assert Months(18) - Months(6) == Months(12)
    assert Months(3) < Months(4)
    assert str(Months(12)) == "12 months"
    with pytest.raises(InvalidValue):
        Months(-1)
    with pytest.raises(InvalidValue):
        Months(1) - Months(2)
    with pytest.raises(InvalidValue):
        Months(True)


# --------------------------------------------------------------------------- materials

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def _material(**changes: object) -> MaterialRef:
    fields: dict[str, object] = {
        "doc_id": "doc-1",
        "sha256": SHA,
        "media_type": "application/pdf",
        "size": 20480,
        "title": "基本养老保险参保缴费凭证",
        "kind": "contribution_certificate",
    }
    fields.update(changes)
    return MaterialRef(**fields)  # type: ignore[arg-type]


def test_material_ref_survives_the_event_payload_round_trip() -> None:
    ref = _material()
    assert from_payload(MaterialRef, to_payload(ref)) == ref


@pytest.mark.parametrize(
    "changes",
    [
        {"sha256": SHA.upper()},
        {"sha256": SHA[:-1]},
        {"sha256": SHA[:-1] + "g"},
        {"size": -1},
        {"size": True},
        {"size": "20480"},
        {"title": None},
    ],
)
def test_material_ref_refuses_bad_hashes_and_sizes(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidValue):
        _material(**changes)


def test_an_empty_document_is_a_valid_material() -> None:
    assert _material(size=0).size == 0
