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
  tabs are text) or lone surrogates (UTF-16 halves JSON can escape and UTF-8 cannot hold),
  every list at most `MAX_ITEMS` entries, integers fit a signed 64-bit column, nesting is at
  most `MAX_DEPTH` levels;
- an object has exactly its dataclass's fields: an unknown key is refused, not dropped;
- `Annotated` fields carry their own limits (`annotated_types` bounds, which the JSON Schema
  generator reads too) and a `Rule`: the fault code of that kind of value (`invalid_amount`,
  `invalid_date`...) and an optional check (a region code that exists).

A refusal is a `PayloadError` with a stable `code` and the `field` path at fault
(`details.origins[0]`), so the command codec answers a back-end with it and the inbox quarantines
a peer's event with it. Encoding (`to_payload`, `domain.encoding`) trusts the domain's own values
and is compiled per class for speed.

Here: the decoder's entry (`from_payload`) and the compiling of each type's converter. The
limits, `PayloadError`, `Rule` and the leaf values' converters are `domain.payload_values`'s
(re-exported here); the bounds and refusals a converter applies are `domain.payload_checks`'s.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from domain.payload_checks import _checks, _field_error, _plain, _refused, _ruled, _unknown
from domain.payload_fast import fast_path
from domain.payload_values import (
    _CONTROL,
    _MAP_KEY,
    MAX_DEPTH,
    MAX_INT,
    MAX_ITEMS,
    MAX_TEXT,
    Code,
    Converter,
    PayloadError,
    Rule,
    _boolean,
    _date,
    _instant,
    _instants,
    _integer,
    _literal,
    _none,
    _show,
    _text,
    encodable,
)

__all__ = [
    "MAX_DEPTH", "MAX_INT", "MAX_ITEMS", "MAX_TEXT", "Code", "Converter", "PayloadError", "Rule",
    "converter", "encodable", "fields_of", "from_payload",
]

# --------------------------------------------------------------------------- decoding


def from_payload(tp: Any, data: Any, *, root: str = "") -> Any:
    """Build a value of type `tp` from JSON data; `PayloadError` naming the field otherwise
    (its path starts with `root`, e.g. "command")."""
    try:
        return converter(tp)(data, 0)
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


_converters: dict[Any, Converter] = {}


def converter(tp: Any) -> Converter:
    """The converter of a type, compiled once (decoding is hot: every event loaded or received).

    A dataclass's converter is registered before its fields are compiled, so a type that nests
    itself compiles (its converter looks the fields up when first called).
    """
    found = _converters.get(tp)
    if found is None:
        found = _converters[tp] = _compile(tp)
    return found


def _compile(tp: Any) -> Converter:
    if tp is str:
        return lambda data, depth: _text(data)
    if tp is int:
        return lambda data, depth: _integer(data)
    if tp is bool:
        return _boolean
    if tp is dt.datetime:
        return lambda data, depth: _instant(data)
    if tp is dt.date:
        return lambda data, depth: _date(data)
    if tp is type(None):
        return _none
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _object(tp)
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _annotated(tp)
    if origin in (typing.Union, types.UnionType):
        return _union(tp)
    if origin is Literal:
        return _literal(typing.get_args(tp))
    if origin in (tuple, list):
        return _sequence(tp, origin)
    if origin is dict:
        return _map(tp)
    raise TypeError(f"{tp!r} is not a payload type: fields are typed (no Any, no free dict)")


def _object(tp: type) -> Converter:
    """A dataclass's converter: compiled at its first call (a type may nest itself, so its
    fields' converters cannot be asked for before), then the compiled one is the type's."""
    compiled: list[Converter] = []

    def convert(data: Any, depth: int) -> Any:
        if not compiled:
            compiled.append(_compile_object(tp))
            _converters[tp] = compiled[0]
        return compiled[0](data, depth)
    return convert


#: Fields of these exact hints are checked inline by a compiled object converter.
_INLINE = {str: "text", int: "integer", bool: "boolean"}
_MISSING = object()


def _compile_object(tp: type) -> Converter:
    """The converter of one dataclass as one generated function (as `domain.encoding` compiles
    encoders): a string, integer or boolean field is checked inline, any other field calls its
    own converter, and a plain frozen dataclass (no `__post_init__`, no `__slots__`, its
    `dataclasses`-generated `__init__`) is filled without running `__init__` — which for a frozen
    class is an `object.__setattr__` per field and was the simulator's costliest frame (issue 17,
    DOMAIN: ~11 µs an event before). It accepts and refuses exactly what the loop it replaced
    did, with the same codes and field paths (`simulations.bench.conversions.loop_object` keeps
    that loop; `tests/property/test_payload_decoding.py` holds the two equal)."""
    fields = fields_of(tp)
    names = frozenset(f.name for f in fields)
    plain = _plain(tp)
    defaults = {f.name: f for f in dataclasses.fields(tp)}
    scope: dict[str, Any] = {
        "PayloadError": PayloadError, "MISSING": _MISSING, "MAX_DEPTH": MAX_DEPTH,
        "MAX_TEXT": MAX_TEXT, "MAX_INT": MAX_INT, "search": _CONTROL.search, "names": names,
        "tp": tp, "new": object.__new__, "show": _show, "unknown": _unknown,
        "refused": _refused, "field_error": _field_error, "instants": _instants,
    }
    lines = [
        "def convert(data, depth):",
        "    if type(data) is not dict:",
        f"        raise PayloadError(f'expected an object ({tp.__name__}), got {{show(data)}}')",
        "    if depth >= MAX_DEPTH:",
        "        raise PayloadError(f'nested deeper than {MAX_DEPTH} levels')",
        "    if not names.issuperset(data):",
        "        raise unknown(tp, names, data)",
        "    d1 = depth + 1",
    ]
    built: list[str] = []
    for i, f in enumerate(fields):
        v = f"v{i}"
        scope[f"c{i}"] = None  # this field's converter, looked up below (after compiling)
        lines.append(f"    {v} = data.get({f.name!r}, MISSING)")
        lines.append(f"    if {v} is MISSING:")
        if f.required:
            lines.append(f"        raise PayloadError('is required', code='missing_field')"
                         f".at({f.name!r})")
        elif plain:
            spec = defaults[f.name]
            if spec.default is not dataclasses.MISSING:
                scope[f"default{i}"] = spec.default
                lines.append(f"        {v} = default{i}")
            else:
                scope[f"factory{i}"] = spec.default_factory
                lines.append(f"        {v} = factory{i}()")
        else:
            lines.append("        pass")
        kind = _INLINE.get(f.hint)
        if kind == "text":
            test = f"type({v}) is not str or len({v}) > MAX_TEXT or search({v}) is not None"
        elif kind == "integer":
            test = f"type({v}) is not int or not -MAX_INT <= {v} <= MAX_INT"
        elif kind == "boolean":
            test = f"type({v}) is not bool"
        else:
            test = ""
        if test:
            lines.append(f"    elif {test}:")
            lines.append(f"        raise field_error(c{i}, {v}, d1, {f.name!r})")
        else:
            if f.hint is dt.datetime:  # an instant read before: no call
                lines.append(f"    elif type({v}) is str and {v} in instants:")
                lines.append(f"        {v} = instants[{v}]")
            lines.append("    else:")
            lines.append("        try:")
            lines.append(f"            {v} = c{i}({v}, d1)")
            lines.append("        except PayloadError as exc:")
            lines.append(f"            raise exc.at({f.name!r}) from None")
        built.append(f"{f.name!r}: {v}")
    if plain:
        lines.append("    obj = new(tp)")
        lines.append(f"    obj.__dict__.update({{{', '.join(built)}}})")
        lines.append("    return obj")
    else:
        lines.append("    kwargs = {" + ", ".join(built) + "}")
        lines.append("    try:")
        lines.append("        return tp(**{k: v for k, v in kwargs.items() if v is not MISSING})")
        lines.append("    except Exception as exc:")
        lines.append("        raise refused(exc) from None")
    for i, f in enumerate(fields):
        scope[f"c{i}"] = converter(f.hint)
    exec("\n".join(lines), scope)  # the names are a dataclass's field identifiers
    convert: Converter = scope["convert"]
    convert.__qualname__ = f"from_payload[{tp.__qualname__}]"
    return fast_path(tp, fields, plain, convert, converter)


def _annotated(tp: Any) -> Converter:
    base, *meta = typing.get_args(tp)
    convert_base = converter(base)
    rule = next((m for m in meta if isinstance(m, Rule)), None)
    checks = [check for m in meta if not isinstance(m, Rule) for check in _checks(m)]
    if rule is not None and rule.check is not None:
        checks.append(_ruled(rule.check))

    def convert(data: Any, depth: int) -> Any:
        try:
            value = convert_base(data, depth)
            for check in checks:
                check(value)
        except PayloadError as exc:
            if rule is not None and not exc.path and exc.code == "invalid_field":
                exc.code = rule.code
            raise
        return value
    return convert


def _union(tp: Any) -> Converter:
    optional = type(None) in typing.get_args(tp)
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(args) == 1:
        only = converter(args[0])
        return (lambda data, depth: None if data is None else only(data, depth)) if optional \
            else only
    options = [(arg, converter(arg)) for arg in args]

    def convert(data: Any, depth: int) -> Any:
        if data is None and optional:
            return None
        errors: list[tuple[int, PayloadError]] = []
        for arg, convert_arg in options:
            try:
                return convert_arg(data, depth)
            except PayloadError as exc:
                errors.append((_overlap(arg, data), exc))
        best = max(errors, key=lambda e: e[0])
        if best[0] > 0:
            raise best[1]  # the alternative the data most looks like says what is wrong
        names = " | ".join(_name(a) for a in args)
        raise PayloadError(f"expected one of {names}, got {_show(data)}")
    return convert


def _overlap(tp: Any, data: Any) -> int:
    """How many of `data`'s keys are fields of the dataclass `tp` (0 for anything else)."""
    if isinstance(data, dict) and isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return len({f.name for f in fields_of(tp)} & set(data))
    return 0


def _sequence(tp: Any, origin: Any) -> Converter:
    args = typing.get_args(tp)
    if not args:
        raise TypeError(f"{tp!r} is not a payload type: say what the list holds")
    item = converter(args[0])
    as_tuple = origin is tuple

    def convert(data: Any, depth: int) -> Any:
        if not isinstance(data, (list, tuple)):
            raise PayloadError(f"expected a list, got {_show(data)}")
        if len(data) > MAX_ITEMS:
            raise PayloadError(f"takes at most {MAX_ITEMS} entries ({len(data)})")
        if depth >= MAX_DEPTH:
            raise PayloadError(f"nested deeper than {MAX_DEPTH} levels")
        values = []
        for index, value in enumerate(data):
            try:
                values.append(item(value, depth + 1))
            except PayloadError as exc:
                raise exc.at(index) from None
        return tuple(values) if as_tuple else values
    return convert


def _map(tp: Any) -> Converter:
    if typing.get_args(tp) != (str, str):
        raise TypeError(f"{tp!r} is not a payload type: only a bounded dict[str, str] is")

    def convert(data: Any, depth: int) -> dict[str, str]:
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
    return convert


def _name(tp: Any) -> str:
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        keys = ", ".join(f.name for f in fields_of(tp))
        return f"{tp.__name__} {{{keys}}}"
    return getattr(tp, "__name__", repr(tp))

