"""The fast path of a dataclass's payload converter: the common case decided in one pass.

Why (issue 17, DECODE): a received link event's decode was mostly `from_payload`, and inside it
the key check (`frozenset.issuperset` over the object's keys), a `dict.get` and a `MISSING`
test per field, a regular expression per string and a frame per optional or nested value.
Nearly every payload is one `to_payload` wrote at the current schema: every field present, no
other key, each value of its JSON type. For that case a second generated function does less:
the keys are checked by count and reads by index (as many keys as fields, each field found:
the key sets are equal), the inline checks are one chain, a string is first asked
`str.isprintable()` (true only without control characters and lone surrogates: the pattern's
characters are all of the categories Cc and Cs, which are not printable; a tab or a line break
is text, so the pattern is asked then), an optional field's `None` needs no call, and a known
instant no call either.

It refuses nothing the full converter (`domain.payloads._compile_object`, `slow` here) would
not, in the same words: on a doubt it can settle before converting any field — not a dict, too
deep, a key missing or unknown, a value an inline check refuses — it answers by calling the full
converter; past that point the full converter would have found the keys and the inline fields
good and called the same field converters on the same values in the same order, so a field's
refusal is raised as it raises it (the field's name put in front of its path), and so is a
type's own rules refusing. No data is converted twice over at one level, so a refusal deep in a
payload costs no more than before. An accepted value is the one the full converter builds;
`tests/property/test_payload_fast.py` holds the two equal over generated and garbage payloads.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from domain.payload_checks import _refused
from domain.payload_values import (
    _CONTROL,
    MAX_DEPTH,
    MAX_INT,
    MAX_TEXT,
    Converter,
    PayloadError,
    _instants,
)


class _Field(Protocol):
    """A field as `domain.payloads.fields_of` gives it."""

    @property
    def name(self) -> str: ...

    @property
    def hint(self) -> Any: ...


#: The inline test of a value `{v}` of these exact hints (true: the full converter accepts it).
_ACCEPTS = {
    str: "(type({v}) is str and len({v}) <= MAX_TEXT and ({v}.isprintable() "
         "or search({v}) is None))",
    int: "(type({v}) is int and -MAX_INT <= {v} <= MAX_INT)",
    bool: "type({v}) is bool",
}


def _optional_of(hint: Any) -> Any:
    """`X` of a hint `X | None` with one `X` (None otherwise)."""
    if typing.get_origin(hint) not in (typing.Union, types.UnionType):
        return None
    args = typing.get_args(hint)
    rest = [a for a in args if a is not type(None)]
    return rest[0] if len(rest) == 1 and len(args) == 2 else None


def fast_path(tp: type, fields: Sequence[_Field], plain: bool, slow: Converter,
              converter: Callable[[Any], Converter]) -> Converter:
    """The converter of `tp` that answers the common case itself and any other by `slow`."""
    scope: dict[str, Any] = {
        "PayloadError": PayloadError, "MAX_DEPTH": MAX_DEPTH, "MAX_TEXT": MAX_TEXT,
        "MAX_INT": MAX_INT, "search": _CONTROL.search, "iget": _instants.get, "tp": tp,
        "new": object.__new__, "slow": slow, "refused": _refused,
    }
    lines = [
        "def convert(data, depth):",
        f"    if type(data) is not dict or len(data) != {len(fields)} or depth >= MAX_DEPTH:",
        "        return slow(data, depth)",
    ]
    if fields:
        lines += ["    try:", *[f"        v{i} = data[{f.name!r}]" for i, f in enumerate(fields)],
                  "    except KeyError:", "        return slow(data, depth)"]
    inline = [_ACCEPTS[f.hint].format(v=f"v{i}") for i, f in enumerate(fields)
              if f.hint in _ACCEPTS]
    if inline:
        lines.append(f"    if not ({' and '.join(inline)}):")
        lines.append("        return slow(data, depth)")
    called = []
    for i, f in enumerate(fields):
        if f.hint in _ACCEPTS:
            continue
        v = f"v{i}"
        inner = _optional_of(f.hint)
        scope[f"c{i}"] = converter(f.hint if inner is None else inner)
        indent = "    "
        if inner is not None:
            called.append(f"    if {v} is not None:")
            indent = "        "
        called += [f"{indent}try:", f"{indent}    {v} = {_call(i, f.hint if inner is None else inner)}",
                   f"{indent}except PayloadError as exc:",
                   f"{indent}    raise exc.at({f.name!r}) from None"]
    if called:
        lines += ["    d1 = depth + 1", *called]
    built = ", ".join(f"{f.name!r}: v{i}" for i, f in enumerate(fields))
    if plain:
        lines += ["    obj = new(tp)", f"    obj.__dict__.update({{{built}}})", "    return obj"]
    else:
        lines += ["    try:", f"        return tp(**{{{built}}})", "    except Exception as exc:",
                  "        raise refused(exc) from None"]
    exec("\n".join(lines), scope)  # the names are a dataclass's field identifiers
    convert: Converter = scope["convert"]
    convert.__qualname__ = f"from_payload[{tp.__qualname__}].fast"
    return convert


def _call(i: int, hint: Any) -> str:
    """The expression converting `v{i}` of `hint` (an instant read before: no call)."""
    if hint is dt.datetime:
        return f"(type(v{i}) is str and iget(v{i})) or c{i}(v{i}, d1)"
    return f"c{i}(v{i}, d1)"

