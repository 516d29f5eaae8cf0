"""A group commit reads its sides together: one query on PostgreSQL for the whole batch, and a
new case's side, found absent there, is not read again on its own (issue 17)."""

from __future__ import annotations

import datetime as dt
import uuid

from regions.adapters.stores.sql import PostgresStore, RegionChannelRecorder
from regions.core.config import RegionConfig
from regions.core.sides import side_id
from regions.runtime.bootstrap import build_region
from simulations.bench.autopilot import submission

DESTINATION, ORIGIN = "150600", "610800"


def test_a_batch_of_new_cases_reads_its_sides_in_one_query_and_each_side_never_alone(
        postgres_dsn: str) -> None:
    store = PostgresStore(postgres_dsn, schema_prefix=f"tbt{uuid.uuid4().hex[:8]}_")
    try:
        now = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)
        region = build_region(RegionConfig(region=DESTINATION, peers=(ORIGIN,)),
                              clock=lambda: now, ids=uuid.uuid4, broker=None, store=store)
        recorder = region.node.app.recorder
        assert isinstance(recorder, RegionChannelRecorder)
        calls = {"one": 0, "many": 0}
        read_alone: list[uuid.UUID] = []
        one, many = recorder.select_events, recorder.select_events_of

        def select_one(originator_id, **kwargs):
            calls["one"] += 1
            read_alone.append(originator_id)
            return one(originator_id, **kwargs)

        def select_many(ids):
            calls["many"] += 1
            return many(ids)

        recorder.select_events = select_one  # type: ignore[method-assign]
        recorder.select_events_of = select_many  # type: ignore[method-assign]
        batch = [submission(DESTINATION, ORIGIN, i, now, uuid.uuid4()) for i in range(20)]
        outcomes = region.node.run_batch(batch, now)
        assert all(o.ok for o in outcomes), outcomes
        assert calls["many"] == 1
        side_reads = calls["one"]
        assert side_reads == 0, f"{side_reads} single reads for 20 new sides"
        # the same requests again (a retry): the sides are in memory now and are not read (the
        # stored outcomes are, after the conflict: regions.core.idempotency)
        again = region.node.run_batch(batch, now)
        assert again == outcomes
        assert calls["many"] == 1
        sides = {side_id(b.case_id, DESTINATION) for b in batch}
        assert not sides & set(read_alone)
        views = [region.node.side(b.case_id) for b in batch]
        assert all(v is not None and v.version >= 1 for v in views)
    finally:
        store.drop_all()
        store.close()
