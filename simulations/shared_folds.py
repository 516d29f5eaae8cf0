"""One protocol fold of each committed event for two of the simulator's checks.

Why: the transition check (`inv.TransitionWatch`, fed as a side commits) and the live case views
(`simulations.projection_checks`, caught up after the step) each folded every event of every
side through the protocol's `evolve`, from nothing, in the same order and with the very same
event objects (the node hands its readers the event it saved: `SideEvent.with_event`). `evolve`
is a pure function of the state before and the event (a state is never changed in place), so
the second fold may take the first one's result: the live views look up the state the
transition check made from the *same* state object and the *same* event object (`is`, both held
by the entry so neither id is reused), and fold it themselves when there is none (the first
event after a side ended, which the transition check does not fold; an event the check has not
seen yet). Each entry is taken once and the whole memo is dropped after each step's checks, so
it holds one step's folds at most.

What stays independent: the node's own fold (the live views are still compared with the
summary of the node's state, `checkers.summary_of`), and the end's replay, which folds every
record from its payload decoded afresh with the protocols' own deciders (`RegionViews.replay`).
"""

from __future__ import annotations

from typing import Any

from domain.kernel import Event


class SharedFolds:
    """`evolve` results the transition check made, for the live views to take once."""

    def __init__(self) -> None:
        self._made: dict[tuple[int, int, Any], tuple[Any, Event, Any]] = {}
        self.taken = 0
        self.folded = 0

    def clear(self) -> None:
        self._made.clear()

    def making(self, decider: Any) -> Any:
        """`decider`, its `evolve` results kept (the transition check's)."""
        return _Folding(decider, self, keep=True)

    def taking(self, decider: Any) -> Any:
        """`decider`, its `evolve` taking a kept result when there is one (the live views')."""
        return _Folding(decider, self, keep=False)


def _kind(decider: Any) -> Any:
    """What fixes `evolve`: the decider's class and its process spec (a restart builds new
    deciders from the same specs; the rules it is built with only decide, never fold)."""
    return (type(decider), id(getattr(decider, "spec", None)))


class _Folding:
    def __init__(self, decider: Any, folds: SharedFolds, *, keep: bool) -> None:
        self._decider = decider
        self._folds = folds
        self._keep = keep
        self._kind = _kind(decider)

    def evolve(self, state: Any, event: Event) -> Any:
        made = self._folds._made
        key = (id(state), id(event), self._kind)
        if self._keep:
            new = self._decider.evolve(state, event)
            made[key] = (state, event, new)
            return new
        known = made.pop(key, None)
        if known is not None and known[0] is state and known[1] is event:
            self._folds.taken += 1
            return known[2]
        self._folds.folded += 1
        return self._decider.evolve(state, event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._decider, name)
