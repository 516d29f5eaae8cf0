"""Value objects every protocol shares: region codes, case numbers, scanned documents (identity
numbers: `domain.identities`; money and months: `domain.amounts`; both re-exported here).

Why value objects: a malformed region code or ID number caught at the edge never reaches a
stream, where it could not be edited any more ("corrections are new events"). Every constructor
validates and raises `InvalidValue` with a message that says what was wrong; nothing is
silently normalised into something else.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

import annotated_types

# Money and months live in `domain.amounts`; every name stays importable from here.
from domain.amounts import (  # noqa: F401
    MAX_FEN,
    Fen,
    FenDelta,
    Money,
    MoneyDelta,
    Months,
)

# Identity numbers live in `domain.identities`; every name stays importable from here.
from domain.identities import (  # noqa: F401
    MASKED_ID,
    PERSON_KEY,
    CitizenId,
    CreditCode,
    check_person,
    shown,
)
from domain.kernel import InvalidValue
from domain.payloads import Rule
from domain.uuids import uuid5

# --------------------------------------------------------------------------- region codes

#: GB/T 2260 province prefixes (first two digits) in use: 华北, 东北, 华东, 中南, 西南, 西北.
_PROVINCE_PREFIXES = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66)]
)

#: Names of the codes this project talks about (reference/domain.md §4); others have name "".
_REGION_NAMES: dict[str, str] = {
    "110000": "北京市",
    "120000": "天津市",
    "130000": "河北省",
    "130700": "张家口市",
    "140000": "山西省",
    "140200": "大同市",
    "150000": "内蒙古自治区",
    "150100": "呼和浩特市",
    "150200": "包头市",
    "150600": "鄂尔多斯市",
    "150900": "乌兰察布市",
    "152900": "阿拉善盟",
    "610000": "陕西省",
    "610800": "榆林市",
    "640000": "宁夏回族自治区",
    "640100": "银川市",
}

RegionLevel = Literal["province", "prefecture", "county"]


#: Region codes parsed from strings, at most `_PARSED_LIMIT` (there are ~3,000 real ones).
_PARSED: dict[tuple[type, str], RegionCode] = {}
_PARSED_LIMIT = 8192


@dataclass(frozen=True, order=True)
class RegionCode:
    """A GB/T 2260 division code: 2 digits province, 2 prefecture, 2 county.

    Well-formed codes we have no name for are accepted (the nation has ~3,000 of them and the
    list changes yearly); the province prefix must be a real one, so typos like "990600" fail.
    `str()` is the six digits, which is what events and subjects carry.
    """

    code: str

    def __post_init__(self) -> None:
        code = self.code
        if not isinstance(code, str) or not re.fullmatch(r"[0-9]{6}", code):
            raise InvalidValue(f"region code must be six digits (GB/T 2260), got {shown(code)}")
        if int(code[:2]) not in _PROVINCE_PREFIXES:
            raise InvalidValue(f"region code {code}: {code[:2]} is not a GB/T 2260 province prefix")
        if code[2:4] == "00" and code[4:] != "00":
            raise InvalidValue(f"region code {code}: a county code needs a prefecture part")

    @classmethod
    def parse(cls, value: str | int) -> RegionCode:
        """The code of `value`; the same few codes arrive with every message, so a parsed
        string is remembered (a value object: the same code whenever it is asked for)."""
        if type(value) is str and (known := _PARSED.get((cls, value))) is not None:
            return known
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InvalidValue(f"region code must be a string or an integer, got {shown(value)}")
        if isinstance(value, int) and not 0 <= value < 1_000_000:  # its text: not six digits
            raise InvalidValue(f"region code must be six digits (GB/T 2260), got {shown(value)}")
        code = cls(str(value).strip())
        if type(value) is str and len(_PARSED) < _PARSED_LIMIT:
            _PARSED[(cls, value)] = code
        return code

    def __str__(self) -> str:
        return self.code

    @property
    def level(self) -> RegionLevel:
        if self.code.endswith("0000"):
            return "province"
        if self.code.endswith("00"):
            return "prefecture"
        return "county"

    @property
    def province(self) -> RegionCode:
        return RegionCode(self.code[:2] + "0000")

    @property
    def prefecture(self) -> RegionCode | None:
        """The prefecture-level code containing this one; None for a province."""
        return None if self.level == "province" else RegionCode(self.code[:4] + "00")

    @property
    def name(self) -> str:
        return _REGION_NAMES.get(self.code, "")


def _region_exists(value: str) -> None:
    RegionCode(value)


#: A region code in a payload field: six digits of a GB/T 2260 code that can exist (its province
#: prefix is real, a county has a prefecture part); anything else is refused `invalid_region`.
Region = Annotated[str, annotated_types.Len(6, 6), Rule("invalid_region", _region_exists)]


#: The plan's named pilots (内政办发〔2020〕43号): 鄂尔多斯—榆林, 阿拉善—银川, 乌兰察布—大同—张家口.
PILOT_PAIRS: tuple[tuple[RegionCode, ...], ...] = (
    (RegionCode("150600"), RegionCode("610800")),
    (RegionCode("152900"), RegionCode("640100")),
    (RegionCode("150900"), RegionCode("140200"), RegionCode("130700")),
)
#: Every pilot region plus 呼和浩特, the autonomous region's capital.
PILOT_REGIONS: tuple[RegionCode, ...] = (
    *(code for group in PILOT_PAIRS for code in group),
    RegionCode("150100"),
)

# --------------------------------------------------------------------------- case numbers

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SERIAL_LENGTH = 10
_SERIAL_BITS = 5 * _SERIAL_LENGTH
#: Namespace of every case id: uuid5 over the case number, so any node derives the same id.
CASE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:tongban:case-number")
_CASE_NUMBER = re.compile(r"([0-9]{6})-([0-9]{8})-([0-9A-Z]{10})")
_SERIAL = re.compile(f"[{_CROCKFORD}]{{{_SERIAL_LENGTH}}}")


@dataclass(frozen=True)
class CaseNumber:
    """办件编号 "{region}-{yyyymmdd}-{serial}", unique without coordination between nodes.

    The region and the accepting region's local date make it readable at a window; the serial
    is 50 bits of an injected UUID (its low bits, which are random in UUID v4 and v7), written in
    Crockford base32 so it has no I/L/O/U to misread. Collisions need the same region, the same
    day and the same 50 random bits. `case_id` is derived, never drawn, so every region computes
    the same id from the number alone.
    """

    region: RegionCode
    date: dt.date
    serial: str

    def __post_init__(self) -> None:
        if not isinstance(self.region, RegionCode):
            raise InvalidValue(
                f"case number region must be a RegionCode, got {shown(self.region)}")
        if isinstance(self.date, dt.datetime) or not isinstance(self.date, dt.date):
            raise InvalidValue(f"case number date must be a local date, got {shown(self.date)}")
        if not isinstance(self.serial, str) or _SERIAL.fullmatch(self.serial) is None:
            raise InvalidValue(
                f"case number serial must be {_SERIAL_LENGTH} Crockford base32 characters "
                f"(0-9, A-Z without I, L, O, U), got {shown(self.serial)}"
            )

    @classmethod
    def new(cls, region: RegionCode, local_date: dt.date, id_: uuid.UUID) -> CaseNumber:
        """A new number for a case accepted in `region` on `local_date` (Asia/Shanghai)."""
        if not isinstance(id_, uuid.UUID):
            raise InvalidValue(f"case number needs an injected UUID, got {shown(id_)}")
        bits = id_.int & ((1 << _SERIAL_BITS) - 1)
        serial = "".join(
            _CROCKFORD[(bits >> shift) & 0x1F] for shift in range(_SERIAL_BITS - 5, -1, -5)
        )
        return cls(region, local_date, serial)

    @classmethod
    def parse(cls, value: str) -> CaseNumber:
        """Read a case number; lower case is accepted (people type them) and normalised.

        The protocols read a side's number from its text at every fold and summary (its id, its
        accepting region), so a text read before gives the number read then: a value object,
        equal to a fresh parse (`_parsed`)."""
        if type(value) is str and cls is CaseNumber:
            return _parsed(value)
        return cls._parse(value)

    @classmethod
    def _parse(cls, value: str) -> CaseNumber:
        if not isinstance(value, str):
            raise InvalidValue(f"case number must be a string, got {shown(value)}")
        match = _CASE_NUMBER.fullmatch(value.strip().upper())
        if match is None:
            raise InvalidValue(
                f"case number must look like 150600-20250102-0123456789, got {shown(value)}"
            )
        region, day, serial = match.groups()
        try:
            date = dt.date(int(day[:4]), int(day[4:6]), int(day[6:]))
        except ValueError:
            raise InvalidValue(
                f"case number {shown(value)}: {day} is not a calendar date") from None
        return cls(RegionCode(region), date, serial)

    def __str__(self) -> str:
        return f"{self.region}-{self.date:%Y%m%d}-{self.serial}"

    @property
    def case_id(self) -> uuid.UUID:
        """The case's id everywhere (streams, messages, views): uuid5 over the number."""
        return _case_id(self)

    def side_id(self, region: RegionCode) -> uuid.UUID:
        """Aggregate id of `region`'s side of this case; only that region writes it."""
        if not isinstance(region, RegionCode):
            raise InvalidValue(f"side_id needs a RegionCode, got {shown(region)}")
        return uuid5(self.case_id, str(region))


@functools.lru_cache(maxsize=4096)
def _parsed(value: str) -> CaseNumber:
    """`CaseNumber.parse` of a text, memoised (a refused text raises each time: `lru_cache`
    keeps no exception). ~5 µs a parse — regex, date, region, a validated `__init__` — asked
    for ~20 times per case by the folds (docs/performance.md, DOMAIN)."""
    return CaseNumber._parse(value)


@functools.lru_cache(maxsize=4096)
def case_id_of(case_number: str) -> str:
    """The case id's text of a case number's text (`str(CaseNumber.parse(n).case_id)`),
    memoised: the household and casework states answer `case_id` from their number's text.

    Text only (an unhashable argument raises `TypeError` in the memo, before any check): every
    caller holds a number the payload rules decoded as `str`, so a crafted list or object is
    refused at the edge, naming its field (tests/unit/test_case_number_types.py)."""
    return str(CaseNumber.parse(case_number).case_id)


@functools.lru_cache(maxsize=4096)
def _case_id(number: CaseNumber) -> uuid.UUID:
    """`CaseNumber.case_id`, memoised: the protocols' folds and summaries ask a case's number for
    its id at every event (a uuid5 and the number's text, ~4 µs; docs/performance.md, NODEPATH).
    Equal numbers have equal text, so the memo's key is the number itself."""
    return uuid5(CASE_NAMESPACE, str(number))


# --------------------------------------------------------------------------- materials

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class MaterialRef:
    """A scanned document, by content: events carry this, the bytes stay in the region's blob
    store, and a counterpart that fetches them checks `sha256` before trusting them."""

    doc_id: str
    sha256: str
    media_type: str
    size: int
    title: str
    kind: str

    def __post_init__(self) -> None:
        for name in ("doc_id", "sha256", "media_type", "title", "kind"):
            if not isinstance(getattr(self, name), str):
                raise InvalidValue(
                    f"material {name} must be a string, got {shown(getattr(self, name))}")
        if not _SHA256_HEX.fullmatch(self.sha256):
            raise InvalidValue(
                f"material sha256 must be 64 lowercase hex characters, got {shown(self.sha256)}"
            )
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise InvalidValue(
                f"material size must be a non-negative integer of bytes, got {shown(self.size)}"
            )
