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
import gc
import json
import statistics
import time
import uuid
from collections.abc import Sequence
from typing import Any

REGION, PEER = "150600", "610800"
GROUP = 50


def child(cases: int, dsn: str = "") -> dict[str, float]:
    """One run: µs of CPU per command, per message and per case (this thread's; on
    PostgreSQL at `dsn` if given, in a schema of its own, else in memory)."""
    from regions.adapters.stores.memory import MemoryStore

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


def _flow(store: Any, cases: int, now: dt.datetime) -> dict[str, float]:
    from domain.kernel import event_from_payload
    from regions.core.config import RegionConfig
    from regions.core.messages import LinkMessage
    from regions.runtime.bootstrap import build_region
    from simulations.bench.autopilot import Autopilot, submission

    regions, pilots = {}, {}
    for code, peer in ((REGION, PEER), (PEER, REGION)):
        region = build_region(RegionConfig(region=code, peers=(peer,)), clock=lambda: now,
                              ids=uuid.uuid4, broker=None, store=store)
        pilot = Autopilot(region, peer)
        region.node.listeners.append(pilot.on_commit)
        regions[code], pilots[code] = region, pilot
    spent = {"commands": 0.0, "messages": 0.0}
    counts = {"commands": 0, "messages": 0}
    clock = time.thread_time

    def commands(code: str) -> bool:
        queue = pilots[code].queue
        if not queue:
            return False
        group = [queue.popleft() for _ in range(min(GROUP * 4, len(queue)))]
        started = clock()
        outcomes = regions[code].node.run_batch(group, now)
        spent["commands"] += clock() - started
        counts["commands"] += len(group)
        refused = [o for o in outcomes if not o.ok]
        assert not refused, refused[:3]
        return True

    def messages(code: str) -> bool:
        relay = regions[code].relay
        batch = relay.step(now)
        if batch is None:
            return False
        relay.advance(batch, now)
        items = [m for m in batch.items if isinstance(m, LinkMessage)]
        for item in items:
            object.__setattr__(item, "event", event_from_payload(item.type, item.payload,
                                                                 item.schema_version))
        receiver = regions[items[0].destination].node if items else None
        if receiver is None:
            return bool(batch.items)
        started = clock()
        uow = receiver.begin(now)
        receiver.prefetch(m.case_id for m in items)
        for item in items:
            receiver.stage_receive(uow, item)
        receiver.commit(uow)
        spent["messages"] += clock() - started
        counts["messages"] += len(items)
        return True

    uuids = (uuid.UUID(int=n + 1) for n in range(cases))
    for start in range(0, cases, GROUP):
        pilots[PEER].queue.extend(submission(PEER, REGION, n, now, next(uuids))
                                  for n in range(start, min(start + GROUP, cases)))
        busy = True
        while busy:
            busy = False
            for code in (PEER, REGION):
                busy = commands(code) or busy
                busy = messages(code) or busy
    total = spent["commands"] + spent["messages"]
    return {"us_per_command": spent["commands"] / max(counts["commands"], 1) * 1e6,
            "us_per_message": spent["messages"] / max(counts["messages"], 1) * 1e6,
            "us_per_case": total / cases * 1e6,
            "commands": counts["commands"], "messages": counts["messages"]}


def compare(old: str, rounds: int, cases: int, dsn: str = "") -> None:
    """Old (the tree or revision `old`) and new (this tree) alternately, in this process."""
    from simulations.bench import old_code  # here: this file also runs against older trees

    with old_code.checkout(old) as root:
        trees = {"old": old_code.Tree(root), "new": old_code.Tree(old_code.ROOT)}
        bench = {name: tree.load(__file__) for name, tree in trees.items()}
        runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
        for name, tree in trees.items():  # warm-up: imports, memos
            with tree.active():
                bench[name].child(cases // 4, dsn)
        for n in range(rounds):
            for name in ("old", "new") if n % 2 == 0 else ("new", "old"):
                with trees[name].active():
                    gc.collect()
                    gc.disable()  # a collection's pause lands on whichever run allocates next
                    try:
                        runs[name].append(bench[name].child(cases, dsn))
                    finally:
                        gc.enable()
                print(name, json.dumps({k: round(v, 1) for k, v in runs[name][-1].items()}),
                      flush=True)
    for key in ("us_per_command", "us_per_message", "us_per_case"):
        o, w = (statistics.median(r[key] for r in runs[s]) for s in ("old", "new"))
        wins = sum(a[key] > b[key] for a, b in zip(runs["old"], runs["new"], strict=True))
        print(f"{key}: old {o:.1f}  new {w:.1f}  ratio {o / w:.3f}  (new lower in {wins} of "
              f"{rounds})")


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
