"""CPU of the log's tailers on PostgreSQL, reading the records a node just committed: from the
store (query and decode) or from the process's window of its latest commits
(`regions.core.recent_log`), alternately in one process.

Why its own script: `simulations.bench.levers` measures on the simulator's memory store, where
a read costs no round trip; this lever's cost is PostgreSQL's (a query per tailer and commit,
rows built by psycopg, each record decoded). A node runs four tailers (relay, feed, notices,
views); each round commits a group of new cases through the real node (`run_batch`) of one of
two regions in one database — one reading through the window, one without it — alternately,
and counts the four tailers' CPU alone (this thread's), per case committed.

    python -m simulations.bench.tail_lever [--dsn DSN] [--rounds 20] [--group 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from regions.adapters.stores.sql import PostgresStore
from regions.core.config import RegionConfig
from regions.core.recent_log import RecentLog
from regions.core.side_events import SideEventTailer
from regions.core.tailer import STORE_CHECK, MemoryCursor, Tailer
from regions.runtime.bootstrap import build_region
from simulations.bench.autopilot import submission
from simulations.bench.services import LOCAL_DSN

REGION, PEER = "150600", "610800"


class _NoWindow(RecentLog):
    """Keeps nothing: every read goes to the store, as before the window."""

    def committed(self, recordings: Sequence[Any],
                  aggregates: Mapping[Any, Any] | None = None) -> None:
        return None


def measure(dsn: str, rounds: int = 20, group: int = 50) -> dict[str, Any]:
    store = PostgresStore(dsn, schema_prefix=f"tbl{uuid.uuid4().hex[:8]}_")
    try:
        now = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)
        nodes = {}
        for way, code in (("store", REGION), ("window", PEER)):
            region = build_region(RegionConfig(region=code, peers=(REGION if code == PEER else PEER,)),
                                  clock=lambda: now, ids=uuid.uuid4, broker=None, store=store)
            if way == "store":
                region.node.app.recent = _NoWindow()
            tailers: list[Tailer[Any]] = [region.relay] + [
                SideEventTailer(code, region.node.app, cursor=MemoryCursor()) for _ in range(3)]
            if way == "window":
                for tailer in tailers:
                    tailer.trust = STORE_CHECK  # as the node's driver sets it
            nodes[way] = (region, tailers)
        per_case: dict[str, list[float]] = {"store": [], "window": []}
        for n in range(2 * rounds):
            way = "window" if n % 2 else "store"
            region, tailers = nodes[way]
            peer = region.config.peers[0]
            batch = [submission(region.code, peer, n * group + i, now, uuid.uuid4())
                     for i in range(group)]
            region.node.run_batch(batch, now)
            started = time.thread_time()
            for tailer in tailers:
                while (read := tailer.step(now)) is not None:
                    tailer.seek(read.position)
            spent = time.thread_time() - started
            if n >= 2:  # the first of each way warms up
                per_case[way].append(spent / group * 1e6)
        store_us, window_us = (statistics.median(per_case[w]) for w in ("store", "window"))
        return {"rounds": rounds, "group": group, "tailers": 4,
                "store_us_per_case": round(store_us, 1),
                "window_us_per_case": round(window_us, 1),
                "speedup": round(store_us / window_us, 2),
                "served": nodes["window"][0].node.app.recent.served}
    finally:
        store.drop_all()
        store.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=LOCAL_DSN)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--group", type=int, default=50)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.dsn, args.rounds, args.group), indent=1))


if __name__ == "__main__":
    main()
