"""Identity numbers: the citizen ID (居民身份证号码), its keyed hash and masked form, and the
unified social credit code (统一社会信用代码).

Why a module of their own: the citizen ID's checks are stdnum's rules step by step on the compact
number (a hot path at admission, measured in docs/performance.md, NODECPU), which is most of the
module; money, months and case numbers in `domain.values` have nothing to do with it.
`domain.values` re-exports every name, so its importers did not move.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Final

from stdnum.cn import ric, uscc
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from domain.kernel import InvalidValue

#: How much of a refused value a message shows: enough to recognise it, never a flood echoed
#: back in a 4xx answer.
SHOWN: Final = 100


def shown(value: object) -> str:
    """`repr(value)` for a refusal's message, cut at `SHOWN` characters. Why not `!r`: a value
    class's caller may hand it anything, and the message must not be what fails — the `repr`
    of an int beyond Python's int-to-text limit (4,300 digits) raises ValueError, so it is
    shown by its size."""
    try:
        text = repr(value)
    except ValueError:
        size = value.bit_length() if isinstance(value, int) else 0
        return f"<{type(value).__name__} of {size} bits>"
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


def _stdnum_message(kind: str, value: object, exc: ValidationError) -> str:
    return f"{kind} {shown(value)} is invalid: {exc}"


#: The body of an ID number (before its check digit): `fullmatch`, no line feed let through.
_SEVENTEEN_DIGITS: Final = re.compile(r"[0-9]{17}")
#: A credit code's first eight characters (registering authority, kind, division code).
_EIGHT_DIGITS: Final = re.compile(r"[0-9]{8}")


def _validate_ric(number: str) -> None:
    """`stdnum.cn.ric.validate` of a number already compact, step for step: the same checks in
    the same order, raising the same exceptions. Why not `validate` itself: it compacts the
    number five times (~3 µs each) and looks the birth place up in stdnum's place table at
    every call (`numdb` walks it: ~40 µs), ~45 µs a number; every opening command's applicant
    goes through here (docs/performance.md, NODECPU). The place's verdict depends only on the
    place code and the birth year, so it is remembered by them (`_birth_place_known`).
    One check is stricter than stdnum's: its `isdigits` is `re.match('^[0-9]*$')`, whose `$`
    also matches before a final line feed, and `int(…, 13)` ignores it, so '…100\\n2' passed
    as a number (nobody's keyed hash, a masked form `check_person` refuses): here the 17
    characters before the check digit are ASCII digits, all of them."""
    if len(number) != 18:
        raise InvalidLength()
    if not _SEVENTEEN_DIGITS.fullmatch(number[:-1]):
        raise InvalidFormat()
    if number[-1] != ric.calc_check_digit(number):
        raise InvalidChecksum()
    try:  # as `ric.get_birth_date`
        year = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14])).year
    except ValueError:
        raise InvalidComponent() from None
    if not _birth_place_known(number[:6], year):
        raise InvalidComponent()


@functools.lru_cache(maxsize=16384)
def _birth_place_known(place: str, year: int) -> bool:
    """Whether `ric.get_birth_place` accepts a number of this place code born in this year (it
    reads nothing else of the number: the code, and the birth date's year). A code stdnum
    knows only the province of (330001) makes it raise `KeyError` ('county'): no birth place
    either, refused like an unknown one rather than escaping as an internal error."""
    try:
        ric.get_birth_place(f"{place}{year:04d}01010000")
    except (InvalidComponent, KeyError):
        return False
    return True


@dataclass(frozen=True)
class CitizenId:
    """居民身份证号码 (GB 11643), validated by `stdnum.cn.ric` (check digit, birth date, place).

    The plaintext never appears in `repr` (which shows the masked form), so a logged state or
    a failed assertion does not leak it; registers use `keyed_hash`, never the number.
    """

    number: str = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.number, str):
            raise InvalidValue(f"citizen id must be a string, got {type(self.number).__name__}")
        if ric.compact(self.number) != self.number:
            raise InvalidValue(
                "citizen id must be 18 characters without separators; use CitizenId.parse"
            )
        try:
            _validate_ric(self.number)
        except ValidationError as exc:
            raise InvalidValue(_stdnum_message("citizen id", self.masked, exc)) from None

    @classmethod
    def parse(cls, value: str) -> CitizenId:
        if not isinstance(value, str):
            raise InvalidValue(f"citizen id must be a string, got {type(value).__name__}")
        return cls(ric.compact(value))

    def __repr__(self) -> str:
        return f"CitizenId({self.masked!r})"

    def __str__(self) -> str:
        return self.masked

    @property
    def masked(self) -> str:
        """First four and last four characters, e.g. "1506**********123X"."""
        return self.number[:4] + "*" * (len(self.number) - 8) + self.number[-4:]

    @property
    def birth_date(self) -> dt.date:
        return ric.get_birth_date(self.number)

    @property
    def region(self) -> str:
        """The division code where the number was first issued — possibly a code abolished
        since (152701 东胜市 became 150602 in 2001), so a plain string, not a `RegionCode`."""
        return self.number[:6]

    def keyed_hash(self, key: bytes) -> str:
        """HMAC-SHA256 (hex) of the number: the per-person register key, no plaintext stored."""
        if not isinstance(key, bytes) or not key:
            raise InvalidValue("keyed_hash needs a non-empty secret key (bytes)")
        return hmac.new(key, self.number.encode("ascii"), hashlib.sha256).hexdigest()


#: What a person key is: the 64 hex digits of `CitizenId.keyed_hash`, never an ID number.
PERSON_KEY = re.compile(r"[0-9a-f]{64}")
#: What a masked ID number is: `CitizenId.masked` (four characters, ten stars, four).
MASKED_ID = re.compile(r"[0-9]{4}\*{10}[0-9]{3}[0-9X]")


def check_person(person_key: str, applicant_masked: str) -> None:
    """Refuse anything but a keyed hash and a masked number (`invalid_person_key`): the node
    derives both from the ID number, so a plaintext 身份证号 can never stand in for either."""
    if not isinstance(person_key, str) or not PERSON_KEY.fullmatch(person_key):
        raise InvalidValue("the person key is the keyed hash of the ID number (64 hex digits); "
                           "the node derives it", code="invalid_person_key", field="person_key")
    if applicant_masked and not (isinstance(applicant_masked, str)
                                 and MASKED_ID.fullmatch(applicant_masked)):
        raise InvalidValue("the masked ID number shows its first and last four characters only",
                           code="invalid_person_key", field="applicant_masked")


@dataclass(frozen=True)
class CreditCode:
    """统一社会信用代码 (GB 32100), validated by `stdnum.cn.uscc`."""

    code: str

    def __post_init__(self) -> None:
        if not isinstance(self.code, str):
            raise InvalidValue(f"credit code must be a string, got {type(self.code).__name__}")
        if uscc.compact(self.code) != self.code:
            raise InvalidValue(
                "credit code must be 18 characters without separators; use CreditCode.parse"
            )
        try:
            # stdnum's `isdigits` lets a line feed end the first eight ('9111000\n…': its `$`
            # matches before it), and its check-digit lookup then raised a bare ValueError.
            if not _EIGHT_DIGITS.fullmatch(self.code[:8]):
                raise InvalidFormat()
            uscc.validate(self.code)
        except ValidationError as exc:
            raise InvalidValue(_stdnum_message("credit code", self.code, exc)) from None

    @classmethod
    def parse(cls, value: str) -> CreditCode:
        if not isinstance(value, str):
            raise InvalidValue(f"credit code must be a string, got {type(value).__name__}")
        return cls(uscc.compact(value))

    def __str__(self) -> str:
        return self.code

    @property
    def registration_region(self) -> str:
        """Characters 3–8: the division code of the registering authority."""
        return self.code[2:8]
