"""`check_depth` (regions/wire/depth.py) refuses what its first form refused, on any text.

Why: the check stands before every parse of a message (a link batch, a single message, a feed
message) so that no parse reaches the interpreter's recursion limit; its quick ways
(`_unquoted`'s cut at the quotes, `_nests_within`'s passes) must neither let through a
text the rule refuses nor refuse one it lets through — JSON or garbage, strings holding
brackets, quotes and escapes, nesting near the bound. The oracle is the check as it stood
before them (commit f8d1282): the strings cut out by the regex, then every bracket stepped
through.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from regions.wire import depth as wire_depth
from regions.wire import envelope

_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


def oracle(data: bytes | str, limit: int) -> bool:
    """True when the check as of f8d1282 refuses `data` (its code, verbatim but the raise)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if raw.count(b"{") + raw.count(b"[") <= limit:
        return False
    depth = 0
    for bracket in _BRACKETS.finditer(_STRINGS.sub(b'""', raw)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def refused(data: bytes | str, limit: int) -> bool:
    """Whether `check_depth` refuses `data`, the same taken as small and as large (counted as
    it is, or its marks made first; the passes stopped only by a thick text, or by any pass
    that does not remove a quarter)."""
    found = set()
    small, thin = wire_depth._SMALL, wire_depth._THIN
    for size in (small, 0):  # and the passes stopped by any pass that is not thick, or not
        setattr(wire_depth, "_SMALL", size)  # noqa: B010  (Finals, set for this check)
        setattr(wire_depth, "_THIN", size and thin)  # noqa: B010
        try:
            wire_depth.check_depth(data, limit)
            found.add(False)
        except envelope.WireError as exc:
            assert exc.reason is envelope.WireReason.TOO_DEEP
            assert str(exc).endswith(f"JSON nested deeper than {limit} levels")
            found.add(True)
        finally:
            setattr(wire_depth, "_SMALL", small)  # noqa: B010
            setattr(wire_depth, "_THIN", thin)  # noqa: B010
    assert len(found) == 1
    return found.pop()


#: Text that strings are made of here: brackets, quotes, escapes, a newline, a letter.
TRICKY = st.text(alphabet='[]{}"\\\n a/\u7a97', max_size=8)
LIMITS = st.integers(0, 6) | st.just(envelope.MAX_WIRE_DEPTH)

values = st.recursive(
    st.none() | st.integers(-5, 5) | TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY, inner, max_size=3),
    max_leaves=12)


def nested(depth: int, inner: Any) -> Any:
    for level in range(depth):
        inner = [inner] if level % 2 else {"k[": inner, "\\{": "]"}
    return inner


@st.composite
def json_texts(draw: st.DrawFn) -> bytes:
    """Well-formed JSON: random values, sometimes wrapped to a depth near the real bound, some
    in an array of several (a batch's form); written escaped to ASCII or not."""
    value = draw(values)
    if draw(st.booleans()):
        bound = envelope.MAX_WIRE_DEPTH
        value = nested(draw(st.integers(bound - 3, bound + 2)), value)
    if draw(st.booleans()):
        value = [value, *draw(st.lists(values, max_size=3))]
    return json.dumps(value, ensure_ascii=draw(st.booleans())).encode()


@st.composite
def garbage(draw: st.DrawFn) -> bytes:
    """Anything: brackets unbalanced or mismatched, quotes unpaired, escapes outside strings,
    pieces of JSON cut and glued."""
    parts = draw(st.lists(
        st.text(alphabet='[]{}"\\\n,:a ', max_size=30).map(str.encode)
        | st.text(alphabet='[]"\\\n', max_size=12).map(str.encode)
        | json_texts().map(lambda t: t[:len(t) // 2])
        | json_texts().map(lambda t: t[len(t) // 3:])
        | st.integers(0, 80).map(lambda k: b"[" * k)
        | st.integers(0, 80).map(lambda k: b"}" * k),
        max_size=5))
    return b"".join(parts)


settings_ = settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow],
                     deadline=None)


@settings_
@given(data=json_texts(), limit=LIMITS)
@example(data=b'["\\\\"]', limit=0)
@example(data=b'[["a\\"b"]]', limit=1)
def test_json_is_refused_as_the_oracle_refuses_it(data: bytes, limit: int) -> None:
    assert refused(data, limit) == oracle(data, limit)


@settings_
@given(data=garbage(), limit=LIMITS)
@example(data=b'"\\\n" [[', limit=1)
@example(data=b'"[[\\\n"', limit=1)  # a backslash before a newline: no string matched here
@example(data=b'[ "\\" [[ ', limit=1)
@example(data=b']][[[', limit=2)
@example(data=b'["[""', limit=1)  # the last quote unpaired: not one of two in a row
@example(data=b'\\"[" ]', limit=0)
def test_any_text_is_refused_as_the_oracle_refuses_it(data: bytes, limit: int) -> None:
    assert refused(data, limit) == oracle(data, limit)
    assert refused(data.decode("latin-1"), limit) == oracle(data.decode("latin-1"), limit)


@settings_
@given(depth=st.integers(0, 12), limit=st.integers(0, 12), strings=st.lists(TRICKY, max_size=4))
def test_balanced_nesting_is_refused_exactly_past_the_limit(
        depth: int, limit: int, strings: list[str]) -> None:
    text = json.dumps(nested(depth, strings)).encode()
    assert refused(text, limit) == (depth + 1 > limit) == oracle(text, limit)


def test_a_batch_of_events_nested_at_and_past_the_bound() -> None:
    """Near the real bound in a batch's form: members with escaped quotes and brackets in
    strings, one of them nested to the bound and one level past it."""
    bound = envelope.MAX_WIRE_DEPTH
    for depth, past, quote in ((bound, False, ""), (bound + 1, True, ""),
                               (bound, False, '"'), (bound + 1, True, '"')):
        event = {"type": "t", "data": {"role": f"\\{quote}[窗口]", "lines": [["a", "[b]"]] * 5}}
        deep = {"d": nested(depth - 1, f"]]{quote}[[")}
        for ascii_ in (True, False):
            text = json.dumps([event] * 30 + [deep] + [event] * 30,
                              ensure_ascii=ascii_).encode()
            assert refused(text, bound + 1) == past == oracle(text, bound + 1)
