"""Which dataclasses the compiled decoder fills without their `__init__` (`payloads._plain`).

Why: filling a frozen dataclass's `__dict__` directly is only the same as calling its `__init__`
when that `__init__` is the generated one and nothing else runs at construction — a
`__post_init__` check (a value object's rules), a `__new__`, an `init=False` field, `__slots__`.
Such a class must still be built by its constructor, so its rules still refuse bad data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from domain.payloads import PayloadError, _plain, from_payload


@dataclass(frozen=True)
class Plain:
    name: str
    count: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Checked:
    name: str

    def __post_init__(self) -> None:
        if self.name == "bad":
            raise ValueError("bad name")


@dataclass(frozen=True)
class Derived:
    name: str
    upper: str = field(init=False, default="")


@dataclass(frozen=True)
class Made:
    name: str

    def __new__(cls, *args: Any, **kwargs: Any) -> Made:
        made = super().__new__(cls)
        object.__setattr__(made, "made", True)
        return made


def test_only_a_plain_frozen_dataclass_is_filled_directly() -> None:
    assert _plain(Plain)
    assert not _plain(Checked) and not _plain(Derived) and not _plain(Made)


def test_a_plain_class_gets_its_defaults_and_factories() -> None:
    value = from_payload(Plain, {"name": "x"})
    assert value == Plain("x") and value.tags == () and list(vars(value)) == ["name", "count",
                                                                             "tags"]


def test_a_class_with_rules_is_still_built_by_its_constructor() -> None:
    with pytest.raises(PayloadError, match="bad name"):
        from_payload(Checked, {"name": "bad"})
    assert from_payload(Made, {"name": "x"}).made
    assert from_payload(Derived, {"name": "x"}) == Derived("x")
