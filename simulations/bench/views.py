"""CPU of the views' writer by part, an old tree's code against this tree's, in one process
(issue 17, ninth session: VIEWS2).

Why: the views' thread is a few per cent of a node's CPU, so no lever of it shows in two
`tongban bench` runs minutes apart on a shared machine. Here the old code (the tree at `--old`,
a git revision or a directory, in a namespace of its own: `simulations.bench.old_code`) and the
new run alternately on the same seeded run, each with its own code: the side events of the run
in the node's batches (their events decoded, the node's folded states heard, as `ViewWriter`
gets them), folded (`fold`: the views of each batch's cases) and turned into rows (`rows`: a
writer's `Encoder` over the views each batch changed). Both must give the same views and the
same rows, or the bench stops. Printed: CPU µs per side event (fold) and per view written
(rows), the median of `--rounds`, old and new, and new / old.

    python -m simulations.bench.views [--old main|DIR] [--rounds 9] [--cases 300] [--batch 150]

(The statement that sends the rows needs PostgreSQL: `tests/integration/views_bench.py`.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from projections.records import SideEvent
from regions.adapters.stores.views import NodeFolds, ViewWriter
from regions.core.node import RegionNode
from regions.core.side_events import SideEventTailer
from regions.core.tailer import MemoryCursor
from simulations.runner import run

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def side_events_by_region(cases: int, seed: int, folds: NodeFolds | None = None,
                          **kwargs: Any) -> dict[str, tuple[Any, list[SideEvent], dict[str, Any]]]:
    """Each region's event store, side events (their events decoded, as the node hands them on:
    the views do not decode) and deciders, in region order, of one simulated run
    (`runner.run(seed, cases, **kwargs)`); with `folds`, the nodes' folded states heard in it
    (as `attach_views` listens). One definition for this bench, `tests/integration/views_bench`
    and the views' fold tests."""
    made = RegionNode.__init__

    def listening(node: RegionNode, *args: Any, **kw: Any) -> None:
        made(node, *args, **kw)
        if folds is not None:
            node.listeners.append(folds.heard)

    RegionNode.__init__ = listening  # type: ignore[method-assign,assignment]
    try:
        result = run(seed, cases, **kwargs)
    finally:
        RegionNode.__init__ = made  # type: ignore[method-assign]
    found = {}
    for code, sim in sorted(result.world.regions.items()):
        app = sim.region.node.app
        tailer = SideEventTailer(code, app, cursor=MemoryCursor(), batch_size=10_000)
        items: list[SideEvent] = []
        while tailer.pump(items.extend, NOW) is not None:
            pass
        for item in items:
            item.event()
        found[code] = (app, items, {p: b.decider for p, b in sim.region.node.protocols.items()})
    return found


def side_events(cases: int, seed: int, folds: NodeFolds) -> list[tuple[list[Any], dict[str, Any]]]:
    """Each region's side events of one simulated run and its deciders, with the nodes' states
    heard in `folds`."""
    return [(items, deciders)
            for _, items, deciders in side_events_by_region(cases, seed, folds).values()]


def folder(apply: Callable[..., Any], fold: Callable[..., Any] | None,
           data: list[tuple[list[Any], dict[str, Any]]], batch: int,
           folds: NodeFolds) -> Callable[[], list[list[Any]]]:
    """The views each batch changed, folded as `ViewWriter._fold` folds them: with the
    module's `fold` over each case's events of the batch when it has one, else `apply` per
    event."""

    def go() -> list[list[Any]]:
        out = []
        for items, deciders in data:
            views: dict[str, Any] = {}
            for start in range(0, len(items), batch):
                chunk = [r for r in items[start:start + batch] if r.process in deciders]
                if fold is not None:
                    changed = ViewWriter._group(chunk)
                    for case_id, records in changed.items():
                        changed[case_id] = fold(views.get(case_id), records,
                                                deciders[records[0].process], folds.state_after)
                else:
                    changed = {}
                    for r in chunk:
                        changed[r.case_id] = apply(changed.get(r.case_id) or views.get(r.case_id),
                                                   r, deciders[r.process], folds.state_after)
                views.update(changed)
                out.append(list(changed.values()))
        return out

    return go


def measured(cases: int, seed: int, batch: int) -> dict[str, Any]:
    """This module's tree's fold and rows of one seeded run: each a callable, with what it
    gives (as values that compare across trees) and the counts."""
    from projections import cases as views
    from projections import documents

    folds = NodeFolds(kept=10_000_000)
    data = side_events(cases, seed, folds)
    fold = folder(views.apply, getattr(views, "fold", None), data, batch, folds)
    batches = fold()

    def rows() -> list[Any]:
        getattr(documents, "_ISO", {}).clear()  # as cold as the first pass of a run
        encoder = documents.Encoder(2_048)
        return [encoder.row(v) for b in batches for v in b]

    return {"fold": fold, "rows": rows, "rows_made": rows(),
            "seen": [[repr((documents.to_document(v), v.consultation, v.state)) for v in b]
                     for b in batches],
            "events": sum(len([r for r in items if r.process in d]) for items, d in data),
            "views": sum(len(b) for b in batches), "writes": len(batches)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--old", default="main")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=150, help="side events a write")
    args = parser.parse_args()
    from simulations.bench import old_code  # here: this file also runs against older trees

    with old_code.checkout(args.old) as root:
        trees = {"old": old_code.Tree(root), "new": old_code.Tree(old_code.ROOT)}
        got = {}
        for which, tree in trees.items():
            bench = tree.load(__file__)
            with tree.active():
                got[which] = bench.measured(args.cases, args.seed, args.batch)
        old, new = got["old"], got["new"]
        assert old["seen"] == new["seen"], "the folds differ"
        assert old["rows_made"] == new["rows_made"], "the rows differ"
        counts = {"fold us/event": new["events"], "rows us/view": new["views"]}
        times: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for name, n in counts.items():
                for which, tree in trees.items():
                    with tree.active():
                        started = time.process_time()
                        got[which][name.split()[0]]()
                        times.setdefault(f"{name} {which}", []).append(
                            (time.process_time() - started) / n * 1e6)
    out: dict[str, Any] = {"old": args.old, "events": new["events"],
                           "views_written": new["views"], "writes": new["writes"]}
    for name in counts:
        old_t = statistics.median(times[f"{name} old"])
        new_t = statistics.median(times[f"{name} new"])
        out[name] = {"old": round(old_t, 2), "new": round(new_t, 2),
                     "ratio": round(new_t / old_t, 3)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
