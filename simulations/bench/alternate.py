"""Old code against new, alternately in one process: the one way the micro-benches measure.

Why alternately and by medians: this machine is shared and noisy; two runs minutes apart differ
more than most levers do. Each round runs the old then the new on the same data, so a busy
neighbour slows both; the median of the rounds drops the outliers.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def cpu_us(fn: Callable[[], Any], items: int) -> float:
    """The process CPU one call of `fn` takes, in microseconds per item it handles."""
    started = time.process_time()
    fn()
    return (time.process_time() - started) / items * 1e6


def alternate(old: Callable[[], Any], new: Callable[[], Any], items: int, rounds: int,
              baseline: Callable[[], Any] | None = None) -> tuple[float, float]:
    """Medians of `rounds` alternating runs, µs per item; `baseline` (setup both include) is
    measured in the same round and taken off."""
    olds: list[float] = []
    news: list[float] = []
    for _ in range(rounds):
        base = cpu_us(baseline, items) if baseline is not None else 0.0
        olds.append(cpu_us(old, items) - base)
        news.append(cpu_us(new, items) - base)
    return statistics.median(olds), statistics.median(news)
