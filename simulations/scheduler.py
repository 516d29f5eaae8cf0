"""One seeded scheduler with virtual time: the only source of time and randomness in a run.

Why: a seed (plus the commit) must reproduce a run exactly, whatever PYTHONHASHSEED, the wall
clock or TZ. Actions sit in a heap ordered by (virtual instant, insertion number); nothing sleeps.
Each component draws from its own `random.Random` stream, seeded by a string (hashed with SHA-512
by `random`, not by Python's salted `hash`), so adding a component never perturbs the others.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
import uuid
from collections.abc import Callable

EPOCH = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # a Monday, 09:00 in China


#: A scheduled action: (virtual instant, insertion number, name, action). A plain tuple, not an
#: ordered dataclass: the heap compares entries in C, and the insertion number, unique, decides
#: every tie before the name or the action is reached (an ordered dataclass's `__lt__` built
#: two tuples per comparison: 1.5 % of a 2,000-case run).
_Entry = tuple[dt.datetime, int, str, Callable[[], None]]


class Scheduler:
    def __init__(self, seed: int, start: dt.datetime = EPOCH) -> None:
        self.seed = seed
        self.now = start
        self._heap: list[_Entry] = []
        self._seq = 0
        self._streams: dict[str, random.Random] = {}
        self.steps = 0

    def rng(self, component: str) -> random.Random:
        stream = self._streams.get(component)
        if stream is None:
            stream = self._streams[component] = random.Random(f"{self.seed}:{component}")
        return stream

    def ids(self, component: str) -> Callable[[], uuid.UUID]:
        rng = self.rng(f"ids:{component}")
        return lambda: uuid.UUID(int=rng.getrandbits(128), version=4)

    def at(self, when: dt.datetime, name: str, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (max(when, self.now), self._seq, name, action))

    def after(self, delay: dt.timedelta, name: str, action: Callable[[], None]) -> None:
        self.at(self.now + delay, name, action)

    def pending(self) -> int:
        return len(self._heap)

    def next_at(self) -> dt.datetime | None:
        return self._heap[0][0] if self._heap else None

    def step(self) -> str | None:
        """Run the next action; its name, or None when nothing is left."""
        if not self._heap:
            return None
        self.now, _, name, action = heapq.heappop(self._heap)
        self.steps += 1
        action()
        return name
