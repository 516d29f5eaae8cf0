"""How fast the simulator runs, and whether speed work left its traces alone.

Why: issue 17 asks `tongban simulate` for >= 200 cases/s with every checker on, so that the CI
seed batch can grow; timings belong in a script that prints figures, never in a timed test.
The trace hashes printed alongside are the determinism contract: a speed change that alters a
seed's hash changed what the run did, not just how fast.

    python -m simulations.bench_simulate                      # seed 7, 2000 cases, all faults
    python -m simulations.bench_simulate --hashes 1-5 --cases 300   # hashes to compare
    python -m simulations.bench_simulate --profile            # cProfile, top 30 by cumulative

On a shared machine the wall figure moves with the neighbours' load; the CPU figure is the one
to compare before and after.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from regions.runtime import collector
from simulations.faults import parse_faults
from simulations.report import summarise
from simulations.runner import run


def _seeds(text: str) -> list[int]:
    if "-" in text:
        low, high = text.split("-", 1)
        return list(range(int(low), int(high) + 1))
    return [int(s) for s in text.split(",") if s]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--faults", default="all")
    parser.add_argument("--hashes", help="seeds (1-5 or 1,2,3): print each seed's trace hash")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the run")
    args = parser.parse_args(argv)
    kinds = parse_faults(args.faults)
    collector.tune()  # as `tongban simulate` does
    if args.hashes:
        for seed in _seeds(args.hashes):
            s = summarise(run(seed, args.cases, faults=kinds))
            print(f"seed={seed} cases={args.cases} trace_hash={s['trace_hash']} "
                  f"violations={s['invariant_violations']} cases/s={s['cases_per_second']}",
                  flush=True)
        return
    profiler = cProfile.Profile() if args.profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    result = run(args.seed, args.cases, faults=kinds)
    if profiler is not None:
        profiler.disable()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    s = summarise(result)
    print(f"seed={args.seed} cases={s['cases']} faults={args.faults} wall={wall:.1f}s "
          f"cases/s={s['cases'] / wall:.1f} cpu={cpu:.1f}s cases/cpu-s={s['cases'] / cpu:.1f} "
          f"violations={s['invariant_violations']} "
          f"trace_hash={s['trace_hash']}")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
