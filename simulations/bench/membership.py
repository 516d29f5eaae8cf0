"""CPU of the inbox's membership check (`regions.core.membership.refusal`) per received event —
old tree against this.

Why its own script: the check is a few microseconds a message, below what the inbox bench
(`simulations.bench.inbox`, the whole `Inbox.handle`) resolves. Here the bench's pension
transfer runs between two nodes over the memory store (`simulations.bench.twonode`), every
relay batch reaching its receiver as bytes through `Inbox.handle` (as in the inbox bench), and
only the check's own calls are timed (this thread's CPU around each call); both trees meet the
same messages in the same states (the drive is seeded).

    python -m simulations.bench.membership --old DIR|REV [--rounds 7] [--cases 300]
    python -m simulations.bench.membership [--cases 300]   # one run, this tree
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
    from simulations.bench.twonode import TwoNodes
else:  # the drive from beside this file, not from the tree's package: an old tree has none
    TwoNodes = runpy.run_path(str(Path(__file__).with_name("twonode.py")))["TwoNodes"]
FIGURES = ("us_per_check",)


def child(cases: int) -> dict[str, float]:
    """One run: µs of CPU per membership check of a received event."""
    from regions.adapters.stores.memory import MemoryStore
    from regions.core import membership
    from regions.core.inbox import Incoming
    from regions.wire import link, subjects

    now = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)
    nodes = TwoNodes(MemoryStore(), now)
    clock = time.thread_time
    spent, calls = [0.0], [0]
    check = membership.refusal

    def timed(node: Any, message: Any, uow: Any) -> str:
        started = clock()
        try:
            return check(node, message, uow)
        finally:
            spent[0] += clock() - started
            calls[0] += 1

    def receive(items: list[Any]) -> None:
        outs = [p.out for p in link.encode_many(items)]
        incoming = [Incoming(out.subject, out.data, out.headers, n,
                             subject_origin=subjects.parse_event_subject(out.subject)[1])
                    for n, out in enumerate(outs)]
        result = nodes.regions[items[0].destination].inbox.handle(incoming, now)
        assert not result.quarantined, result

    membership.refusal = timed
    try:
        nodes.drive(cases, receive)
    finally:
        membership.refusal = check
    return {"us_per_check": spent[0] / max(calls[0], 1) * 1e6, "checks": calls[0]}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--old", help="the old code: a source tree or a git revision")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cases", type=int, default=300)
    args = parser.parse_args(argv)
    if not args.old:
        print(json.dumps(child(args.cases)))
        return
    from simulations.bench import old_code

    old_code.alternate_runs(args.old, __file__, lambda bench, n: bench.child(n), cases=args.cases,
                            rounds=args.rounds, figures=FIGURES, digits=2)


if __name__ == "__main__":
    main()
