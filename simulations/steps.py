"""Where a run's scheduler steps go: per phase and kind, how many, how many committed, their CPU.

Why (issue 17): a seed's run spends much of its CPU after its workload — the heal and a drain of
~100–200 virtual days of deadlines, visits and ratings — and most of its steps commit nothing
(a pull that finds only high-water marks, a relay read that finds nothing, a visit that only
looks). Which of them are worth making cheaper, or skipping, is a question of counts and CPU by
kind; this census answers it for any seed without changing what the run does (the trace hash is
the plain run's; `tests/e2e/test_step_census.py`).

    python -m simulations.steps --seed 7 --cases 300

Phases: `workload` (arrivals, faults on), `heal` (the first virtual day after the heal),
`drain` (from then to the run's last commit), `tail` (after it, until the run ends). A step's
kind is its scheduler name before the colon, refined: a person's step (`act`, `rate`,
`withdraw`, `retry`, `bank`) that ran no command is `act(no command)`; a relay step that read
nothing `relay(nothing read)`; a pull that fetched nothing `inbox(empty)`; an inbox commit that
committed no side event (marks only, duplicates, a crash) `commit(no side commit)`. The
background rounds (heartbeats, gap checks, catch-ups, the broker's faults) and the per-step
checks run after a step, outside it: counted per phase on their own lines. CPU is
`time.process_time` around each (the wrappers' own cost included: compare kinds, not totals
with an unwrapped run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from regions.adapters.brokers.memory import MemoryBroker
from regions.core.relay import Relay
from regions.runtime import collector
from simulations import checkers, quiet, world
from simulations.faults import parse_faults
from simulations.runner import RunResult, run
from simulations.scheduler import Scheduler
from simulations.workload import Workload

PHASES = ("workload", "heal", "drain", "tail")
PEOPLE = frozenset({"act", "rate", "withdraw", "retry", "bank"})
HEAL_DAY = dt.timedelta(days=1)


@dataclass
class Census:
    #: One row per step: (phase while it ran: "workload" or "after", kind, committed, CPU s,
    #: virtual instant)
    steps: list[tuple[str, str, bool, float, dt.datetime]] = field(default_factory=list)
    #: per phase ("workload"/"after"): [rounds, CPU s, marks sent]
    background: dict[str, list[float]] = field(default_factory=dict)
    #: per phase: [calls, CPU s]
    checks: dict[str, list[float]] = field(default_factory=dict)
    #: per phase: marks the relays' heartbeats made (`background`'s third column: those of them
    #: published, the rest restated what their receivers held: `quiet.tells`)
    marks_made: dict[str, int] = field(default_factory=dict)
    healed_at: dt.datetime | None = None

    def table(self) -> dict[str, dict[str, list[float]]]:
        """Per phase, per kind: [steps, steps that committed, CPU s]."""
        last = max((i for i, row in enumerate(self.steps) if row[2]), default=-1)
        out: dict[str, dict[str, list[float]]] = {p: {} for p in PHASES}
        for index, (phase, kind, committed, cpu, now) in enumerate(self.steps):
            if phase != "workload":
                assert self.healed_at is not None
                phase = ("tail" if index > last else
                         "heal" if now - self.healed_at < HEAL_DAY else "drain")
            row = out[phase].setdefault(kind, [0, 0, 0.0])
            row[0] += 1
            row[1] += committed
            row[2] += cpu
        return out


@contextmanager
def _patched(census: Census) -> Iterator[None]:
    """Wrap the scheduler's step, the background, the checks and the components' reads for the
    duration of one run; everything restored after."""
    clock = time.process_time
    flags: dict[str, Any] = {"phase": "workload", "world": None}
    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        # An inherited method is deleted after the run, not set back: set on the subclass it
        # would shadow a later patch of the base class (`Relay.step` is `Tailer.step`).
        saved.append((owner, name, original if name in vars(owner) else None))
        setattr(owner, name, make(original))

    def step(original: Any) -> Any:
        def wrapped(sched: Scheduler) -> str | None:
            sim = flags["world"]
            if not sched._heap or sim is None:
                return original(sched)
            flags.update(command=False, read=False, fetched=False)
            commits = sim.trace.commits
            started = clock()
            name = original(sched)
            cpu = clock() - started
            kind = name.split(":", 1)[0]
            committed = sim.trace.commits > commits
            if kind in PEOPLE and not flags["command"]:
                kind = "act(no command)" if kind == "act" else f"{kind}(no command)"
            elif kind == "relay" and not flags["read"]:
                kind = "relay(nothing read)"
            elif kind == "inbox" and not flags["fetched"]:
                kind = "inbox(empty)"
            elif kind == "commit" and not committed:
                kind = "commit(no side commit)"
            census.steps.append((flags["phase"], kind, committed, cpu, sched.now))
            return name
        return wrapped

    def world_init(original: Any) -> Any:
        def wrapped(self: world.World, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            flags["world"] = self
        return wrapped

    def background(original: Any) -> Any:
        def wrapped(self: world.World) -> None:
            if self.sched.now < self._background_at:
                return
            started = clock()
            original(self)
            row = census.background.setdefault(flags["phase"], [0, 0.0, 0])
            row[0] += 1
            row[1] += clock() - started
        return wrapped

    def heal(original: Any) -> Any:
        def wrapped(self: world.World, link: frozenset[str] | None = None) -> None:
            if link is None and flags["phase"] == "workload":
                flags["phase"] = "after"
                census.healed_at = self.sched.now
            original(self, link)
        return wrapped

    def check_cases(original: Any) -> Any:
        def wrapped(*args: Any) -> list[str]:
            started = clock()
            found = original(*args)
            row = census.checks.setdefault(flags["phase"], [0, 0.0])
            row[0] += 1
            row[1] += clock() - started
            return found
        return wrapped

    def flag(key: str, when: Callable[[Any], bool]) -> Callable[[Any], Any]:
        def make(original: Any) -> Any:
            def wrapped(*args: Any, **kwargs: Any) -> Any:
                result = original(*args, **kwargs)
                if when(result):
                    flags[key] = True
                return result
            return wrapped
        return make

    def heartbeat(original: Any) -> Any:
        def wrapped(self: Relay, now: dt.datetime) -> Any:
            marks = original(self, now)
            made = census.marks_made
            made[flags["phase"]] = made.get(flags["phase"], 0) + len(marks)
            return marks
        return wrapped

    def tells(original: Any) -> Any:
        def wrapped(sim: world.World, origin: str, item: Any) -> bool:
            told = bool(original(sim, origin, item))
            if told:
                row = census.background.setdefault(flags["phase"], [0, 0.0, 0])
                row[2] += 1
            return told
        return wrapped

    patch(Scheduler, "step", step)
    patch(world.World, "__init__", world_init)
    patch(world.World, "background", background)
    patch(world.World, "heal", heal)
    patch(checkers, "check_cases", check_cases)
    patch(Workload, "_attempt", flag("command", lambda _: True))
    patch(Relay, "step", flag("read", lambda batch: batch is not None))
    patch(MemoryBroker, "fetch_now", flag("fetched", bool))
    patch(Relay, "heartbeat", heartbeat)
    patch(quiet, "tells", tells)
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def census(seed: int, cases: int, faults: tuple[str, ...]) -> tuple[RunResult, Census]:
    """One run, counted."""
    counted = Census()
    with _patched(counted):
        result = run(seed, cases, faults=faults)
    return result, counted


def report(result: RunResult, counted: Census) -> list[str]:
    lines = [f"seed {result.seed} x {result.cases}: trace {result.world.trace.hexdigest()[:8]} "
             f"violations {len(result.violations)} commits {result.world.trace.commits} "
             f"steps {len(counted.steps)}"]
    for phase, kinds in counted.table().items():
        steps = sum(int(v[0]) for v in kinds.values())
        lines.append(f"-- {phase}: {steps} steps, "
                     f"{sum(int(v[1]) for v in kinds.values())} committed, "
                     f"step CPU {sum(v[2] for v in kinds.values()):.2f} s")
        for kind, (n, committed, cpu) in sorted(kinds.items(), key=lambda kv: -kv[1][2]):
            lines.append(f"   {kind:24s} {int(n):7d} steps {int(committed):6d} committed "
                         f"{cpu:6.2f} s {1e6 * cpu / max(n, 1):6.0f} us a step")
    for phase in ("workload", "after"):
        rounds, cpu, marks = counted.background.get(phase, [0, 0.0, 0])
        calls, check_cpu = counted.checks.get(phase, [0, 0.0])
        made = counted.marks_made.get(phase, 0)
        lines.append(f"-- {phase if phase == 'workload' else 'after the heal'}: background "
                     f"{int(rounds)} rounds {cpu:.2f} s ({int(marks)} of {made} marks made "
                     "sent); "
                     f"per-step checks {int(calls)} calls {check_cpu:.2f} s")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--faults", default="all")
    args = parser.parse_args(argv)
    collector.tune()  # as `tongban simulate` does
    result, counted = census(args.seed, args.cases, parse_faults(args.faults))
    print("\n".join(report(result, counted)))


if __name__ == "__main__":
    main()
