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

Old and new code in one process, alternately: the old is another source tree's receiving
modules (`INBOX_MODULES`, e.g. from `git archive` of main into a directory), loaded beside this
tree's; medians of each figure and their ratio are printed.

    python -m simulations.bench.inbox --old DIR [--rounds 7] [--cases 300]
    python -m simulations.bench.inbox [--cases 300]   # one run, this tree
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.util
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from types import ModuleType
from typing import Any

REGION, PEER = "150600", "610800"
GROUP = 50
#: Heartbeats delivered per link and step (a step's relay batch is up to 500 messages: one
#: beat a step would give a few dozen marks a run, too few to time).
BEATS = 10
FIGURES = ("us_per_message", "us_per_mark", "us_per_gap_check")

#: The receiving path's modules, in the order they import each other.
INBOX_MODULES = ("regions.wire.marks", "regions.wire.control", "regions.wire.link",
                 "regions.core.inbox_state", "regions.core.inbox")


def child(variant: dict[str, ModuleType], cases: int) -> dict[str, float]:
    """One run with `variant`'s inbox and codec: µs of CPU per event message and per mark
    through `Inbox.handle`, and per gap check."""
    from regions.adapters.stores.memory import MemoryStore
    from regions.core.config import RegionConfig
    from regions.core.messages import HighWaterMark, LinkMessage
    from regions.runtime.bootstrap import build_region
    from regions.wire import link as this_link
    from regions.wire import subjects
    from simulations.bench.autopilot import Autopilot, submission

    inbox_module, link_module = variant["regions.core.inbox"], variant["regions.wire.link"]
    now = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)
    store: Any = MemoryStore()
    regions, pilots, inboxes = {}, {}, {}
    for code, peer in ((REGION, PEER), (PEER, REGION)):
        region = build_region(RegionConfig(region=code, peers=(peer,)), clock=lambda: now,
                              ids=uuid.uuid4, broker=None, store=store)
        pilot = Autopilot(region, peer)
        region.node.listeners.append(pilot.on_commit)
        regions[code], pilots[code] = region, pilot
        inboxes[code] = inbox_module.Inbox(region.node, link_module.decode, {peer},
                                           gap_bound=dt.timedelta(seconds=30))
    spent = {"messages": 0.0, "marks": 0.0, "gaps": 0.0}
    counts = {"messages": 0, "marks": 0, "gaps": 0}
    clock = time.thread_time
    beats = iter(range(1, 10**9))
    sent = {REGION: 0, PEER: 0}

    def deliver(items: list[Any], kind: str) -> None:
        dest, origin = items[0].destination, items[0].origin
        incoming = []
        for n, item in enumerate(items):
            out = this_link.encode(item)
            incoming.append(inbox_module.Incoming(
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


def this_tree() -> dict[str, ModuleType]:
    import regions.core.inbox  # these two import the others
    import regions.wire.link  # noqa: F401
    return {name: sys.modules[name] for name in INBOX_MODULES}


def load_old(tree: str) -> dict[str, ModuleType]:
    """The receiving modules as `tree` has them, under names of their own, each importing the
    others' old versions (through `sys.modules` and its package's attribute); the rest is this
    tree's."""
    this_tree()
    saved = {name: sys.modules[name] for name in INBOX_MODULES}
    loaded: dict[str, ModuleType] = {}
    try:
        for name in INBOX_MODULES:
            package, _, leaf = name.rpartition(".")
            path = os.path.join(tree, *name.split(".")) + ".py"
            spec = importlib.util.spec_from_file_location(f"old_{name.replace('.', '_')}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = sys.modules[spec.name] = module
            setattr(sys.modules[package], leaf, module)
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded
    finally:
        sys.modules.update(saved)
        for name, module in saved.items():
            package, _, leaf = name.rpartition(".")
            setattr(sys.modules[package], leaf, module)


def compare(old: str, rounds: int, cases: int) -> None:
    """Old (`tree`'s receiving modules) and new (this tree's) alternately, in this process."""
    variants = {"old": load_old(old), "new": this_tree()}
    runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    child(variants["new"], cases // 4)  # warm-up: imports, memos
    for n in range(rounds):
        for name in ("old", "new") if n % 2 == 0 else ("new", "old"):
            gc.collect()
            gc.disable()  # a collection's pause lands on whichever run allocates next
            try:
                runs[name].append(child(variants[name], cases))
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
    parser.add_argument("--old", help="a source tree whose receiving modules are the old code")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cases", type=int, default=300)
    args = parser.parse_args(argv)
    if not args.old:
        print(json.dumps(child(this_tree(), args.cases)))
        return
    compare(args.old, args.rounds, args.cases)


if __name__ == "__main__":
    main()
