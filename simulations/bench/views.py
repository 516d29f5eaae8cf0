"""CPU of the views' writer by part, a git revision's code against the working tree's, in one
process (issue 17, ninth session: VIEWS2).

Why: the views' thread is a few per cent of a node's CPU, so no lever of it shows in two
`tongban bench` runs minutes apart on a shared machine. Here the old code (the modules
`projections.cases` and `projections.documents` as they are at `--old`, loaded from git beside
the working tree's) and the new run alternately on the same data: the side events of a seeded
simulated run in the node's batches (their events decoded, the node's folded states heard, as
`ViewWriter` gets them), folded (`fold`: the views of each batch's cases) and turned into rows
(`rows`: a writer's `Encoder` over the views each batch changed). Both must give the same views
and the same rows, or the bench stops. Printed: CPU µs per side event (fold) and per view
written (rows), the median of `--rounds`, old and new, and new / old.

    python -m simulations.bench.views [--old main] [--rounds 9] [--cases 300] [--batch 150]

(The statement that sends the rows needs PostgreSQL: `tests/integration/views_bench.py`.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from projections.records import SideEvent
from regions.adapters.stores.views import NodeFolds, ViewWriter
from regions.core.node import RegionNode
from regions.core.side_events import SideEventTailer
from regions.core.tailer import MemoryCursor
from simulations.runner import run

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def old_module(name: str, rev: str) -> types.ModuleType:
    """Module `name` as it is at git revision `rev`, loaded beside the working tree's."""
    path = name.replace(".", "/") + ".py"
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True,
                            capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader(f"old_{name.replace('.', '_')}", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)
    return module


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--old", default="main")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=150, help="side events a write")
    args = parser.parse_args()
    old_cases = old_module("projections.cases", args.old)
    old_docs = old_module("projections.documents", args.old)
    from projections import cases, documents

    folds = NodeFolds(kept=10_000_000)
    data = side_events(args.cases, args.seed, folds)
    events = sum(len([r for r in items if r.process in d]) for items, d in data)
    fold_old = folder(old_cases.apply, getattr(old_cases, "fold", None), data, args.batch, folds)
    fold_new = folder(cases.apply, getattr(cases, "fold", None), data, args.batch, folds)
    batches = fold_new()

    def seen(folded: list[list[Any]]) -> list[Any]:  # the old module has classes of its own
        return [[(documents.to_document(v), v.consultation, v.state) for v in b] for b in folded]

    assert seen(fold_old()) == seen(batches), "the folds differ"
    views = sum(len(b) for b in batches)

    def rows_of(module: types.ModuleType) -> Callable[[], list[Any]]:
        def go() -> list[Any]:
            getattr(module, "_ISO", {}).clear()  # as cold as the first pass of a run
            encoder = module.Encoder(2_048)
            return [encoder.row(v) for b in batches for v in b]
        return go

    rows_old, rows_new = rows_of(old_docs), rows_of(documents)
    assert rows_old() == rows_new(), "the rows differ"
    parts: dict[str, tuple[Callable[[], Any], Callable[[], Any], int]] = {
        "fold us/event": (fold_old, fold_new, events), "rows us/view": (rows_old, rows_new, views)}
    times: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for name, (old, new, n) in parts.items():
            for which, fn in (("old", old), ("new", new)):
                started = time.process_time()
                fn()
                times.setdefault(f"{name} {which}", []).append(
                    (time.process_time() - started) / n * 1e6)
    out: dict[str, Any] = {"old": args.old, "events": events, "views_written": views,
                           "writes": len(batches)}
    for name in parts:
        old_t = statistics.median(times[f"{name} old"])
        new_t = statistics.median(times[f"{name} new"])
        out[name] = {"old": round(old_t, 2), "new": round(new_t, 2),
                     "ratio": round(new_t / old_t, 3)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
