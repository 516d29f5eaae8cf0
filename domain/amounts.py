"""Amounts and periods: money in whole fen (分) and contribution months, every protocol's.

Money has two types on purpose: `Money` is an amount that cannot be negative (what a fund holds,
sends or receives; an overdraft raises), `MoneyDelta` is a signed difference (reconciliation:
"the info sheet says 12.34 more than arrived"). The type says which one a field may hold, so no
`allow_negative` flag has to travel with every amount. Payloads carry whole fen (`Fen`,
`FenDelta`: bounded by `MAX_FEN`), never these objects, so nothing stored names this module.

Why a module of its own: region codes and case numbers (`domain.values`) have nothing to do with
yuan, fen and months; `domain.values` re-exports every name here, so no importer moved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Final

import annotated_types

from domain.identities import shown
from domain.kernel import InvalidValue
from domain.payloads import Rule

# --------------------------------------------------------------------------- money

_YUAN = re.compile(r"[0-9]+(\.[0-9]{1,2})?")
_SIGNED_YUAN = re.compile(r"[+-]?[0-9]+(\.[0-9]{1,2})?")


def _fen_from_yuan(value: str | int | Decimal, *, signed: bool) -> int:
    """Exact yuan → fen; refuses floats and anything finer than a fen (no rounding here)."""
    if isinstance(value, (bool, float)) or not isinstance(value, (str, int, Decimal)):
        raise InvalidValue(
            "amounts in yuan must be given as a decimal string, int or Decimal, not "
            f"{shown(value)} "
            f"({type(value).__name__}); floats cannot hold fen exactly"
        )
    if isinstance(value, str):
        text = value.strip()
        if not (_SIGNED_YUAN if signed else _YUAN).fullmatch(text):
            raise InvalidValue(
                f"amount {shown(value)} must be "
                f"{'an optionally signed' if signed else 'a'} decimal "
                "number of yuan with at most 2 decimals, e.g. '12.34'"
            )
        amount = Decimal(text)
        if amount.adjusted() > 20:  # far past MAX_FEN; thousands of digits would not convert
            raise InvalidValue(f"amount {shown(value)} is beyond the largest amount, "
                               f"{MAX_FEN} fen", code="invalid_amount")
    else:
        amount = Decimal(value)
        if not amount.is_finite():
            raise InvalidValue(f"amount {shown(value)} is not a finite number")
        try:
            if amount != amount.quantize(Decimal("0.01")):
                raise InvalidValue(
                    f"amount {shown(value)} has more than 2 decimals (finer than a fen)")
        except InvalidOperation:
            raise InvalidValue(f"amount {shown(value)} is too large") from None
    fen = int(amount * 100)
    if fen < 0 and not signed:
        raise InvalidValue(
            f"amount {shown(value)} is negative; use MoneyDelta for signed differences")
    return fen


def _format_fen(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}¥{whole}.{part:02d}"


def _check_fen(value: object, kind: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"{kind} is an integer number of fen, got {shown(value)}",
                           code="invalid_amount")
    if abs(value) > MAX_FEN:
        raise InvalidValue(f"{kind} of {shown(value)} fen is beyond the largest amount, "
                           f"{MAX_FEN} fen",
                           code="invalid_amount")
    return value


#: The largest amount anywhere — commands, events, the wire, the stores: 10^15 fen (10 trillion
#: yuan), beyond any fund and well inside a 64-bit integer column and a double's exact integers.
MAX_FEN: Final = 10**15

#: An amount field of a command or an event: whole fen, 0 to `MAX_FEN`; anything else is
#: refused `invalid_amount`, whatever the command (the JSON Schema says the same bounds).
Fen = Annotated[int, annotated_types.Interval(ge=0, le=MAX_FEN), Rule("invalid_amount")]
#: A signed difference of two amounts (reconciliation), within ±`MAX_FEN`.
FenDelta = Annotated[int, annotated_types.Interval(ge=-MAX_FEN, le=MAX_FEN),
                     Rule("invalid_amount")]


@dataclass(frozen=True, order=True)
class Money:
    """A non-negative amount in integer fen (分). `Money.yuan("12.34")` == `Money(1234)`."""

    fen: int

    def __post_init__(self) -> None:
        if _check_fen(self.fen, "Money") < 0:
            raise InvalidValue(f"Money cannot be negative ({self.fen} fen); use MoneyDelta",
                               code="invalid_amount")

    @classmethod
    def yuan(cls, value: str | int | Decimal) -> Money:
        return cls(_fen_from_yuan(value, signed=False))

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    @classmethod
    def total(cls, amounts: list[Money] | tuple[Money, ...]) -> Money:
        return cls(sum(a.fen for a in amounts))

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        """Raises when the result would be negative: taking more than there is is a bug."""
        if not isinstance(other, Money):
            return NotImplemented
        if other.fen > self.fen:
            raise InvalidValue(f"{self} - {other} would be negative; use Money.difference")
        return Money(self.fen - other.fen)

    def difference(self, other: Money) -> MoneyDelta:
        """`self - other` as a signed delta (e.g. info sheet amount minus funds received)."""
        return MoneyDelta(self.fen - other.fen)

    def __str__(self) -> str:
        return _format_fen(self.fen)


@dataclass(frozen=True, order=True)
class MoneyDelta:
    """A signed amount in integer fen: a difference between two `Money`s, never a balance."""

    fen: int

    def __post_init__(self) -> None:
        _check_fen(self.fen, "MoneyDelta")

    @classmethod
    def yuan(cls, value: str | int | Decimal) -> MoneyDelta:
        return cls(_fen_from_yuan(value, signed=True))

    def __add__(self, other: MoneyDelta) -> MoneyDelta:
        if not isinstance(other, MoneyDelta):
            return NotImplemented
        return MoneyDelta(self.fen + other.fen)

    def __sub__(self, other: MoneyDelta) -> MoneyDelta:
        if not isinstance(other, MoneyDelta):
            return NotImplemented
        return MoneyDelta(self.fen - other.fen)

    def __neg__(self) -> MoneyDelta:
        return MoneyDelta(-self.fen)

    @property
    def is_zero(self) -> bool:
        return self.fen == 0

    def __str__(self) -> str:
        return _format_fen(self.fen)


# --------------------------------------------------------------------------- periods


#: The most months a count may state: 100 years, beyond any working life (a pension stint is
#: bounded alike). Why a bound: counts are added — a destination credits its origins' months —
#: and a crafted 2^62 from each of two origins made a sum no 64-bit reader takes back.
MAX_MONTHS: Final = 1200
#: A count of months on a command or an event: 0 to `MAX_MONTHS` (the JSON Schema says the same).
MonthCount = Annotated[int, annotated_types.Interval(ge=0, le=MAX_MONTHS)]


@dataclass(frozen=True, order=True)
class Months:
    """A whole number of contribution months, 0 to `MAX_MONTHS` (periods are never fractional)."""

    count: int

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int):
            raise InvalidValue(f"Months is an integer count, got {shown(self.count)}")
        if self.count < 0:
            raise InvalidValue(f"Months cannot be negative, got {shown(self.count)}")
        if self.count > MAX_MONTHS:
            raise InvalidValue(f"Months is at most {MAX_MONTHS} (100 years), got "
                               f"{shown(self.count)}")

    def __add__(self, other: Months) -> Months:
        if not isinstance(other, Months):
            return NotImplemented
        return Months(self.count + other.count)

    def __sub__(self, other: Months) -> Months:
        if not isinstance(other, Months):
            return NotImplemented
        if other.count > self.count:
            raise InvalidValue(f"{self} - {other} would be negative")
        return Months(self.count - other.count)

    def __str__(self) -> str:
        return f"{self.count} months"
