"""CPU per decision of `domain.kernel.settle`, two source trees alternately in one process.

Why: a node's `Stager.stage` spends most of its domain time in `settle` (decide, the
transfer's bookkeeping, the fold, the policies: issue 17). Here the decisions a seeded
simulation makes — every `settle` call of the nodes' stagers, with its decider, state, command
and instant — are recorded, once with each tree's code, then replayed through each tree's own
`settle`, the two trees in turn, round after round, so that the machine's load (shared, noisy)
moves both alike: only their ratio in one sitting counts.

Both trees live in one interpreter: each is imported with its root first on `sys.path`, its
modules (`domain`, `regions`, `projections`, `simulations`, `api`) then put aside; before each
of its turns they are put back in `sys.modules`, so that an import made inside a function
finds its own tree (eventsourcing's registry of topics is emptied before each tree's import;
only the replay is timed, which reads none). The garbage collector runs with a node's thresholds
(`regions.runtime.collector`).

    python -m simulations.bench.settle --old /tmp/base [--new .] [--rounds 9] [--seed 1]
        [--cases 120] [--process pension_transfer] [--faults all|none] [--command Submit]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

PACKAGES = ("domain", "regions", "projections", "simulations", "api")
Call = tuple[Any, Any, Any, Any]


def _ours(name: str) -> bool:
    return name.split(".", 1)[0] in PACKAGES


def _record(seed: int, cases: int, process: str, faults: bool, command: str = "") -> list[Call]:
    """The `settle` calls of one simulated run, as (decider, state, command, now)."""
    staging = importlib.import_module("regions.core.staging")
    runner = importlib.import_module("simulations.runner")
    all_faults = importlib.import_module("simulations.faults").ALL_FAULTS
    calls: list[Call] = []
    real = staging.settle
    kind = command

    def recording(decider: Any, state: Any, command: Any, now: Any) -> Any:
        if (not process or getattr(decider, "process", "") == process) and (
                not kind or type(command).__name__ == kind):
            calls.append((decider, state, command, now))
        return real(decider, state, command, now)

    setattr(staging, "settle", recording)  # noqa: B010 (a module's name, patched)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            runner.run(seed, cases, faults=all_faults if faults else ())
    finally:
        setattr(staging, "settle", real)  # noqa: B010
    return calls


class Tree:
    """One source tree's modules, its `settle` and the decisions recorded with its code."""

    def __init__(self, root: str, seed: int, cases: int, process: str, faults: bool,
                 command: str = "") -> None:
        self.root = os.path.abspath(root)
        for name in [n for n in sys.modules if _ours(n)]:
            del sys.modules[name]
        topics = importlib.import_module("eventsourcing.utils")  # its registry refuses a
        topics._topic_cache.clear()  # second class for a topic: each tree registers its own
        topics._type_cache.clear()
        sys.path.insert(0, self.root)
        importlib.invalidate_caches()
        try:
            kernel = importlib.import_module("domain.kernel")
            assert os.path.abspath(kernel.__file__ or "").startswith(self.root), kernel.__file__
            self.settle: Callable[..., Any] = kernel.settle
            self.error: type[Exception] = kernel.DomainError
            self.calls = _record(seed, cases, process, faults, command)
        finally:
            sys.path.remove(self.root)
        self.modules = {n: m for n, m in sys.modules.items() if _ours(n)}

    def replay(self) -> float:
        """CPU µs a decision, over every recorded decision once."""
        sys.modules.update(self.modules)
        settle, error, calls = self.settle, self.error, self.calls
        started = time.process_time()
        for decider, state, command, now in calls:
            try:  # noqa: SIM105 (`contextlib.suppress` would be timed with the decision)
                settle(decider, state, command, now)
            except error:
                pass
        return (time.process_time() - started) / len(calls) * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--old", required=True, help="the old tree's root")
    parser.add_argument("--new", default=".", help="the new tree's root")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--passes", type=int, default=3, help="replays per turn (best kept)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", type=int, default=120)
    parser.add_argument("--process", default="pension_transfer",
                        help="only this process's decisions ('' for all)")
    parser.add_argument("--faults", choices=("all", "none"), default="all")
    parser.add_argument("--command", default="", help="only commands of this class (Submit...)")
    args = parser.parse_args(argv)
    trees = {name: Tree(root, args.seed, args.cases, args.process, args.faults == "all",
                        args.command)
             for name, root in (("old", args.old), ("new", args.new))}
    counts = {name: len(t.calls) for name, t in trees.items()}
    print(f"decisions recorded: {counts} (seed {args.seed}, {args.cases} cases, "
          f"process {args.process or 'all'}, faults {args.faults})")
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    for tree in trees.values():  # warm: caches (`Rules.recompute`, parsed numbers) filled
        tree.replay()
    best: dict[str, list[float]] = {name: [] for name in trees}
    for r in range(args.rounds):
        for name, tree in (trees.items() if r % 2 == 0 else reversed(trees.items())):
            best[name].append(min(tree.replay() for _ in range(args.passes)))
        print(f"round {r + 1}: old {best['old'][-1]:.1f} µs, new {best['new'][-1]:.1f} µs, "
              f"new/old {best['new'][-1] / best['old'][-1]:.3f}", flush=True)
    ratios = [n / o for n, o in zip(best["new"], best["old"], strict=True)]
    print(f"old: min {min(best['old']):.1f}, median {statistics.median(best['old']):.1f} µs a "
          f"decision; new: min {min(best['new']):.1f}, median "
          f"{statistics.median(best['new']):.1f} µs; new/old per round: median "
          f"{statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")


if __name__ == "__main__":
    main()
