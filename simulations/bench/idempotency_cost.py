"""What the idempotency records cost the node's own path: the bench's flow with and without them.

Why its own script: issue 17 asked whether the three `CommandRecord.Done` rows a case costs each
node are needed. They are (a retry is answered from the stored outcome, and the record's
version is what makes a duplicate transaction conflict whole: `regions.core.idempotency`), so
the question left is their price. Here `simulations.bench.nodepath`'s flow (the two nodes'
commands and received messages, this thread's CPU) runs alternately as it is and with
`Idempotency.claim` and `Idempotency.record` switched off — no request hash, no record, no row —
in one process, the collector off while timing; the medians of µs per command, per message and
per case are printed with the share the records take. Measuring only: the switched-off node is
not a node anyone should run.

    python -m simulations.bench.idempotency_cost [--rounds 6] [--cases 300] [--dsn DSN]
"""

from __future__ import annotations

import argparse
import gc
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from regions.core import idempotency
from simulations.bench import nodepath

KEYS = ("us_per_command", "us_per_message", "us_per_case")


def _switch(on: bool) -> Callable[[], None]:
    """Switch the records on or off; the callable puts them back."""
    cls: Any = idempotency.Idempotency
    saved = cls.claim, cls.record
    if not on:
        cls.claim = lambda self, *args, **kwargs: None
        cls.record = lambda self, *args, **kwargs: None

    def restore() -> None:
        cls.claim, cls.record = saved
    return restore


def run(rounds: int, cases: int, dsn: str) -> dict[str, list[dict[str, float]]]:
    nodepath.child(max(cases // 5, 10), dsn)  # warm-up: imports, memos
    runs: dict[str, list[dict[str, float]]] = {"records": [], "none": []}
    for n in range(rounds):
        for mode in ("records", "none") if n % 2 == 0 else ("none", "records"):
            restore = _switch(mode == "records")
            gc.collect()
            gc.disable()  # a collection's pause lands on whichever run allocates next
            try:
                runs[mode].append(nodepath.child(cases, dsn))
            finally:
                gc.enable()
                restore()
            print(mode, {k: round(runs[mode][-1][k]) for k in KEYS}, flush=True)
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--dsn", default="", help="PostgreSQL (e.g. the bench's) instead of "
                        "the memory store")
    args = parser.parse_args(argv)
    runs = run(args.rounds, args.cases, args.dsn)
    for key in KEYS:
        with_, without = (statistics.median(r[key] for r in runs[m]) for m in ("records", "none"))
        print(f"{key}: with the records {with_:.0f}, without {without:.0f} "
              f"({100 * (with_ - without) / with_:.1f} % of the path)")


if __name__ == "__main__":
    main()
