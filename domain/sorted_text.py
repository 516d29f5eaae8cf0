"""The sorted JSON text of a domain value in one pass: `sorted_text(obj)` is
`json.dumps(to_payload(obj), sort_keys=True, ensure_ascii=False, default=str)`, character for
character, without building the payload's dictionaries first.

Why: an idempotent command's request hash (`regions.core.idempotency.request_hash`) is the
SHA-256 of that text, and it is stored: the formula cannot change, or every retry across an
upgrade would be refused as a reused id. Built in two steps it was ~3 % of both nodes' CPU at
the bench's burst (py-spy, docs/performance.md, NODECPU): the command converted to its payload
(`to_payload`, a dictionary per nested value) and that payload encoded again by the C encoder,
which copies and sorts every dictionary's items — for an info sheet's ~40 values, ~65 µs a
command. Here each class compiles one writer (as `domain.encoding` compiles its encoders): its
fields read in sorted order, the keys' text written once at compile time, a string escaped by the
same C function the encoder uses (`json.encoder.encode_basestring`), an `int` by its `repr`.

Which writer a value gets depends on its type alone, in `to_payload`'s order of branches (a
dataclass, an aware instant, a date, a list or tuple, a dict, else the value as it is), and a
value passed on as it is gets what the C encoder gives it (a `str`, `int` or `float` subclass
its base's text, anything else `str(value)` written again). `tests/property/test_sorted_text.py`
holds the text to `json.dumps`' (Hypothesis, every event and command class and any nesting).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

from domain import encoding
from domain.encoding import _instant

Writer = Callable[[Any], str]
_writers: dict[type, Writer] = {}

_esc = encode_basestring
_int = int.__repr__
_float_repr = float.__repr__


def sorted_text(obj: Any) -> str:
    """`json.dumps(to_payload(obj), sort_keys=True, ensure_ascii=False, default=str)`."""
    kind = type(obj)
    if kind is str:
        return _esc(obj)
    if kind is int:
        return _int(obj)
    write = _writers.get(kind)
    if write is None:
        write = _writers[kind] = _writer_of(kind)
    return write(obj)


#: `float.__repr__`'s texts that JSON has no number for, as the C encoder writes them.
_NOT_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _float(obj: float) -> str:
    """The C encoder's float (`allow_nan`: NaN and the infinities as JavaScript names them).
    Read from `float.__repr__`, which reads the C double as the encoder does, never from the
    value's own `!=`/`==`, which a `float` subclass may answer otherwise."""
    text = _float_repr(obj)
    return _NOT_FINITE.get(text, text)


def _bool(obj: bool) -> str:
    return "true" if obj else "false"


def _none(obj: None) -> str:
    return "null"


def _instant_text(obj: dt.datetime) -> str:
    return _esc(_instant(obj))  # refuses a naive instant as `to_payload` does


def _date_text(obj: dt.date) -> str:
    return _esc(obj.isoformat())


def _sequence(obj: Any) -> str:
    if not obj:
        return "[]"
    return "[" + ", ".join([sorted_text(v) for v in obj]) + "]"


def _map(obj: dict[Any, Any]) -> str:
    # `to_payload`'s dict (keys as `str(k)`, the last of equal texts kept), then sorted
    payload = {str(k): v for k, v in obj.items()}
    if not payload:
        return "{}"
    return "{" + ", ".join([_esc(k) + ": " + sorted_text(payload[k])
                            for k in sorted(payload)]) + "}"


def _as_is(obj: Any) -> str:
    """A value `to_payload` passes on unconverted (no dataclass, instant, date, sequence or
    dict), as the C encoder writes it: a `str`, `int` or `float` subclass as its base, anything
    else `str(value)` (`default=str`), which is a `str`, written in turn."""
    if isinstance(obj, str):
        return _esc(obj)
    if isinstance(obj, int):
        return _int(obj)
    if isinstance(obj, float):
        return _float(obj)
    return _esc(str(obj))


#: The writer of each of `to_payload`'s branches, by the encoder `encoding.BRANCHES` names for
#: it (`_same`: a value passed on as it is). Dispatching through that table, not a copy of it,
#: keeps the two in step: a branch added there without a writer here is refused below.
_BRANCH_WRITERS: dict[Callable[[Any], Any], Writer] = {
    encoding._instant: _instant_text, encoding._date: _date_text,
    encoding._sequence: _sequence, encoding._map: _map, encoding._same: _as_is}


def _writer_of(kind: type) -> Writer:
    """The writer of every value of type `kind`, in `to_payload`'s order of branches: the
    exact scalars, a dataclass, then `encoding.branch_of`'s."""
    if kind is bool:
        return _bool
    if kind is type(None):
        return _none
    if kind is float:
        return _float
    if dataclasses.is_dataclass(kind):
        return _dataclass(kind)
    encode = encoding.branch_of(kind)
    write = _BRANCH_WRITERS.get(encode)
    if write is None:  # a branch added to `encoding.BRANCHES` alone: no text rather than another
        raise TypeError(f"no request-hash writer for {kind.__qualname__} (to_payload encodes it "
                        f"with {encode.__qualname__}): add one to domain.sorted_text")
    return write


def _dataclass(kind: type) -> Writer:
    """`{"field": text, ...}` in sorted field order, as one generated function: the keys'
    text fixed, a `str` escaped and an `int` written in place, any other value by its writer."""
    names = sorted(f.name for f in dataclasses.fields(kind))
    if not names:
        return lambda obj: "{}"
    lines = ["def write(obj):"]
    parts = []
    for i, name in enumerate(names):
        lines.append(f"    v{i} = obj.{name}")
        lines.append(f"    t{i} = type(v{i})")
        key = _esc(name).replace("{", "{{").replace("}", "}}")
        value = f"{{esc(v{i}) if t{i} is str else int_(v{i}) if t{i} is int else text(v{i})}}"
        parts.append(f"{key}: {value}")
    body = ", ".join(parts)
    lines.append(f"    return f'{{{{{body}}}}}'")
    scope: dict[str, Any] = {"esc": _esc, "int_": _int, "text": sorted_text}
    exec("\n".join(lines), scope)  # the names are a dataclass's field identifiers
    write: Writer = scope["write"]
    write.__qualname__ = f"sorted_text[{kind.__qualname__}]"
    return write
