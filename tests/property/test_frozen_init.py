"""`frozen_init.fast_init` builds the instance the dataclass's generated `__init__` builds.

Why: every event, and the values and states a decision builds most (`HOT`), are built by the
one-call `__init__` instead of the generated one (issue 17, CPUDEC). Equal is not
enough — the stored JSON and every `fold.replace` copy follow the instance dictionary's key
order — so for any arguments, the defaults left out or given, the two `__init__`s must leave
the same keys in the same order holding the same objects, accept the same signature and run the
class's `__post_init__` alike; a class the fast path would not be exact for is left alone.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import domain.protocols  # noqa: F401  (every protocol's events registered)
from domain import frozen_init
from domain.amounts import Money, Months
from domain.deadlines import Watch
from domain.frozen_init import fast_init, is_fast
from domain.kernel import Actor, SideSummary, event_types
from domain.protocols.casework import Bookkeeping
from domain.protocols.intake import Intake
from domain.protocols.transfer_sheets import InfoSheet
from domain.protocols.transfer_states import DestinationState, OriginState, OriginTrack
from domain.reckoning import WaitingLimit
from domain.values import CaseNumber, RegionCode
from regions.core.messages import LinkMessage
from regions.core.outcome import Outcome
from regions.core.sides import BatchedCommand

HOT = {Actor, SideSummary, Watch, WaitingLimit, Money, Months, RegionCode, CaseNumber,
       DestinationState, OriginState, OriginTrack, InfoSheet, Intake, Bookkeeping, Outcome,
       BatchedCommand, LinkMessage}
PATCHED = sorted(frozen_init.PATCHED, key=lambda c: f"{c.__module__}.{c.__qualname__}")

values = st.one_of(st.text(max_size=6), st.integers(), st.none(), st.booleans(),
                   st.tuples(st.text(max_size=3)), st.builds(object))


def _init(cls: type) -> Any:
    return cls.__dict__["__init__"]


def _built(init: Any, cls: type, args: list[Any], kwargs: dict[str, Any]) -> Any:
    obj: Any = object.__new__(cls)
    init(obj, *args, **kwargs)
    return obj


def _outcome(init: Any, cls: type, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """The instance, or what its `__post_init__` refused (type and message)."""
    try:
        return _built(init, cls, args, kwargs)
    except Exception as exc:
        return (type(exc), str(exc))


def _same(a: Any, b: Any) -> None:
    """The same keys in the same order, the same objects (a factory's: equal, of one type)."""
    assert list(vars(a)) == list(vars(b))
    made = {f.name for f in dataclasses.fields(a) if f.default_factory is not dataclasses.MISSING}
    for k, v in vars(a).items():
        w = vars(b)[k]
        assert v is w or (k in made and type(v) is type(w) and v == w), k


def test_every_event_and_the_hot_values_are_patched() -> None:
    events = {cls for cls in event_types().values() if cls.__module__.startswith("domain.")}
    assert len(events) > 100  # (tests register events of their own, not all by `domain_event`)
    assert {*events, *HOT} <= set(PATCHED)
    assert all(is_fast(cls) for cls in PATCHED)


@pytest.mark.parametrize("cls", PATCHED, ids=lambda c: c.__qualname__)
def test_the_signature_is_the_generated_ones(cls: type) -> None:
    new, old = inspect.signature(_init(cls)), inspect.signature(_init(cls).generated)
    assert [(p.name, p.kind) for p in new.parameters.values()] == [
        (p.name, p.kind) for p in old.parameters.values()]
    assert all(new.parameters[n].default is p.default for n, p in old.parameters.items()
               if n != "self")
    assert _init(cls).__annotations__ == _init(cls).generated.__annotations__


@settings(max_examples=300)
@given(st.sampled_from(PATCHED), st.data())
def test_an_instance_is_the_generated_inits(cls: type, data: st.DataObject) -> None:
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        optional = f.default is not dataclasses.MISSING or (
            f.default_factory is not dataclasses.MISSING)
        if optional and data.draw(st.booleans()):
            continue  # its default
        value = data.draw(values)
        if not f.kw_only and not kwargs and data.draw(st.booleans()):
            args.append(value)
        else:
            kwargs[f.name] = value
    new = _outcome(_init(cls), cls, args, kwargs)
    old = _outcome(_init(cls).generated, cls, args, kwargs)
    if isinstance(old, tuple):
        assert new == old  # the class's own checks refused both alike
    else:
        _same(new, old)


def test_factories_post_init_and_positions_as_generated() -> None:
    seen: list[Any] = []

    @fast_init
    @dataclasses.dataclass(frozen=True)
    class Sample:
        a: int
        b: list[int] = dataclasses.field(default_factory=list)
        c: str = "c"
        d: tuple[int, ...] = dataclasses.field(default=(), kw_only=True)

        def __post_init__(self) -> None:
            seen.append(dict(vars(self)))

    assert is_fast(Sample)
    calls: list[tuple[list[Any], dict[str, Any]]] = [
        ([1], {}), ([1, [2]], {"d": (3,)}), ([], {"a": 1, "c": "x"})]
    for args, kwargs in calls:
        new = _built(_init(Sample), Sample, args, kwargs)
        old = _built(_init(Sample).generated, Sample, args, kwargs)
        assert list(vars(new)) == list(vars(old)) == ["a", "b", "c", "d"]
        assert vars(new) == vars(old)
        assert seen[-1] == seen[-2] == vars(new)
    assert Sample(1).b is not Sample(1).b  # a new list each time, as the factory makes
    with pytest.raises(TypeError):
        Sample(1, [], "c", ())  # type: ignore[misc]  # d is keyword-only
    with pytest.raises(dataclasses.FrozenInstanceError):
        Sample(1).a = 2  # type: ignore[misc]


def test_a_class_it_would_not_be_exact_for_is_left_alone() -> None:
    @dataclasses.dataclass
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True)
    class Hidden:
        a: int
        b: int = dataclasses.field(default=0, init=False)

    @dataclasses.dataclass(frozen=True)
    class Via:
        a: int
        scale: dataclasses.InitVar[int] = 1

    @dataclasses.dataclass(frozen=True)
    class Own:
        a: int

        def __init__(self, a: int) -> None:
            object.__setattr__(self, "a", a * 2)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Slotted:
        a: int

    for cls in (Mutable, Hidden, Via, Own, Slotted):
        init = _init(cls)
        assert fast_init(cls) is cls and _init(cls) is init and not is_fast(cls)
