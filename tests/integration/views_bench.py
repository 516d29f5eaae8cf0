"""Micro-benchmark of the views' writer on PostgreSQL (issue 17, VIEWS): the CPU a node's views
thread spends per side event and per case, for the records of a simulated run written in
batches as a node's views tailer hands them on.

    PYTHONPATH=. python -m tests.integration.views_bench --rounds 3 --cases 300 --batch 60

Prints, per round, the writer's CPU (process time: fold, rows, encoding, psycopg) per side
event and per case, the wall time, the writes, and a digest of the rows written (every column
and the parsed document), so old and new code can be run alternately on the same records and
their tables compared. Needs a PostgreSQL server (`TONGBAN_BENCH_DSN`, default the local one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import time
import uuid
from typing import Any

from regions.adapters.stores.sql import PostgresStore
from regions.adapters.stores.view_tables import COLUMNS, LIVE, ViewTables
from regions.adapters.stores.views import NodeFolds, ViewWriter
from simulations.bench.views import side_events_by_region

DSN = os.environ.get("TONGBAN_BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/test")


#: Each region's (store, side events, deciders) of one simulated run (the bench's own).
records_of = side_events_by_region


def digest(tables: ViewTables) -> str:
    rows = tables.select(f"SELECT * FROM {tables.dialect.table(LIVE)} ORDER BY case_id")
    canon = []
    for row in rows:
        row = dict(row)
        row["doc"] = json.loads(row["doc"])
        canon.append({k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                      for k, v in row.items()})
    return hashlib.sha256(json.dumps(canon, sort_keys=True, ensure_ascii=False)
                          .encode()).hexdigest()[:16]


def one_round(data: dict[str, Any], batch: int, folds: NodeFolds | None = None,
              ) -> dict[str, float | str]:
    prefix = f"vb_{uuid.uuid4().hex[:8]}_"
    store = PostgresStore(DSN, schema_prefix=prefix)
    cpu = wall = 0.0
    events = writes = cases = 0
    digests = []
    try:
        for code, (app, items, deciders) in sorted(data.items()):
            store.open(code)
            tables = ViewTables.for_store(store, code)
            writer = ViewWriter(tables, app, code, deciders, folds=folds)
            t0, c0 = time.perf_counter(), time.process_time()
            for start in range(0, len(items), batch):
                writer.write(items[start:start + batch])
                writes += 1
            cpu += time.process_time() - c0
            wall += time.perf_counter() - t0
            events += len(items)
            cases += len({i.case_id for i in items})
            digests.append(digest(tables))
            tables.close()
    finally:
        store.close()
        store.drop_all()
    return {"cpu_us_per_event": 1e6 * cpu / events, "cpu_ms_per_case": 1e3 * cpu / cases,
            "wall_s": wall, "writes": writes, "events": events, "digest": "/".join(digests)}


def parts(data: dict[str, Any], batch: int, rounds: int) -> None:
    """Old and new ways of the write's parts in one process, alternately (best of `rounds`):
    building the rows (columns and document text) and sending them (`executemany` per row
    against one statement of arrays), for the views each batch changes."""
    from projections.cases import apply
    from projections.documents import Encoder, columns, to_document

    batches: list[tuple[str, list[Any]]] = []
    for code, (_app, items, deciders) in sorted(data.items()):
        views: dict[str, Any] = {}
        for start in range(0, len(items), batch):
            changed: dict[str, Any] = {}
            for r in items[start:start + batch]:
                if r.process in deciders:
                    changed[r.case_id] = apply(changed.get(r.case_id) or views.get(r.case_id),
                                               r, deciders[r.process])
            views.update(changed)
            batches.append((code, list(changed.values())))
    written = sum(len(b) for _, b in batches)

    def old_rows() -> list[list[Any]]:
        return [[(*columns(v).values(), json.dumps(to_document(v), ensure_ascii=False))
                 for v in b] for _, b in batches]

    def new_rows() -> list[list[Any]]:
        encoders = {code: Encoder(10_000) for code in data}  # a writer per region
        return [[encoders[code].row(v) for v in b] for code, b in batches]

    assert old_rows() == new_rows()
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, fn in (("rows old", old_rows), ("rows new", new_rows)):
            c0 = time.process_time()
            fn()
            best[name] = min(best.get(name, 1e9), time.process_time() - c0)
    rows = new_rows()
    prefix = f"vb_{uuid.uuid4().hex[:8]}_"
    store = PostgresStore(DSN, schema_prefix=prefix)
    try:
        store.open("150600")
        tables = ViewTables.for_store(store, "150600")
        d = tables.dialect
        cols = (*COLUMNS, "doc")
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "case_id")
        old_statement = d.q(f"INSERT INTO {d.table(LIVE)} ({', '.join(cols)}) VALUES "
                            f"({', '.join('?' for _ in cols)}) ON CONFLICT (case_id) DO "
                            f"UPDATE SET {updates}")

        def old_send() -> None:
            for b in rows:
                if b:
                    with tables.writing() as curs:
                        curs.executemany(old_statement, b)

        def new_send() -> None:
            for b in rows:
                if b:
                    with tables.writing() as curs:
                        curs.execute(d.upsert(LIVE), [list(c) for c in zip(*b, strict=True)])

        for _ in range(rounds):
            for name, send in (("send old", old_send), ("send new", new_send)):
                c0 = time.process_time()
                send()
                best[name] = min(best.get(name, 1e9), time.process_time() - c0)
        tables.close()
    finally:
        store.close()
        store.drop_all()
    print(json.dumps({"views_written": written, "writes": len(batches),
                      **{k: round(1e6 * v / written, 1) for k, v in best.items()},
                      "unit": "us of CPU per view written, best of rounds"}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=60)
    parser.add_argument("--parts", action="store_true", help="old and new parts, one process")
    parser.add_argument("--folds", action="store_true",
                        help="each round twice: without and with the nodes' folded states")
    args = parser.parse_args()
    folds = NodeFolds(kept=10_000_000) if args.folds else None
    data = records_of(args.cases, args.seed, folds)
    if args.parts:
        parts(data, args.batch, args.rounds)
        return
    for _ in range(args.rounds):
        if folds is not None:
            print(json.dumps({"folds": False, **one_round(data, args.batch)}), flush=True)
        print(json.dumps({"folds": folds is not None, **one_round(data, args.batch, folds)}),
              flush=True)


if __name__ == "__main__":
    main()
