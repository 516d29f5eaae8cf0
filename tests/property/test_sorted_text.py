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

import enum
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.encoding import to_payload
from domain.payloads import PayloadError
from domain.sorted_text import sorted_text
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
