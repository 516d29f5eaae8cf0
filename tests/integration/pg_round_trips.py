"""PostgreSQL round trips per database-thread task, and the event store's save rate (issue 17).

A script, not a test (it prints figures; docs/performance.md "One round trip per event-store
insert" quotes them):

    python -m tests.integration.pg_round_trips tasks [CASES] [--views]
        two nodes in this process on a `TurnCounter` proxy, CASES pension transfers (default
        10); every database-thread task (and, with --views, every view write on the views'
        thread) runs under one lock, so the proxy's running total is attributed to it.
    python -m tests.integration.pg_round_trips saves [N]
        N one-event saves (a tailer's cursor advance), then N/5 saves of ten new streams:
        transactions/s, wall and CPU µs per transaction. Run it with
        PGOPTIONS="-c synchronous_commit=off" to see the round trips without the commit's fsync.

PostgreSQL at TONGBAN_DSN or 127.0.0.1:5432 (db test); `tasks` starts its own nats-server.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import functools
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import regions.runtime.db_thread as db_thread
from regions.adapters.brokers.nats_server import NatsServer
from regions.adapters.stores.sql import PostgresStore
from regions.adapters.stores.views import ViewWriter
from regions.core.store import CursorRecord, Stream
from tests.integration import realworld as rw
from tests.services.nats_server import pinned_binary
from tests.services.pg_turns import TurnCounter

DSN = os.environ.get("TONGBAN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
DESTINATION, ORIGIN = "150600", "610800"


def _name(fn: Any) -> str:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return str(getattr(fn, "__qualname__", repr(fn)))


def tasks(cases: int, views: bool) -> None:
    stats: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    gate = threading.Lock()
    proxy = TurnCounter(DSN).__enter__()

    def attributed(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        with gate:
            before = proxy.turns
            try:
                return fn(*args, **kwargs)
            finally:
                stats[name][0] += 1
                stats[name][1] += proxy.turns - before

    submit = db_thread.DatabaseThread.submit_within

    def submit_within(self: Any, slack: float, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return submit(self, slack, functools.partial(attributed, _name(fn), fn), *args, **kwargs)

    sink = ViewWriter.sink
    db_thread.DatabaseThread.submit_within = submit_within  # type: ignore[method-assign]
    ViewWriter.sink = (  # type: ignore[method-assign]
        lambda self, items: attributed("ViewWriter.sink (views thread)", sink, self, items))

    async def run(url: str) -> int:
        store = PostgresStore(proxy.dsn, schema_prefix=f"tb_rt{uuid.uuid4().hex[:6]}_")
        try:
            async with rw.running_nodes(store, url, (DESTINATION, ORIGIN), views=views) as nodes:
                start = proxy.turns
                runs = list(await asyncio.gather(*[
                    rw.pension_transfer(nodes, DESTINATION, ORIGIN, seed=100 + i)
                    for i in range(cases)]))
                await rw.until_all_ended(nodes, runs)
                await nodes.wait_links_converged()
                return proxy.turns - start
        finally:
            store.drop_all()

    server = NatsServer(workdir=Path(tempfile.mkdtemp()), binary=pinned_binary())
    server.start()
    try:
        total = asyncio.run(run(server.url))
    finally:
        server.stop()
        proxy.close()
    print(f"{cases} pension transfers, both nodes: {total} round trips ({total / cases:.1f} "
          f"per case); by task (calls, round trips, per call):")
    for name, (calls, turns) in sorted(stats.items(), key=lambda kv: -kv[1][1]):
        print(f"  {name:50s} {calls:5d} {turns:6d} {turns / max(calls, 1):6.2f}")


def saves(n: int) -> None:
    now = dt.datetime.now(dt.UTC)
    store = PostgresStore(DSN, schema_prefix=f"tb_rate{uuid.uuid4().hex[:6]}_")
    try:
        app = store.open("r1")
        cursor = CursorRecord.start(CursorRecord.id_for("relay", "r1"), "r1", now)
        app.save(cursor)

        def timed(label: str, count: int, one: Any) -> None:
            wall, cpu = time.perf_counter(), time.thread_time()
            for i in range(count):
                one(i)
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            print(f"{label}: {count / wall:7.0f} transactions/s, {wall / count * 1e6:6.0f} µs "
                  f"wall, {cpu / count * 1e6:5.0f} µs CPU per transaction")

        def advance(i: int) -> None:
            cursor.advance(i + 1, now)
            app.save(cursor)

        def ten_streams(_: int) -> None:
            app.save(*[Stream.open(uuid.uuid4(), "side", {}, "T", 1, {"a": 1}, now)
                       for _ in range(10)])

        timed("one event (a cursor advance)", n, advance)
        timed("ten new streams", n // 5, ten_streams)
    finally:
        store.drop_all()
        store.close()


if __name__ == "__main__":
    mode, *rest = sys.argv[1:] or ["tasks"]
    numbers = [int(a) for a in rest if a.isdigit()]
    if mode == "saves":
        saves(numbers[0] if numbers else 2000)
    else:
        tasks(numbers[0] if numbers else 10, "--views" in rest)
