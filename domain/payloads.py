"""Payloads: domain values <-> JSON data, strictly, by the values' type hints.

Every event stored or sent, every command a back-end sends and every counterpart event received
passes here. Why strict (issue 11, item 3): a value the store's transcoder cannot read back — a
dict shaped like its envelope, `{"_type_": ..., "_data_": ...}` — once committed stops the
relay, the feed, the timer's rebuild and the node's start, and travels to the counterpart. So
nothing free-form gets in:

- every field is typed: `str`, `int`, `bool`, `date`, `datetime`, `Literal`, tuples and lists,
  frozen dataclasses, unions of those, and at most a bounded `dict[str, str]` whose keys are
  plain names (never `_type_`); `Any` and free dicts are refused as *types*, at first use;
- dates and instants are ISO strings only (`2026-03-02`, an aware `2026-03-02T09:00:00+08:00`);
- every string is at most `MAX_TEXT` characters without control characters (line breaks and
  tabs are text), every list at most `MAX_ITEMS` entries, integers fit a signed 64-bit column,
  nesting is at most `MAX_DEPTH` levels;
- an object has exactly its dataclass's fields: an unknown key is refused, not dropped;
- `Annotated` fields carry their own limits (`annotated_types` bounds, which the JSON Schema
  generator reads too) and a `Rule`: the fault code of that kind of value (`invalid_amount`,
  `invalid_date`...) and an optional check (a region code that exists).

A refusal is a `PayloadError` with a stable `code` and the `field` path at fault
(`details.origins[0]`), so the command codec answers a back-end with it and the inbox quarantines
a peer's event with it. Encoding (`to_payload`) trusts the domain's own values and stays fast.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

import annotated_types

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
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
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


# --------------------------------------------------------------------------- encoding

_SCALARS = frozenset({str, int, float, bool, type(None)})
_field_names: dict[type, tuple[str, ...]] = {}


def to_payload(obj: Any) -> Any:
    """Event (or nested value) -> JSON-compatible data; the inverse of `from_payload`.

    Hot (every event stored and sent passes here, ~15 values each): scalars return first and a
    dataclass's field names are looked up once per class.
    """
    kind = type(obj)
    if kind in _SCALARS:
        return obj
    names = _field_names.get(kind)
    if names is None and dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        names = _field_names[kind] = tuple(f.name for f in dataclasses.fields(obj))
    if names is not None:
        return {name: to_payload(getattr(obj, name)) for name in names}
    if isinstance(obj, dt.datetime):
        if obj.tzinfo is None:
            raise PayloadError("naive datetime in an event; pass aware instants",
                               code="invalid_date")
        return obj.isoformat()
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if isinstance(obj, (list, tuple)):
        return [to_payload(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_payload(v) for k, v in obj.items()}
    return obj


# --------------------------------------------------------------------------- decoding


def from_payload(tp: Any, data: Any, *, root: str = "") -> Any:
    """Build a value of type `tp` from JSON data; `PayloadError` naming the field otherwise
    (its path starts with `root`, e.g. "command")."""
    try:
        return _convert(tp, data, 0)
    except PayloadError as exc:
        exc.root = root
        raise


@dataclass(frozen=True)
class _Field:
    name: str
    hint: Any
    required: bool


_fields_cache: dict[type, tuple[_Field, ...]] = {}


def fields_of(tp: type) -> tuple[_Field, ...]:
    """A dataclass's init fields with their type hints (extras kept), once per class."""
    found = _fields_cache.get(tp)
    if found is None:
        hints = typing.get_type_hints(tp, include_extras=True)
        found = _fields_cache[tp] = tuple(
            _Field(f.name, hints[f.name], f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING)
            for f in dataclasses.fields(tp) if f.init)
    return found


def _convert(tp: Any, data: Any, depth: int) -> Any:
    if tp is str:
        return _text(data)
    if tp is int:
        return _integer(data)
    if tp is bool:
        if not isinstance(data, bool):
            raise PayloadError(f"expected true or false, got {_show(data)}")
        return data
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _object(tp, data, depth)
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _annotated(tp, data, depth)
    if origin in (typing.Union, types.UnionType):
        return _union(tp, data, depth)
    if origin is Literal:
        options = typing.get_args(tp)
        if type(data) not in (str, int) or data not in options:
            raise PayloadError(f"expected one of {', '.join(map(repr, options))}, "
                               f"got {_show(data)}")
        return data
    if origin in (tuple, list):
        return _sequence(tp, origin, data, depth)
    if origin is dict:
        return _map(tp, data)
    if tp is dt.datetime:
        return _instant(data)
    if tp is dt.date:
        return _date(data)
    if tp is type(None):
        if data is not None:
            raise PayloadError(f"expected null, got {_show(data)}")
        return None
    raise TypeError(f"{tp!r} is not a payload type: fields are typed (no Any, no free dict)")


def _text(data: Any) -> str:
    if not isinstance(data, str):
        raise PayloadError(f"expected a string, got {_show(data)}")
    if len(data) > MAX_TEXT:
        raise PayloadError(f"longer than {MAX_TEXT} characters ({len(data)})")
    if _CONTROL.search(data):
        raise PayloadError("contains a control character")
    return data


def _integer(data: Any) -> int:
    if isinstance(data, bool) or not isinstance(data, int):
        raise PayloadError(f"expected an integer, got {_show(data)}")
    if not -MAX_INT <= data <= MAX_INT:
        raise PayloadError(f"{data} does not fit a 64-bit integer")
    return data


def _instant(data: Any) -> dt.datetime:
    if not isinstance(data, str) or not _INSTANT.fullmatch(data):
        raise PayloadError(f"expected an ISO 8601 instant with its UTC offset, got {_show(data)}",
                           code="invalid_date")
    try:
        return dt.datetime.fromisoformat(data)
    except ValueError:
        raise PayloadError(f"{data!r} is not a calendar instant", code="invalid_date") from None


def _date(data: Any) -> dt.date:
    if not isinstance(data, str) or not _DATE.fullmatch(data):
        raise PayloadError(f"expected an ISO 8601 date (YYYY-MM-DD), got {_show(data)}",
                           code="invalid_date")
    try:
        return dt.date.fromisoformat(data)
    except ValueError:
        raise PayloadError(f"{data!r} is not a calendar date", code="invalid_date") from None


def _object(tp: type, data: Any, depth: int) -> Any:
    if not isinstance(data, dict):
        raise PayloadError(f"expected an object ({tp.__name__}), got {_show(data)}")
    if depth >= MAX_DEPTH:
        raise PayloadError(f"nested deeper than {MAX_DEPTH} levels")
    fields = fields_of(tp)
    names = {f.name for f in fields}
    for key in data:
        if key not in names:
            raise PayloadError(f"{tp.__name__} has no field {key!r}",
                               code="unknown_field").at(str(key)[:64])
    kwargs = {}
    for f in fields:
        if f.name not in data:
            if f.required:
                raise PayloadError("is required", code="missing_field").at(f.name)
            continue
        try:
            kwargs[f.name] = _convert(f.hint, data[f.name], depth + 1)
        except PayloadError as exc:
            raise exc.at(f.name) from None
    try:
        return tp(**kwargs)
    except Exception as exc:  # the type's own rules (a material's sha256, a value object's)
        raise PayloadError(str(exc)) from None


def _annotated(tp: Any, data: Any, depth: int) -> Any:
    base, *meta = typing.get_args(tp)
    rule = next((m for m in meta if isinstance(m, Rule)), None)
    try:
        value = _convert(base, data, depth)
        for constraint in meta:
            _constrain(constraint, value)
        if rule is not None and rule.check is not None:
            try:
                rule.check(value)
            except Exception as exc:
                raise PayloadError(str(exc)) from None
    except PayloadError as exc:
        if rule is not None and not exc.path and exc.code == "invalid_field":
            exc.code = rule.code
        raise
    return value


def _constrain(constraint: Any, value: Any) -> None:
    """The `annotated_types` bounds a field declares (the schema generator reads the same)."""
    for part in (constraint if isinstance(constraint, annotated_types.GroupedMetadata)
                 else (constraint,)):
        if isinstance(part, annotated_types.Ge) and not value >= part.ge:
            raise PayloadError(f"{value} is below the least allowed, {part.ge}")
        if isinstance(part, annotated_types.Gt) and not value > part.gt:
            raise PayloadError(f"{value} must be greater than {part.gt}")
        if isinstance(part, annotated_types.Le) and not value <= part.le:
            raise PayloadError(f"{value} is above the most allowed, {part.le}")
        if isinstance(part, annotated_types.Lt) and not value < part.lt:
            raise PayloadError(f"{value} must be less than {part.lt}")
        if isinstance(part, annotated_types.MinLen) and len(value) < part.min_length:
            raise PayloadError(f"needs at least {part.min_length} "
                               f"{'characters' if isinstance(value, str) else 'entries'}")
        if isinstance(part, annotated_types.MaxLen) and len(value) > part.max_length:
            raise PayloadError(f"takes at most {part.max_length} "
                               f"{'characters' if isinstance(value, str) else 'entries'}")


def _union(tp: Any, data: Any, depth: int) -> Any:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if data is None and len(args) < len(typing.get_args(tp)):
        return None
    if len(args) == 1:
        return _convert(args[0], data, depth)
    errors: list[tuple[int, PayloadError]] = []
    for arg in args:
        try:
            return _convert(arg, data, depth)
        except PayloadError as exc:
            errors.append((_overlap(arg, data), exc))
    best = max(errors, key=lambda e: e[0])
    if best[0] > 0:
        raise best[1]  # the alternative the data most looks like says what is wrong
    names = " | ".join(_name(a) for a in args)
    raise PayloadError(f"expected one of {names}, got {_show(data)}")


def _overlap(tp: Any, data: Any) -> int:
    """How many of `data`'s keys are fields of the dataclass `tp` (0 for anything else)."""
    if isinstance(data, dict) and isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return len({f.name for f in fields_of(tp)} & set(data))
    return 0


def _sequence(tp: Any, origin: Any, data: Any, depth: int) -> Any:
    if not isinstance(data, (list, tuple)):
        raise PayloadError(f"expected a list, got {_show(data)}")
    if len(data) > MAX_ITEMS:
        raise PayloadError(f"takes at most {MAX_ITEMS} entries ({len(data)})")
    if depth >= MAX_DEPTH:
        raise PayloadError(f"nested deeper than {MAX_DEPTH} levels")
    args = typing.get_args(tp)
    if not args:
        raise TypeError(f"{tp!r} is not a payload type: say what the list holds")
    item = args[0]
    values = []
    for index, value in enumerate(data):
        try:
            values.append(_convert(item, value, depth + 1))
        except PayloadError as exc:
            raise exc.at(index) from None
    return tuple(values) if origin is tuple else values


def _map(tp: Any, data: Any) -> dict[str, str]:
    if typing.get_args(tp) != (str, str):
        raise TypeError(f"{tp!r} is not a payload type: only a bounded dict[str, str] is")
    if not isinstance(data, dict):
        raise PayloadError(f"expected an object, got {_show(data)}")
    if len(data) > MAX_ITEMS:
        raise PayloadError(f"takes at most {MAX_ITEMS} entries ({len(data)})")
    result = {}
    for key, value in data.items():
        if not isinstance(key, str) or not _MAP_KEY.fullmatch(key):
            raise PayloadError(f"key {str(key)[:64]!r} is not a plain name "
                               "(letters, digits, _ . : -; not starting with _)")
        try:
            result[key] = _text(value)
        except PayloadError as exc:
            raise exc.at(key) from None
    return result


def _name(tp: Any) -> str:
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        keys = ", ".join(f.name for f in fields_of(tp))
        return f"{tp.__name__} {{{keys}}}"
    return getattr(tp, "__name__", repr(tp))


def _show(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."
