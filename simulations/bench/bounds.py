"""The raw bounds: what PostgreSQL, eventsourcing and JetStream do on this machine, alone.

Each is measured the way the node uses the component, minus everything else:
- PostgreSQL single-row commits: one connection, `INSERT` of one row and `COMMIT`, repeated
  (what a transaction costs when nothing is batched; pgbench -c1 in throughput.md);
- eventsourcing's batched insert: `Application.save` of 100 three-event aggregates at a time
  into one events table (the library's lock, NOTIFY and composite-array insert included);
- JetStream durable publish: `publish_async` pipelined, acks awaited, on a stream with file
  storage on a server with `sync_interval: always`, 1 KB payloads with `Nats-Msg-Id`;
- JetStream fetch+ack: a durable pull consumer, batches of 256, each message acked.
Everything lives in its own schema, stream and consumer, removed afterwards.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import Any

import nats
import psycopg
from nats.js import api
from psycopg import sql

from regions.adapters.stores.sql import PostgresStore
from regions.core.store import Stream

BOUND_STREAM = "TB_BENCH_BOUNDS"
BOUND_SUBJECT = "tb.bench.bounds"
PAYLOAD = b"x" * 1024


def pg_commit_rate(dsn: str, schema: str, seconds: float) -> float:
    """Single-row commits per second on one connection."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        table = sql.Identifier(schema, "commit_rate")
        conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, v text)")
                     .format(table))
        insert = sql.SQL("INSERT INTO {} (v) VALUES (%s)").format(table)
        done = 0
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            conn.execute(insert, ("x",), prepare=True)  # autocommit: one transaction each
            done += 1
        elapsed = time.perf_counter() - started
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    return done / elapsed


def es_batched_insert_rate(dsn: str, schema_prefix: str, aggregates: int,
                           per_save: int = 100) -> float:
    """Events per second through `Application.save`, `per_save` aggregates per transaction."""
    store = PostgresStore(dsn, schema_prefix=schema_prefix, pool_size=1, max_overflow=0)
    try:
        app = store.open("bounds")
        now = dt.datetime.now(dt.UTC)
        streams = []
        for _ in range(aggregates):  # built before the clock starts: only saving is measured
            stream = Stream.open(uuid.uuid4(), "side", {"case_id": "x"}, "Opened", 1,
                                 {"amount_fen": 123_456, "note": "bench"}, now)
            stream.record("Recorded", 1, {"step": "requested"}, now)
            stream.record("Recorded", 1, {"step": "valued"}, now)
            streams.append(stream)
        started = time.perf_counter()
        for index in range(0, aggregates, per_save):
            app.save(*streams[index:index + per_save])
        elapsed = time.perf_counter() - started
    finally:
        store.drop_all()
        store.close()
    return 3 * aggregates / elapsed


async def js_rates(url: str, messages: int) -> tuple[float, float]:
    """(durable publishes per second, fetched+acked messages per second) on a fresh stream."""
    nc = await nats.connect(url, name="tongban-bench-bounds")
    js = nc.jetstream(timeout=10)
    try:
        await js.add_stream(api.StreamConfig(
            name=BOUND_STREAM, subjects=[BOUND_SUBJECT], storage=api.StorageType.FILE,
            duplicate_window=120))
        futures: list[Any] = []
        started = time.perf_counter()
        for index in range(messages):
            futures.append(await js.publish_async(
                BOUND_SUBJECT, PAYLOAD, headers={"Nats-Msg-Id": f"bound-{index}"}))
        for future in futures:
            await future
        publish_rate = messages / (time.perf_counter() - started)
        await js.add_consumer(BOUND_STREAM, api.ConsumerConfig(
            durable_name="bounds", ack_policy=api.AckPolicy.EXPLICIT,
            max_ack_pending=messages))
        pull = await js.pull_subscribe_bind("bounds", stream=BOUND_STREAM)
        got = 0
        started = time.perf_counter()
        while got < messages:
            batch = await pull.fetch(batch=min(256, messages - got), timeout=5)
            for msg in batch:
                await msg.ack()
            got += len(batch)
        await nc.flush()
        fetch_rate = messages / (time.perf_counter() - started)
        await pull.unsubscribe()
    finally:
        try:
            await js.delete_stream(BOUND_STREAM)
        finally:
            await nc.close()
    return publish_rate, fetch_rate


def measure(dsn: str, nats_url: str, schema_prefix: str, *, quick: bool) -> dict[str, float]:
    """All four bounds, one after the other."""
    pg = pg_commit_rate(dsn, f"{schema_prefix}commits", 2.0 if quick else 8.0)
    es = es_batched_insert_rate(dsn, f"{schema_prefix}es_", 1000 if quick else 5000)
    publish, fetch = asyncio.run(js_rates(nats_url, 2000 if quick else 20000))
    return {"pg_commits_per_second": round(pg, 1), "es_batched_events_per_second": round(es, 1),
            "js_publish_per_second": round(publish, 1),
            "js_fetch_ack_per_second": round(fetch, 1)}
