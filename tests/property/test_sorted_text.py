"""`domain.sorted_text.sorted_text` is the request hash's text, character for character:
`json.dumps(to_payload(value), sort_keys=True, ensure_ascii=False, default=str)`.

Why: the request hash is stored with every idempotent command's outcome and a retry is matched
against it; a text that differed in one character for one value would refuse that value's
retries after an upgrade. Every event and command class and every dataclass they nest, with
values their hints allow and values they do not (the writer, like the encoder, never looks at
hints), any nesting of lists, tuples and dicts, `str`/`int`/`float` subclasses, values no branch
converts (written through `default=str`), NaN and the infinities, and naive instants (refused
by both, with the same error).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import encoding
from domain.encoding import BRANCHES, SCALARS, to_payload
from domain.payloads import PayloadError
from domain.sorted_text import _BRANCH_WRITERS, sorted_text
from simulations.bench.conversions import captured
from tests.property.test_payload_encoding import CLASSES, anything, instance_of


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Ratio(float):
    """A `float` subclass: not a scalar by exact type."""


class Opaque:
    """No branch converts it: `default=str` writes its `str`."""

    def __str__(self) -> str:
        return "opaque \"value\"\n"


odd = st.one_of(st.sampled_from([Colour.RED, Level.HIGH, Opaque(), Ratio(1.5), Ratio("nan"),
                                 float("inf"), float("-inf"), float("nan"), 10**30, -0.0]),
                st.floats().map(Ratio))
values = st.recursive(st.one_of(anything, odd), lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(st.one_of(st.text(max_size=4), st.integers(), st.booleans(), st.none()),
                    inner, max_size=3)), max_leaves=8)


def _text(write: Any, value: Any) -> tuple[str, str]:
    try:
        return "ok", write(value)
    except PayloadError as exc:
        return "refused", f"{exc.code}: {exc}"


def formula(value: Any) -> str:
    return json.dumps(to_payload(value), sort_keys=True, ensure_ascii=False, default=str)


def check(value: Any) -> None:
    assert _text(sorted_text, value) == _text(formula, value)


def test_there_are_classes_to_test() -> None:
    assert len(CLASSES) > 100


@settings(max_examples=300)
@given(st.sampled_from(CLASSES).flatmap(instance_of))
def test_any_event_or_command_is_written_as_the_formula_writes_it(value: Any) -> None:
    check(value)


@settings(max_examples=300)
@given(values)
def test_any_value_is_written_as_the_formula_writes_it(value: Any) -> None:
    check(value)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__qualname__)
@settings(max_examples=3)
@given(data=st.data())
def test_every_class_is_written_as_the_formula_writes_it(cls: type, data: st.DataObject) -> None:
    check(data.draw(instance_of(cls)))


def test_every_hashed_command_of_a_run_is_written_as_the_formula_writes_it() -> None:
    _, commands = captured(20)
    assert len(commands) > 100
    for command in commands:
        check(command)


# ------------------------------------------------- the types `to_payload` dispatches on


def _dispatched_types() -> list[type]:
    """Every type `to_payload` names in its dispatch — its exact scalars and its branches'
    types — read from `domain.encoding` itself, so that a type added there is tested here
    without anyone listing it (a dataclass, the one branch by predicate, is every class above)."""
    named = {*SCALARS, *(t for types, _ in BRANCHES for t in types)}
    return sorted(named, key=lambda t: t.__qualname__)


def _subclass_value(kind: type, value: Any) -> Any | None:
    """`value` as an instance of a subclass of `kind` (which takes `kind`'s branch of
    `to_payload` by `issubclass`, but no exact-type shortcut): None when `kind` takes none."""
    try:
        sub = type(f"Sub{kind.__name__.title()}", (kind,), {})
    except TypeError:  # `bool`, `NoneType`
        return None
    try:
        return sub(value)
    except TypeError:  # an instant or a date: rebuilt from its pickled state
        return sub(*value.__reduce__()[1])


def test_the_dispatch_names_the_types_this_module_tests() -> None:
    assert {str, int, float, bool, type(None), dt.datetime, dt.date, list, tuple,
            dict} <= set(_dispatched_types())


def test_every_branch_of_to_payload_has_its_writer() -> None:
    """`sorted_text` dispatches through `encoding.BRANCHES`: each encoder there has its writer
    (and a value no branch converts, `encoding._same`, has one)."""
    for types, encode in BRANCHES:
        assert encode in _BRANCH_WRITERS, f"{types}: no writer in domain.sorted_text"
    assert encoding._same in _BRANCH_WRITERS


@pytest.mark.parametrize("kind", _dispatched_types(), ids=lambda t: t.__qualname__)
@settings(max_examples=40)
@given(data=st.data())
def test_every_type_to_payload_dispatches_on_is_written_alike(kind: type,
                                                              data: st.DataObject) -> None:
    """A value of each type the dispatch names, and of a subclass of it, is written as the
    formula writes it (or refused alike: `from_type`'s instants are naive; aware ones are in
    every event above) — alone and inside each container the dispatch knows."""
    value = data.draw(st.from_type(kind))
    check(value)
    check([value])
    check((value, value))
    check({"k": value})
    sub = _subclass_value(kind, value)
    if sub is not None:
        check(sub)
        check({"k": [sub]})
