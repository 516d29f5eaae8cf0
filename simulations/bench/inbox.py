"""CPU of the receiving path per message — the bytes in, `Inbox.handle` — old tree against this.

Why its own script: the inbox's own levers (the marks' reading, the gap checks, the
bookkeeping per message) move a few microseconds a message, less than two simulator runs
minutes apart differ on a shared machine. Here the bench's pension transfer runs synchronously
between two nodes over the simulator's memory store, as `simulations.bench.nodepath` runs it,
but every link message reaches its receiver as bytes through `Inbox.handle` — each relay batch
as one delivery batch, and after each step `BEATS` of each link's high-water marks, each in a
batch of its own as a heartbeat brings it — and a gap check follows every batch, as the
driver's background runs it. Timed (this thread's CPU): `handle` of event batches per message
(decoding, sequencing, the node's unit of work), `handle` of mark batches per mark, and
`check_gaps` per call; encoding, the relay and the commands run outside the clock.

Old and new code in one process, alternately: the old is another source tree or a git
revision, each tree's code in a namespace of its own (`simulations.bench.old_code`); medians of
each figure and their ratio are printed.

    python -m simulations.bench.inbox --old DIR|REV [--rounds 7] [--cases 300]
    python -m simulations.bench.inbox [--cases 300]   # one run, this tree
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
#: Heartbeats delivered per link and step (a step's relay batch is up to 500 messages: one
#: beat a step would give a few dozen marks a run, too few to time).
BEATS = 10
FIGURES = ("us_per_message", "us_per_mark", "us_per_gap_check")


def child(cases: int) -> dict[str, float]:
    """One run: µs of CPU per event message and per mark through `Inbox.handle`, and per gap
    check."""
    from regions.adapters.stores.memory import MemoryStore
    from regions.core.config import RegionConfig
    from regions.core.inbox import Incoming
    from regions.core.messages import HighWaterMark, LinkMessage
    from regions.runtime.bootstrap import build_region
    from regions.wire import link, subjects
    from simulations.bench.autopilot import Autopilot, submission

    now = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)
    store: Any = MemoryStore()
    regions, pilots, inboxes = {}, {}, {}
    for code, peer in ((REGION, PEER), (PEER, REGION)):
        region = build_region(RegionConfig(region=code, peers=(peer,)), clock=lambda: now,
                              ids=uuid.uuid4, broker=None, store=store)
        pilot = Autopilot(region, peer)
        region.node.listeners.append(pilot.on_commit)
        regions[code], pilots[code], inboxes[code] = region, pilot, region.inbox
    spent = {"messages": 0.0, "marks": 0.0, "gaps": 0.0}
    counts = {"messages": 0, "marks": 0, "gaps": 0}
    clock = time.thread_time
    beats = iter(range(1, 10**9))
    sent = {REGION: 0, PEER: 0}

    def deliver(items: list[Any], kind: str) -> None:
        dest, origin = items[0].destination, items[0].origin
        incoming = []
        for n, item in enumerate(items):
            out = link.encode(item)
            incoming.append(Incoming(
                out.subject, out.data, out.headers, n,
                subject_origin=subjects.parse_event_subject(out.subject)[1]))
        inbox = inboxes[dest]
        started = clock()
        result = inbox.handle(incoming, now)
        spent[kind] += clock() - started
        started = clock()
        inbox.check_gaps(now)
        spent["gaps"] += clock() - started
        counts[kind] += len(items)
        counts["gaps"] += 1
        assert len(result.ack) == len(items) and not result.quarantined, (origin, result)

    def commands(code: str) -> bool:
        queue = pilots[code].queue
        if not queue:
            return False
        group = [queue.popleft() for _ in range(min(GROUP * 4, len(queue)))]
        outcomes = regions[code].node.run_batch(group, now)
        assert all(o.ok for o in outcomes), [o for o in outcomes if not o.ok][:3]
        return True

    def messages(code: str) -> bool:
        relay = regions[code].relay
        batch = relay.step(now)
        if batch is None:
            return False
        relay.advance(batch, now)
        items = [m for m in batch.items if isinstance(m, LinkMessage)]
        if items:
            deliver(items, "messages")
            sent[code] = items[-1].link_seq
        return bool(batch.items)

    def heartbeat(code: str) -> None:
        peer = PEER if code == REGION else REGION
        for _ in range(BEATS if sent[code] else 0):
            at = now + dt.timedelta(microseconds=next(beats))  # each heartbeat's own bytes
            deliver([HighWaterMark(code, peer, sent[code], at)], "marks")

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
                heartbeat(code)
    return {"us_per_message": spent["messages"] / max(counts["messages"], 1) * 1e6,
            "us_per_mark": spent["marks"] / max(counts["marks"], 1) * 1e6,
            "us_per_gap_check": spent["gaps"] / max(counts["gaps"], 1) * 1e6,
            "messages": counts["messages"], "marks": counts["marks"]}


def compare(old: str, rounds: int, cases: int) -> None:
    """Old (the tree or revision `old`) and new (this tree) alternately, in this process."""
    from simulations.bench import old_code

    with old_code.checkout(old) as root:
        trees = {"old": old_code.Tree(root), "new": old_code.Tree(old_code.ROOT)}
        bench = {name: tree.load(__file__) for name, tree in trees.items()}
        runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
        for name, tree in trees.items():  # warm-up: imports, memos
            with tree.active():
                bench[name].child(cases // 4)
        for n in range(rounds):
            for name in ("old", "new") if n % 2 == 0 else ("new", "old"):
                with trees[name].active():
                    gc.collect()
                    gc.disable()  # a collection's pause lands on whichever run allocates next
                    try:
                        runs[name].append(bench[name].child(cases))
                    finally:
                        gc.enable()
                print(name, json.dumps({k: round(v, 2) for k, v in runs[name][-1].items()}),
                      flush=True)
    for key in FIGURES:
        o, w = (statistics.median(r[key] for r in runs[s]) for s in ("old", "new"))
        wins = sum(a[key] > b[key] for a, b in zip(runs["old"], runs["new"], strict=True))
        print(f"{key}: old {o:.2f}  new {w:.2f}  ratio {o / w:.3f}  (new lower in {wins} of "
              f"{rounds})")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--old", help="the old code: a source tree or a git revision")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cases", type=int, default=300)
    args = parser.parse_args(argv)
    if not args.old:
        print(json.dumps(child(args.cases)))
        return
    compare(args.old, args.rounds, args.cases)


if __name__ == "__main__":
    main()
