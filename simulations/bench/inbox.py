"""CPU of the receiving path per message — the bytes in, `Inbox.handle` — old tree against this.

Why its own script: the inbox's own levers (the marks' reading, the gap checks, the
bookkeeping per message) move a few microseconds a message, less than two simulator runs
minutes apart differ on a shared machine. Here the bench's pension transfer runs synchronously
between two nodes over the simulator's memory store, as `simulations.bench.twonode` drives it,
but every link message reaches its receiver as bytes through `Inbox.handle` — each relay batch
as one delivery batch, and after each step `BEATS` of each link's high-water marks, each in a
batch of its own as a heartbeat brings it — and a gap check follows every batch, as the
driver's background runs it. Timed (this thread's CPU): `handle` of event batches per message
(decoding, sequencing, the node's unit of work), `handle` of mark batches per mark, and
`check_gaps` per call; encoding, the relay and the commands run outside the clock.

Old and new code in one process, alternately: the old is another source tree or a git
revision, each tree's code in a namespace of its own (`simulations.bench.old_code`); medians of
each figure and their ratio are printed.

    python -m simulations.bench.inbox --old DIR|REV [--rounds 7] [--cases 300] [--batch 64]
    python -m simulations.bench.inbox [--cases 300]   # one run, this tree
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import runpy
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulations.bench.twonode import PEER, REGION, TwoNodes
else:  # the drive from beside this file, not from the tree's package: an old tree has none
    _twonode = runpy.run_path(str(Path(__file__).with_name("twonode.py")))
    TwoNodes, REGION, PEER = _twonode["TwoNodes"], _twonode["REGION"], _twonode["PEER"]
#: Heartbeats delivered per link and step (a step's relay batch is up to 500 messages: one
#: beat a step would give a few dozen marks a run, too few to time).
BEATS = 10
FIGURES = ("us_per_message", "us_per_mark", "us_per_gap_check")


def child(cases: int, batch: int = 1) -> dict[str, float]:
    """One run: µs of CPU per event message and per mark through `Inbox.handle`, and per gap
    check; with `batch` > 1 a relay batch's events packed as the relay packs them
    (`link.encode_many`, up to `batch` events a message), still timed per event."""
    from regions.adapters.stores.memory import MemoryStore
    from regions.core.inbox import Incoming
    from regions.core.messages import HighWaterMark
    from regions.wire import link, subjects

    now = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)
    nodes = TwoNodes(MemoryStore(), now)
    spent = {"messages": 0.0, "marks": 0.0, "gaps": 0.0}
    counts = {"messages": 0, "marks": 0, "gaps": 0}
    clock = time.thread_time
    beats = iter(range(1, 10**9))
    sent = {REGION: 0, PEER: 0}

    def deliver(items: list[Any], kind: str) -> None:
        dest, origin = items[0].destination, items[0].origin
        incoming = []
        outs = ([p.out for p in link.encode_many(items, batch)] if batch > 1 else
                [link.encode(item) for item in items])
        for n, out in enumerate(outs):
            incoming.append(Incoming(
                out.subject, out.data, out.headers, n,
                subject_origin=subjects.parse_event_subject(out.subject)[1]))
        inbox = nodes.regions[dest].inbox
        started = clock()
        result = inbox.handle(incoming, now)
        spent[kind] += clock() - started
        started = clock()
        inbox.check_gaps(now)
        spent["gaps"] += clock() - started
        counts[kind] += len(items)
        counts["gaps"] += 1
        assert len(result.ack) == len(incoming) and not result.quarantined, (origin, result)

    def receive(items: list[Any]) -> None:
        deliver(items, "messages")
        sent[items[-1].origin] = items[-1].link_seq

    def heartbeat(code: str) -> None:
        peer = PEER if code == REGION else REGION
        for _ in range(BEATS if sent[code] else 0):
            at = now + dt.timedelta(microseconds=next(beats))  # each heartbeat's own bytes
            deliver([HighWaterMark(code, peer, sent[code], at)], "marks")

    nodes.drive(cases, receive, after=heartbeat)
    return {"us_per_message": spent["messages"] / max(counts["messages"], 1) * 1e6,
            "us_per_mark": spent["marks"] / max(counts["marks"], 1) * 1e6,
            "us_per_gap_check": spent["gaps"] / max(counts["gaps"], 1) * 1e6,
            "messages": counts["messages"], "marks": counts["marks"]}


def compare(old: str, rounds: int, cases: int, batch: int = 1) -> None:
    """Old (the tree or revision `old`) and new (this tree) alternately, in this process."""
    from simulations.bench import old_code

    old_code.alternate_runs(old, __file__, lambda bench, n: bench.child(n, batch), cases=cases,
                            rounds=rounds, figures=FIGURES, digits=2)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--old", help="the old code: a source tree or a git revision")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--batch", type=int, default=1,
                        help="events packed per message, as a relay does (1: each alone)")
    args = parser.parse_args(argv)
    if not args.old:
        print(json.dumps(child(args.cases, args.batch)))
        return
    compare(args.old, args.rounds, args.cases, args.batch)


if __name__ == "__main__":
    main()
