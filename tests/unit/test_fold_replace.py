"""`domain.fold.replace` gives what `dataclasses.replace` gives, only cheaper."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from domain.fold import replace


@dataclass(frozen=True)
class Plain:
    a: int
    b: tuple[str, ...] = ()
    c: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Checked:
    a: int

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("a must be >= 0")


def test_a_plain_frozen_state_is_copied_with_the_changes_and_equals_what_dataclasses_gives(
        ) -> None:
    before = Plain(1, ("x",), {"k": 1})
    after = replace(before, a=2, c={"k": 2})
    assert after == dataclasses.replace(before, a=2, c={"k": 2})
    assert before == Plain(1, ("x",), {"k": 1})  # the original is untouched
    assert after.b is before.b  # unchanged fields are shared, as dataclasses.replace shares
    with pytest.raises(dataclasses.FrozenInstanceError):
        after.a = 3  # type: ignore[misc]


def test_an_unknown_field_is_refused_like_dataclasses_does() -> None:
    with pytest.raises(TypeError, match="zz"):
        replace(Plain(1), zz=1)


def test_a_class_with_post_init_still_runs_its_checks() -> None:
    assert replace(Checked(1), a=2) == Checked(2)
    with pytest.raises(ValueError, match="a must be"):
        replace(Checked(1), a=-1)


def test_the_transfer_states_take_the_fast_path() -> None:
    from domain.fold import _plain_fields
    from domain.protocols.transfer_states import DestinationState, OriginState

    assert _plain_fields(DestinationState) is not None
    assert _plain_fields(OriginState) is not None
