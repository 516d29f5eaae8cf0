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
        [--pg postgresql://postgres@127.0.0.1:5432/test]

Also (VIEWS3) the simulator's two folds of the views: `replay us/event`, the end-of-run replay of
every case from its records decoded afresh (`projection_checks.RegionViews.replay`), and `feed
us/event`, the live views (`projections.views.Views.feed`) fed a commit's records at a time (what
a catch-up after a step mostly reads). With `--pg`, two more on that server, each tree on tables
of its own: `send us/view`, the client CPU of `ViewTables.write` sending rows already made (the
writer's batches), and `save us/call`, the views cursor's save of a batch that wrote no rows
(client CPU, and `wall`); both trees' tables must come out equal.
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


def replayer(data: list[tuple[list[Any], dict[str, Any]]]) -> Callable[[], list[Any]]:
    """Every case's end-of-run replay, as this tree's `RegionViews.replay` makes it (the
    records and deciders it reads set directly: no world needed)."""
    from simulations.projection_checks import RegionViews

    regions = []
    for items, deciders in data:
        region = object.__new__(RegionViews)
        region.deciders = deciders
        region.records = {}
        for r in items:
            region.records.setdefault(r.case_id, []).append(r)
        regions.append(region)

    def go() -> list[Any]:
        return [region.replay(case_id) for region in regions for case_id in region.records]

    return go


def feeder(data: list[tuple[list[Any], dict[str, Any]]]) -> Callable[[], list[Any]]:
    """The live views of each region, fed one commit's records at a time by this tree's
    `Views.feed` (records of one commit share `committed`)."""
    from projections.views import Views

    batched = []
    for items, deciders in data:
        batches: list[list[Any]] = []
        for r in items:
            if batches and batches[-1][-1].committed == r.committed:
                batches[-1].append(r)
            else:
                batches.append([r])
        batched.append((batches, deciders))

    def go() -> list[Any]:
        out = []
        for batches, deciders in batched:
            views = Views(deciders)
            for b in batches:
                views.feed(b)
            out.append(views.cases)
        return out

    return go


def on_postgres(dsn: str, batches: list[list[Any]], rows: list[Any]) -> dict[str, Any]:
    """This tree's `ViewTables` on tables of its own: `send` writes the batches' views with
    their rows already made (so only the statement and its parameters are measured), `save`
    moves the tracking row 200 times as the views cursor does after a batch of no rows; `close`
    gives the table's rows and drops the schema."""
    import uuid

    from regions.adapters.stores.sql import PostgresStore
    from regions.adapters.stores.view_tables import LIVE, LIVE_TRACKING, ViewTables
    from regions.adapters.stores.views import ViewCursor

    made = iter(rows)
    by_view = {id(v): next(made) for b in batches for v in b}

    class Made:  # an `Encoder` that has made every row already
        def row(self, view: Any) -> Any:
            return by_view[id(view)]

    store = PostgresStore(dsn, schema_prefix=f"vb3_{uuid.uuid4().hex[:8]}_")
    store.open("150600")
    tables = ViewTables.for_store(store, "150600")
    writer = ViewWriter(tables, None, "150600", {})  # type: ignore[arg-type]
    cursor = ViewCursor(writer)
    at = [0]

    def send() -> None:
        for b in batches:
            if b:
                with tables.writing() as curs:
                    at[0] += 1
                    tables.write(curs, LIVE, b, LIVE_TRACKING, at[0], Made())  # type: ignore[arg-type]
                writer._known = at[0]  # as `ViewWriter.write_in` leaves it

    def save() -> None:
        for _ in range(200):
            at[0] += 1
            cursor.save(at[0], None)

    def close() -> list[Any]:
        try:
            return [dict(r) for r in tables.select(
                f"SELECT * FROM {tables.dialect.table(LIVE)} ORDER BY case_id")]
        finally:
            tables.close()
            store.close()
            store.drop_all()

    writer.write((), 0)  # the writer knows where its row is, as after its first batch
    return {"send": send, "save": save, "close": close}


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

    def seen(views: Any) -> list[str]:
        return [repr((documents.to_document(v), v.consultation, v.state)) for v in views]

    replay, feed = replayer(data), feeder(data)
    return {"fold": fold, "rows": rows, "rows_made": rows(), "batches": batches,
            "seen": [seen(b) for b in batches], "replay": replay, "feed": feed,
            "replayed": seen(replay()), "fed": [seen(c.values()) for c in feed()],
            "events": sum(len([r for r in items if r.process in d]) for items, d in data),
            "views": sum(len(b) for b in batches), "writes": len(batches)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--old", default="main")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=150, help="side events a write")
    parser.add_argument("--pg", default="", help="a PostgreSQL DSN: the send and save pairs")
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
        assert old["replayed"] == new["replayed"], "the replays differ"
        assert old["fed"] == new["fed"], "the live views differ"
        counts = {"fold us/event": new["events"], "rows us/view": new["views"],
                  "replay us/event": new["events"], "feed us/event": new["events"]}
        if args.pg:
            for which, tree in trees.items():
                with tree.active():
                    got[which].update(tree.load(__file__).on_postgres(
                        args.pg, got[which]["batches"], got[which]["rows_made"]))
            counts.update({"send us/view": new["views"], "save us/call": 200})
        times: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for name, n in counts.items():
                for which, tree in trees.items():
                    with tree.active():
                        started, wall = time.process_time(), time.perf_counter()
                        got[which][name.split()[0]]()
                        times.setdefault(f"{name} {which}", []).append(
                            (time.process_time() - started) / n * 1e6)
                        times.setdefault(f"{name} wall {which}", []).append(
                            (time.perf_counter() - wall) / n * 1e6)
        if args.pg:
            for which, tree in trees.items():
                with tree.active():
                    got[which]["table"] = got[which]["close"]()
            assert old["table"] == new["table"], "the tables differ"
    out: dict[str, Any] = {"old": args.old, "events": new["events"],
                           "views_written": new["views"], "writes": new["writes"]}
    for name in [*counts, *(["save us/call wall"] if args.pg else [])]:
        old_t = statistics.median(times[f"{name} old"])
        new_t = statistics.median(times[f"{name} new"])
        out[name] = {"old": round(old_t, 2), "new": round(new_t, 2),
                     "ratio": round(new_t / old_t, 3)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
