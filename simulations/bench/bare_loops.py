"""The bare pipeline on the standard event loop and on uvloop, alternately, in one sitting.

Why: the bench's bound runs on the loop the nodes run on (`TONGBAN_EVENT_LOOP`); this measures
how much that choice moves the bound, so a ratio from before and after the switch can be read.
`python -m simulations.bench.bare_loops --rounds 4 --cases 1200` (local PostgreSQL or a throwaway
one, a private nats-server); prints one line per run: round, loop, completed cases per second.
"""

from __future__ import annotations

import os
import uuid

import typer

from regions.adapters.brokers.nats_server import NatsServer
from simulations.bench import bare
from simulations.bench.run import choose_postgres


def main(rounds: int = typer.Option(4, min=1), cases: int = typer.Option(1200, min=50)) -> None:
    postgres = choose_postgres(None)
    nats = NatsServer(name="tongban-bare-loops")
    nats.start()
    try:
        for number in range(rounds):
            loops = ("asyncio", "uvloop") if number % 2 == 0 else ("uvloop", "asyncio")
            for loop in loops:
                os.environ["TONGBAN_EVENT_LOOP"] = loop  # read by the bare pipeline's processes
                figures = bare.measure(postgres.dsn, nats.url, f"tbl{uuid.uuid4().hex[:6]}_", cases)
                print(number, loop, figures["cases_per_second"], flush=True)
    finally:
        nats.stop()
        os.environ.pop("TONGBAN_EVENT_LOOP", None)


if __name__ == "__main__":
    typer.run(main)
