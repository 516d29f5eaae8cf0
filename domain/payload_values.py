"""The payload decoder's limits, its refusal (`PayloadError`), `Rule`, and its leaf values.

Why apart from `domain.payloads`: these are what the rest of the code names — the limits the
wire and the contract state, the error a codec answers with, the `Rule` a value type declares,
`encodable` for echoing a sender's text — and the converters of the values a payload bottoms
out in (strings, integers, booleans, literals, dates, instants), which need no other type's
converter. `domain.payloads` compiles the converters of the types made of them and re-exports
the public names here, so `from domain.payloads import ...` keeps working.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

#: The longest string any field holds (characters).
MAX_TEXT: Final = 4000
#: The most entries of any list or map.
MAX_ITEMS: Final = 256
#: The deepest nesting of objects and lists in one payload.
MAX_DEPTH: Final = 16
#: Integers fit PostgreSQL's `bigint` and every JSON reader's 64-bit integers.
MAX_INT: Final = 2**63 - 1
#: Keys of a bounded `dict[str, str]`: plain names (so never the transcoder's `_type_`).
_MAP_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
#: Control characters, and UTF-16 halves (`"\\ud800"` in JSON) that no UTF-8 text, PostgreSQL
#: column, NATS reply or log file can hold: a value with one would be decided, then fail its save.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})")

Code = Literal["invalid_field", "missing_field", "unknown_field"] | str


class PayloadError(ValueError):
    """A payload that is not a value of its type; `code` is stable, `field` the path at fault."""

    def __init__(self, reason: str, *, code: Code = "invalid_field") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.path: list[str | int] = []
        self.root = ""

    @property
    def field(self) -> str:
        text = self.root
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text

    def at(self, part: str | int) -> PayloadError:
        self.path.insert(0, part)
        return self

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


@dataclass(frozen=True)
class Rule:
    """`Annotated` metadata of a kind of value: its fault `code`, and a `check` that raises for
    a value of the right type that still is not one (a region code that does not exist)."""

    code: str
    check: Callable[[Any], object] | None = None

#: A compiled converter: (JSON data, nesting depth) -> value, or PayloadError.
Converter = Callable[[Any, int], Any]


def _boolean(data: Any, depth: int) -> bool:
    if not isinstance(data, bool):
        raise PayloadError(f"expected true or false, got {_show(data)}")
    return data


def _none(data: Any, depth: int) -> None:
    if data is not None:
        raise PayloadError(f"expected null, got {_show(data)}")


def _literal(options: tuple[Any, ...]) -> Converter:
    def convert(data: Any, depth: int) -> Any:
        if type(data) not in (str, int) or data not in options:
            raise PayloadError(f"expected one of {', '.join(map(repr, options))}, "
                               f"got {_show(data)}")
        return data
    return convert


def _text(data: Any) -> str:
    if type(data) is not str:
        raise PayloadError(f"expected a string, got {_show(data)}")
    if len(data) > MAX_TEXT:
        raise PayloadError(f"longer than {MAX_TEXT} characters ({len(data)})")
    # printable text holds none of the pattern's characters (categories Cc and Cs), and asking
    # is cheaper than the search; a tab or a line break is not printable: the pattern decides
    if not data.isprintable() and _CONTROL.search(data):
        raise PayloadError("contains a control character or a lone surrogate")
    return data


def _integer(data: Any) -> int:
    if type(data) is not int:
        raise PayloadError(f"expected an integer, got {_show(data)}")
    if not -MAX_INT <= data <= MAX_INT:
        raise PayloadError(f"{data} does not fit a 64-bit integer")
    return data


#: Instants read before, by their text: the events of one decision share their `at`, and a
#: side's deadlines repeat in its events. An instant is immutable, so the same text may give the
#: same object; bounded by clearing when full.
_instants: dict[str, dt.datetime] = {}
_INSTANTS_KEPT = 4096


def _instant(data: Any) -> dt.datetime:
    if type(data) is str and (known := _instants.get(data)) is not None:
        return known
    if type(data) is not str or not _INSTANT.fullmatch(data):
        raise PayloadError(f"expected an ISO 8601 instant with its UTC offset, got {_show(data)}",
                           code="invalid_date")
    try:
        instant = dt.datetime.fromisoformat(data)
    except ValueError:
        raise PayloadError(f"{data!r} is not a calendar instant", code="invalid_date") from None
    if len(_instants) >= _INSTANTS_KEPT:
        _instants.clear()
    _instants[data] = instant
    return instant


def _date(data: Any) -> dt.date:
    if type(data) is not str or not _DATE.fullmatch(data):
        raise PayloadError(f"expected an ISO 8601 date (YYYY-MM-DD), got {_show(data)}",
                           code="invalid_date")
    try:
        return dt.date.fromisoformat(data)
    except ValueError:
        raise PayloadError(f"{data!r} is not a calendar date", code="invalid_date") from None


def encodable(text: str) -> str:
    """`text` with each lone surrogate written as its escape (`\\ud800`), so that it can be
    encoded as UTF-8: for what echoes a sender's text back (a refusal's field path or reason)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text



def _show(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."
