"""A link batch nested past the parser's reach is refused on its bytes, before any parse.

Why: the JSON parser recurses once a level; on a batch nested thousands deep it reaches the
interpreter's recursion limit before it raises. Any finalizer the garbage collector runs at that
depth (a weakref callback, a `__del__`) then fails as an unraisable exception — in a node, a
dead key left in a `WeakKeyDictionary` or a resource not released; in CI, pytest's unraisable
hook failed to format it, 2026-12-07 (the seed batch's hostile `deep` messages)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from regions.wire import envelope, link

DEEP = b"[" * 2_500 + b"]" * 2_500


class _Cycle:
    """Cyclic garbage whose finalizer needs a little stack of its own."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _descend(30)


def _descend(n: int) -> int:
    return 0 if n == 0 else _descend(n - 1)


@pytest.fixture()
def unraisable(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    seen: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(repr(u.exc_value)))
    thresholds = gc.get_threshold()
    yield seen
    gc.set_threshold(*thresholds)


def test_a_batch_nested_past_the_bound_is_refused_as_too_deep() -> None:
    with pytest.raises(link.DecodeError, match=envelope.WireReason.TOO_DEEP.value):
        link.members(DEEP)


def test_no_finalizer_runs_at_the_parsers_recursion_limit(unraisable: list[str]) -> None:
    """Wherever a collection falls during the refusal, every finalizer it runs completes: the
    sweep of thresholds put one at ~975 levels deep in the old parse-first code."""
    for threshold in range(100, 2_600, 25):
        gc.collect()
        gc.set_threshold(threshold)
        _Cycle()
        with pytest.raises(link.DecodeError):
            link.members(DEEP)
    assert unraisable == []
