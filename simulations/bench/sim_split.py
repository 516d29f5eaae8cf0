"""Where a simulator run's CPU goes: the node's, the wire's, the memory store's and broker's, the
harness's — per what the run loop was doing — from a py-spy profile, and each check's own cost.

Why (issue 17, SIMCPU): whether a lever for `tongban simulate`'s cases/s is the harness's
(`simulations/`: the scheduler, the world, the people, the checks) or the node's (`regions/`,
which the simulator steps as the driver does) decides who can take it. Sessions split profiles
by hand, each a little differently; this is the one split, so figures from sessions compare.

    py-spy record -r 200 -f raw -o RUN.raw -- python -m simulations.bench_simulate --cases 2000
    python -m simulations.bench.sim_split profile RUN.raw
    python -m simulations.bench.sim_split checks --seed 7 --cases 600

`profile`: each sample goes to the innermost frame that is the node's (`regions/` but the wire
and the adapters), the wire's (`regions/wire/`), the store's and broker's (`regions/adapters/`)
or the harness's (`simulations/`) — so domain and projection code a check or a visit asks for
is the asker's — and to what the run loop was doing: a per-step check, the end check, a
background round, or the scheduler's step by its action. Start-up (imports) and the exit
(`no frame`: the interpreter freeing the world) fall outside `run`, whose wall time is the
cases/s figure.
`checks`: one run with each case check, each final check, the world's record of each commit
(`Observations.record`) and the trace (`Trace.add`) timed by `process_time` (the wrappers' own
cost is in the figures: compare the rows, not the total with an unwrapped run).
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

OWNERS = (("regions/wire/", "wire"), ("regions/adapters/", "store+broker"), ("regions/", "node"),
          ("simulations/", "harness"))
PHASES = (("check_final", "end check"), ("check_cases", "per-step checks"),
          ("World.background", "background"), ("World.heal", "heal"))
_FILE = re.compile(r"\((.*?):\d+\)")


def owner(frame: str) -> str | None:
    found = _FILE.search(frame)
    path = found.group(1) if found else ""
    return next((name for prefix, name in OWNERS if path.startswith(prefix)), None)


def phase(frames: list[str]) -> str:
    for index, frame in enumerate(frames):
        for marker, name in PHASES:
            if frame.startswith(marker):
                return name
        if frame.startswith("Scheduler.step"):
            action = frames[index + 1] if index + 1 < len(frames) else ""
            return "step: " + action.split(" (", 1)[0]
    return "imports" if any("importlib" in f for f in frames) else "outside the loop"


def split(lines: Iterable[str]) -> tuple[int, Counter[tuple[str, str]]]:
    """(samples, samples by (phase, owner)) of py-spy's raw lines (`stack count`)."""
    table: Counter[tuple[str, str]] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        who = next((o for f in reversed(frames) if (o := owner(f)) is not None), "no frame")
        table[(phase(frames), who)] += int(count)
        total += int(count)
    return total, table


def print_split(total: int, table: Counter[tuple[str, str]], rows: int = 20) -> None:
    owners: Counter[str] = Counter()
    phases: Counter[str] = Counter()
    for (where, who), n in table.items():
        owners[who] += n
        phases[where] += n
    print(f"{total} samples; by owner: " + ", ".join(
        f"{who} {100 * n / total:.1f} %" for who, n in owners.most_common()))
    inside: Counter[str] = Counter()
    for (where, who), n in table.items():
        if where not in ("imports", "outside the loop"):
            inside[who] += n
    loop = sum(inside.values()) or 1
    print("within the run loop: " + ", ".join(
        f"{who} {100 * n / loop:.1f} %" for who, n in inside.most_common()))
    for where, n in phases.most_common(rows):
        parts = ", ".join(f"{who} {100 * table[(where, who)] / total:.1f}"
                          for who, _ in owners.most_common() if table[(where, who)])
        print(f"{100 * n / total:5.1f} %  {where}: {parts}")


def timed_checks(seed: int, cases: int) -> tuple[dict[str, list[float]], float, str]:
    """Per check (and the record and the trace): [calls, CPU s] in one run; the run's CPU s
    and its trace hash."""
    from simulations import checkers, trace
    from simulations.faults import parse_faults
    from simulations.report import summarise
    from simulations.runner import run

    spent: dict[str, list[float]] = {}

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        row = spent.setdefault(name, [0, 0.0])

        def timed(*args: Any) -> Any:
            started = time.process_time()
            try:
                return fn(*args)
            finally:
                row[0] += 1
                row[1] += time.process_time() - started
        return timed

    saved = (list(checkers.CASE_CHECKS), list(checkers.FINAL_CHECKS),
             checkers.Observations.record, trace.Trace.add)
    checkers.CASE_CHECKS[:] = [wrap(c.__name__, c) for c in saved[0]]
    checkers.FINAL_CHECKS[:] = [wrap("end: " + c.__name__, c) for c in saved[1]]
    checkers.Observations.record = wrap("record (transition watch)", saved[2])  # type: ignore
    trace.Trace.add = wrap("trace", saved[3])  # type: ignore[method-assign]
    try:
        started = time.process_time()
        result = run(seed, cases, faults=parse_faults("all"))
        cpu = time.process_time() - started
    finally:
        checkers.CASE_CHECKS[:], checkers.FINAL_CHECKS[:] = saved[0], saved[1]
        checkers.Observations.record = saved[2]  # type: ignore[method-assign]
        trace.Trace.add = saved[3]  # type: ignore[method-assign]
    return spent, cpu, str(summarise(result)["trace_hash"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    prof = sub.add_parser("profile", help="split a py-spy raw profile")
    prof.add_argument("raw")
    checks = sub.add_parser("checks", help="each check's CPU in one run")
    checks.add_argument("--seed", type=int, default=7)
    checks.add_argument("--cases", type=int, default=600)
    args = parser.parse_args(argv)
    if args.what == "profile":
        with open(args.raw, encoding="utf-8", errors="replace") as lines:
            print_split(*split(lines))
        return
    from regions.runtime import collector
    collector.tune()
    spent, cpu, trace_hash = timed_checks(args.seed, args.cases)
    print(f"seed {args.seed} x {args.cases}: run CPU {cpu:.2f} s, trace {trace_hash[:8]}")
    for name, (calls, seconds) in sorted(spent.items(), key=lambda kv: -kv[1][1]):
        print(f"{100 * seconds / cpu:5.1f} %  {seconds:6.2f} s  {int(calls):7d} calls "
              f"{1e6 * seconds / max(calls, 1):8.1f} us a call  {name}")


if __name__ == "__main__":
    main()
