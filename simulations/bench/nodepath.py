"""CPU of the node's own path per command and per received message, two source trees alternately.

Why its own script: a lever inside `RegionNode` (staging, idempotency, caches) moves a few
microseconds a decision, far less than two runs of `tongban bench` minutes apart differ on a
shared machine. Here the bench's pension transfer runs synchronously between two nodes over
the simulator's memory store — the destination's window submits, each side's back-end reacts to
what its node committed (`simulations.bench.autopilot`, group commits through `run_batch`), and
each link message goes to its receiver as the inbox gives it (one unit of work per batch:
`prefetch`, `stage_receive`, `commit`) — and only those node calls are timed (this thread's
CPU). The relay's reading and the link codec run outside the clock (the event is decoded for
the receiver as `regions.wire.link.decode` hands it on).

Old and new code in one process, alternately: the old is another source tree (a directory or a
git revision), each tree's code in a namespace of its own (`simulations.bench.old_code`: this
file's functions run with that tree's modules, the whole node path its own); the medians of µs
per command, per message and per case are printed with their ratio.

    python -m simulations.bench.nodepath --old DIR|REV [--rounds 7] [--cases 300] [--dsn DSN]
    python -m simulations.bench.nodepath [--cases 300]   # one run, this tree
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import runpy
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulations.bench.twonode import TwoNodes
else:  # the drive from beside this file, not from the tree's package: an old tree has none
    TwoNodes = runpy.run_path(str(Path(__file__).with_name("twonode.py")))["TwoNodes"]


def child(cases: int, dsn: str = "") -> dict[str, float]:
    """One run: µs of CPU per command, per message and per case (this thread's; on
    PostgreSQL at `dsn` if given, in a schema of its own, else in memory)."""
    from regions.adapters.stores.memory import MemoryStore

    _tune_collector()
    now = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)
    store: Any = MemoryStore()
    if dsn:
        from regions.adapters.stores.sql import PostgresStore
        store = PostgresStore(dsn, schema_prefix=f"tnp{uuid.uuid4().hex[:8]}_")
    try:
        return _flow(store, cases, now)
    finally:
        if dsn:
            store.drop_all()
            store.close()


def _tune_collector() -> None:
    """The collector's thresholds a node sets (`regions.runtime.collector`), as the tree being
    measured has them: with CPython's defaults a run spent ~11 % of its samples in collections
    a node does not make (3,711 against 2,423 µs a case, DECIDE, 2026-12-07). A tree without
    the module runs with the defaults, as its nodes did."""
    try:
        from regions.runtime import collector
    except ImportError:
        return
    collector.tune()


def _flow(store: Any, cases: int, now: dt.datetime) -> dict[str, float]:
    from domain.kernel import event_from_payload

    nodes = TwoNodes(store, now)
    spent = {"messages": 0.0}
    counts = {"messages": 0}
    clock = time.thread_time

    def receive(items: list[Any]) -> None:
        for item in items:
            object.__setattr__(item, "event", event_from_payload(item.type, item.payload,
                                                                 item.schema_version))
        receiver = nodes.regions[items[0].destination].node
        started = clock()
        uow = receiver.begin(now)
        receiver.prefetch(m.case_id for m in items)
        for item in items:
            receiver.stage_receive(uow, item)
        receiver.commit(uow)
        spent["messages"] += clock() - started
        counts["messages"] += len(items)

    nodes.drive(cases, receive)
    total = nodes.command_seconds + spent["messages"]
    return {"us_per_command": nodes.command_seconds / max(nodes.commands_run, 1) * 1e6,
            "us_per_message": spent["messages"] / max(counts["messages"], 1) * 1e6,
            "us_per_case": total / cases * 1e6,
            "commands": nodes.commands_run, "messages": counts["messages"]}


def compare(old: str, rounds: int, cases: int, dsn: str = "") -> None:
    """Old (the tree or revision `old`) and new (this tree) alternately, in this process."""
    from simulations.bench import old_code  # here: this file also runs against older trees

    old_code.alternate_runs(old, __file__, lambda bench, n: bench.child(n, dsn), cases=cases,
                            rounds=rounds,
                            figures=("us_per_command", "us_per_message", "us_per_case"))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", help="the old code: a source tree or a git revision")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--dsn", default="", help="PostgreSQL (e.g. the bench's) instead of "
                        "the memory store")
    args = parser.parse_args(argv)
    if not args.old:
        print(json.dumps(child(args.cases, args.dsn)))
        return
    compare(args.old, args.rounds, args.cases, args.dsn)


if __name__ == "__main__":
    main()
