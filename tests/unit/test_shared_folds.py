"""The live views take the transition check's fold of an event only for the very same state and
event objects, once (simulations.shared_folds); anything else is folded by the decider itself."""

from __future__ import annotations

from typing import Any

from simulations.shared_folds import SharedFolds


class Counting:
    """A decider whose `evolve` appends the event to a tuple state, counting its calls."""

    spec = object()

    def __init__(self) -> None:
        self.calls = 0

    def evolve(self, state: Any, event: Any) -> Any:
        self.calls += 1
        return (*(state or ()), event)

    def summary(self, state: Any) -> str:
        return f"{len(state)} events"


class Event:
    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:  # equal, yet not the same object
        return isinstance(other, Event) and other.name == self.name

    __hash__ = None  # type: ignore[assignment]


def test_the_same_state_and_event_are_folded_once_for_both() -> None:
    folds, decider = SharedFolds(), Counting()
    making, taking = folds.making(decider), folds.taking(decider)
    first, second = Event("a"), Event("b")
    s1 = making.evolve(None, first)
    s2 = making.evolve(s1, second)
    assert taking.evolve(None, first) is s1 and taking.evolve(s1, second) is s2
    assert decider.calls == 2 and (folds.taken, folds.folded) == (2, 0)
    assert taking.summary(s2) == "2 events"  # everything else is the decider's


def test_an_equal_event_or_state_that_is_another_object_is_folded_again() -> None:
    folds, decider = SharedFolds(), Counting()
    making, taking = folds.making(decider), folds.taking(decider)
    s1 = making.evolve(None, Event("a"))
    assert taking.evolve(None, Event("a")) == s1  # equal event, another object
    making.evolve(s1, Event("b"))
    assert taking.evolve(tuple(s1), Event("b")) is not None  # an equal state, another object
    assert decider.calls == 4 and (folds.taken, folds.folded) == (0, 2)


def test_a_fold_is_taken_once_and_dropped_with_the_step() -> None:
    folds, decider = SharedFolds(), Counting()
    making, taking = folds.making(decider), folds.taking(decider)
    event = Event("a")
    made = making.evolve(None, event)
    assert taking.evolve(None, event) is made
    taking.evolve(None, event)  # taken already: folded again
    making.evolve(None, event)
    folds.clear()
    taking.evolve(None, event)
    assert (folds.taken, folds.folded) == (1, 2)


def test_another_kind_of_decider_never_takes_the_fold() -> None:
    folds = SharedFolds()
    one, other = Counting(), Counting()
    other.spec = object()  # another process's spec
    event = Event("a")
    folds.making(one).evolve(None, event)
    folds.taking(other).evolve(None, event)
    assert (folds.taken, folds.folded) == (0, 1)
