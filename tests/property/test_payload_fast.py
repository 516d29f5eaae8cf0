"""A dataclass converter's fast path (`domain.payload_fast`) decodes as the full converter did.

Why: the fast path answers the common payload itself (every key, no other, values of their JSON
types) and hands anything else to the full converter; a peer's event and a back-end's command
are refused there (issue 11, item 3), so the fast path must not let in anything the full one
refuses, nor refuse anything it lets in, nor say a refusal differently. For data of every event
and command class — encoded instances, then with a key dropped, added or replaced, a string
given a control character, a tab, a lone surrogate or one character too many, an integer one
past 64 bits, or garbage — both give an equal value with the same representation, or the same
refusal (code, field path and words).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import payloads
from domain.kernel import event_from_payload
from domain.payloads import MAX_DEPTH, MAX_INT, MAX_TEXT, Converter, from_payload
from tests.property import test_payload_decoding as decoding
from tests.property.test_payload_decoding import CLASSES, mutated
from tests.property.test_payload_encoding import anything

_full: dict[Any, Converter] = {}


@contextlib.contextmanager
def full_only() -> Iterator[None]:
    """Decoding by the full converters alone (their own cache, kept between uses)."""
    saved = payloads._converters, payloads.fast_path
    payloads._converters = _full
    payloads.fast_path = lambda tp, fields, plain, slow, converter: slow
    try:
        yield
    finally:
        payloads._converters, payloads.fast_path = saved


def check(cls: type, data: Any) -> None:
    decoding.check(cls, data, full_only)


#: Values at the edges of the inline checks: each refused or accepted by one test only.
edges: st.SearchStrategy[Any] = st.sampled_from([
    "tab\there", "line\nbreak", "bell\x07", "del\x7f", "lone \ud800", "nbsp\u00a0", "zwj\u200d",
    "x" * MAX_TEXT, "x" * (MAX_TEXT + 1), "", MAX_INT, -MAX_INT, MAX_INT + 1, -MAX_INT - 1,
    True, 0, 1.5, None, [], {},
])


@st.composite
def edged(draw: st.DrawFn, cls: type) -> Any:
    """A mutated payload of `cls` with one field's value, if any, at an edge."""
    data = draw(mutated(cls))
    if isinstance(data, dict) and data and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(data, key=repr)))
        data = {**data, key: draw(edges)}
    return data


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__qualname__)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_every_class_decodes_as_the_full_converter_did(cls: type, data: st.DataObject) -> None:
    check(cls, data.draw(edged(cls)))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CLASSES).flatmap(lambda cls: st.tuples(st.just(cls), edged(cls))))
def test_any_data_decodes_as_the_full_converter_did(drawn: tuple[type, Any]) -> None:
    check(*drawn)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(CLASSES), anything)
def test_garbage_is_refused_as_the_full_converter_refused_it(cls: type, data: Any) -> None:
    check(cls, data)


@dataclass(frozen=True)
class Node:
    """A type nesting itself (compiled lazily), filled without its `__init__`."""

    name: str
    children: tuple[Node, ...] = ()
    weight: int | None = None


@dataclass(frozen=True)
class Checked:
    """A type with rules of its own (`__post_init__`): built by its `__init__`."""

    low: int
    high: int
    inner: Node | None = None

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"{self.low} above {self.high}")


nodes: st.SearchStrategy[Any] = st.recursive(
    st.fixed_dictionaries({"name": st.one_of(st.text(max_size=3), edges),
                           "children": st.just([]), "weight": st.one_of(st.none(), edges)}),
    lambda inner: st.fixed_dictionaries(
        {"name": st.one_of(st.text(max_size=3), edges), "children": st.lists(inner, max_size=3)},
        optional={"weight": st.integers(-3, 3)}),
    max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(st.one_of(nodes, anything))
def test_a_type_nesting_itself_decodes_as_the_full_converter_did(data: Any) -> None:
    check(Node, data)


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({"low": st.one_of(edges, st.integers(-2, 2)),
                              "high": st.integers(-2, 2), "inner": st.one_of(nodes, st.none())}))
def test_a_type_with_rules_of_its_own_decodes_as_the_full_converter_did(data: Any) -> None:
    check(Checked, data)


@pytest.mark.parametrize("levels", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 3 * MAX_DEPTH])
def test_nesting_is_refused_at_the_same_depth(levels: int) -> None:
    """As deep as the limit and past it: the same value or the same `nested deeper` refusal,
    at the same path."""
    data: Any = {"name": "leaf"}
    for level in range(levels):
        data = {"name": f"n{level}", "children": [data], "weight": level}
    check(Node, data)
    check(Checked, {"low": 0, "high": 1, "inner": data})


def test_every_event_of_a_simulated_run_decodes_as_before() -> None:
    for type_, payload, version in decoding.stored_payloads():
        fast = event_from_payload(type_, payload, version)
        with full_only():
            full = event_from_payload(type_, payload, version)
        assert type(fast) is type(full) and repr(fast) == repr(full) and fast == full


def test_the_common_case_takes_the_fast_path() -> None:
    """The converter a type's payloads meet is the fast one (else the figures measure nothing)."""
    assert from_payload(Node, {"name": "a", "children": [], "weight": None}) == Node("a")
    assert payloads.converter(Node).__qualname__ == f"from_payload[{Node.__qualname__}].fast"
