"""An inbox batch saves each link's state with `_Link.copy` (hand-written for speed): it must
copy every field, and its dicts must be its own, or a failed batch would not be undone."""

from __future__ import annotations

import dataclasses
import datetime as dt

from regions.core.inbox import _Link


def test_a_link_copy_carries_every_field_and_owns_its_dicts() -> None:
    values = {"recorded": 3, "announced": 9, "held": {5: object()}, "dropped": 2,
              "poisoned": {4: "quarantined:150600:4"},
              "gap_since": dt.datetime(2026, 3, 2, tzinfo=dt.UTC), "gap_from": 3,
              "asked_at": dt.datetime(2026, 3, 2, 0, 1, tzinfo=dt.UTC)}
    assert set(values) == {f.name for f in dataclasses.fields(_Link)}, "copy() misses a field"
    link = _Link(**values)  # type: ignore[arg-type]
    copied = link.copy()
    assert copied == link
    assert copied.held is not link.held and copied.poisoned is not link.poisoned
