"""Edge-seeking workload: fault shapes biased toward the boundaries the protocols decide on,
and the record of which edges a run reached.

Why: uniform faults almost never land on a boundary (a 1–100 fen shortfall is one fen short
once in a hundred), so a reconciliation off by one fen ran unseen (issue 16). Each edge here is
drawn on purpose, counted in `reached`, and the CI batch asserts every one of them happened
(tests/e2e/test_seed_batch.py), so the workload cannot drift away from them.
"""

from __future__ import annotations

import random
from collections import Counter

from simulations import closing, timing

#: What a bank credit notice does to the remitted amount, when the run's finance fault fires.
CREDIT_EDGES = ("one_fen_short", "one_fen_over", "split_exact", "short")
#: Edges every CI batch must reach (names in `reached`).
EDGES = (*(f"credit_{edge}" for edge in CREDIT_EDGES), "publish_failed_then_retried",
         *timing.EDGES, *closing.EDGES, "calendar_install_moved_later")


def credits(amount: int, rng: random.Random, reached: Counter[str]) -> list[int]:
    """The credits a destination's finance side sees for one remittance of `amount` fen."""
    if amount < 2:
        return [amount]
    # The least reached edge next, the boundaries first: a run sees few short credits (one or
    # two), and a random pick among four left a three-seed batch without a one-fen shortfall,
    # so a reconciliation tolerating it went unseen (issue 16's mutation score).
    fewest = min(reached[f"credit_{e}"] for e in CREDIT_EDGES)
    edge = next(e for e in CREDIT_EDGES if reached[f"credit_{e}"] == fewest)
    reached[f"credit_{edge}"] += 1
    if edge == "one_fen_short":
        return [amount - 1]
    if edge == "one_fen_over":
        return [amount + 1]
    if edge == "split_exact":
        first = rng.randint(1, amount - 1)
        return [first, amount - first]
    return [amount - rng.randint(1, min(100, amount - 1))]
