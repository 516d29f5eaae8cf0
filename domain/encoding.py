"""Encoding: domain values -> JSON data (`to_payload`), by an encoder compiled once per class.

Every event a node stores passes here once (the stored payload is then what the links, the feed
and the views are given: docs/performance.md), every command an idempotency key guards passes
here for its hash, and the simulator's trace passes every event again. The decoding half, which
must refuse what is not a value of its type, is `domain.payloads`; encoding trusts the domain's
own values.

Why compiled per class: the generic walk (one recursive call per field, an `isinstance` chain per
value) cost ~6 µs an event. Now the first value of a type compiles that type's encoder: for a
dataclass, a function that reads its fields in order and builds the dict in one expression,
calling back here only for a field whose value is not a JSON scalar. Which encoder a value gets
depends on its type alone, exactly as the walk's branches did (a dataclass first, then an aware
instant, a date, a list or tuple, a dict, else the value as it is), so the data is the same —
`tests/property/test_payload_encoding.py` holds it equal to the walk's, Hypothesis over every
event and command class. Keys keep the fields' order: the stored JSON is byte for byte what it was.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from domain.payloads import PayloadError

#: Types whose values are their own JSON data (exact types: a subclass goes through its encoder).
SCALARS = frozenset({str, int, float, bool, type(None)})

Encoder = Callable[[Any], Any]
_encoders: dict[type, Encoder] = {}


def to_payload(obj: Any) -> Any:
    """Event (or nested value) -> JSON-compatible data; the inverse of `from_payload`."""
    kind = type(obj)
    if kind in SCALARS:
        return obj
    encode = _encoders.get(kind)
    if encode is None:
        encode = _encoders[kind] = _encoder_of(kind)
    return encode(obj)


#: The last instant rendered and its text: the events of one decision share their `at` (the
#: decision's `now`, one object), so most instants are rendered once. Held by identity, which is
#: exact for an immutable value, and kept alive by this reference, so its id cannot be reused.
_last_instant: tuple[Any, str] = (None, "")


def _instant(obj: dt.datetime) -> str:
    global _last_instant
    last, text = _last_instant
    if obj is last:
        return text
    if obj.tzinfo is None:
        raise PayloadError("naive datetime in an event; pass aware instants", code="invalid_date")
    text = obj.isoformat()
    _last_instant = (obj, text)
    return text


def _date(obj: dt.date) -> str:
    return obj.isoformat()


def _sequence(obj: Any) -> list[Any]:
    return [v if type(v) in SCALARS else to_payload(v) for v in obj]


def _map(obj: dict[Any, Any]) -> dict[str, Any]:
    return {str(k): v if type(v) in SCALARS else to_payload(v) for k, v in obj.items()}


def _same(obj: Any) -> Any:
    return obj


#: `to_payload`'s branches after the exact scalars (`SCALARS`) and a dataclass (first: its
#: encoder is compiled per class), in order: the types whose subclasses take the encoder; any
#: other value is passed on as it is (`_same`). One table, because `domain.sorted_text` (the
#: request hash's text) must follow these branches type for type — it dispatches through this
#: table, and tests/property/test_sorted_text.py draws values of every type named here (and in
#: `SCALARS`), so a type added here without its writer there fails, never a hash moved quietly.
BRANCHES: tuple[tuple[tuple[type, ...], Encoder], ...] = (
    ((dt.datetime,), _instant),  # before `dt.date`: an instant is a date too
    ((dt.date,), _date),
    ((list, tuple), _sequence),
    ((dict,), _map),
)


def _encoder_of(kind: type) -> Encoder:
    """The encoder of every value of type `kind`, in the walk's order of branches."""
    if dataclasses.is_dataclass(kind):
        return _dataclass(kind)
    return branch_of(kind)


def branch_of(kind: type) -> Encoder:
    """The encoder `BRANCHES` gives a type that is no dataclass (`_same`: none converts it)."""
    for bases, encode in BRANCHES:
        if issubclass(kind, bases):
            return encode
    return _same


def _dataclass(kind: type) -> Encoder:
    """`{field: data, ...}` for a dataclass, as one generated function (as `dataclasses` itself
    generates `__init__`): field reads and one dict display, no loop and no call per scalar."""
    names = [f.name for f in dataclasses.fields(kind)]
    lines = ["def encode(obj):"]
    lines += [f"    v{i} = obj.{name}" for i, name in enumerate(names)]
    items = ", ".join(f"{name!r}: v{i} if type(v{i}) in SCALARS else to_payload(v{i})"
                      for i, name in enumerate(names))
    lines.append(f"    return {{{items}}}")
    scope: dict[str, Any] = {"SCALARS": SCALARS, "to_payload": to_payload}
    exec("\n".join(lines), scope)  # the names are a dataclass's field identifiers
    encode: Encoder = scope["encode"]
    encode.__qualname__ = f"to_payload[{kind.__qualname__}]"
    return encode
