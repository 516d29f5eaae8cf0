"""The idempotency-cost bench runs both ways and leaves the node's idempotency as it found it."""

from __future__ import annotations

from regions.core import idempotency
from simulations.bench import idempotency_cost


def test_both_ways_alternate_and_the_records_are_put_back() -> None:
    claim, record = idempotency.Idempotency.claim, idempotency.Idempotency.record
    runs = idempotency_cost.run(rounds=2, cases=10, dsn="")
    assert {mode: len(r) for mode, r in runs.items()} == {"records": 2, "none": 2}
    assert all(r["commands"] == runs["records"][0]["commands"] for r in runs["none"])
    assert idempotency.Idempotency.claim is claim
    assert idempotency.Idempotency.record is record
