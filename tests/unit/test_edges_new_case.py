"""The simulator's staff decide the 补转 of an origin the destination completed on an earlier
sheet (simulations/edges.py `resolution_for_new_case`): only for such a side, and not always,
so the checkers judge both the waiting side and the resolved one."""

from __future__ import annotations

import dataclasses
import random

from domain.protocols.casework_events import ResolveAttention
from simulations import edges
from tests.unit.test_transfer_correction_races import SMALLER, crossed, started


def test_staff_resolve_only_an_origin_left_with_a_correction_not_applied() -> None:
    world, case = started()
    crossed(world, case, SMALLER)
    origin = world.sides[(case, "610800")].state
    drawn = [edges.resolution_for_new_case(origin, random.Random(i)) for i in range(200)]
    resolved = [d for d in drawn if d is not None]
    assert all(isinstance(d, ResolveAttention) and d.note for d in resolved)
    assert 0 < len(resolved) < len(drawn)  # now and then: some wait for a person
    assert world.execute(world.sides[(case, "610800")], resolved[0])
    assert world.summary(case, "610800").terminal
    other = dataclasses.replace(origin, correction_unapplied=False)
    assert all(edges.resolution_for_new_case(other, random.Random(i)) is None for i in range(50))
    destination = world.sides[(case, "150600")].state
    assert edges.resolution_for_new_case(destination, random.Random(0)) is None
