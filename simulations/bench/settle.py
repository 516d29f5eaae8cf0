"""CPU per decision of `domain.settling.settle`, two source trees alternately in one process.

Why: a node's `Stager.stage` spends most of its domain time in `settle` (decide, the
transfer's bookkeeping, the fold, the policies: issue 17). Here the decisions a seeded
simulation makes — every `settle` call of the nodes' stagers, with its decider, state, command
and instant — are recorded, once with each tree's code, then replayed through each tree's own
`settle`, the two trees in turn, round after round, so that the machine's load (shared, noisy)
moves both alike: only their ratio in one sitting counts.

Both trees live in one interpreter, each in a namespace of its own
(`simulations.bench.old_code`: a tree is a directory or a git revision; this file's functions
run with each tree's modules, and each turn's replay with its tree's modules in `sys.modules`;
only the replay is timed). The garbage collector runs with a node's thresholds
(`regions.runtime.collector`).

    python -m simulations.bench.settle --old /tmp/base|REV [--new .|REV] [--rounds 9] [--seed 1]
        [--cases 120] [--process pension_transfer] [--faults all|none] [--command Submit]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import io
import statistics
import time
from collections.abc import Callable
from typing import Any

Call = tuple[Any, Any, Any, Any]


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


class Side:
    """One source tree's `settle` and the decisions recorded with its code."""

    def __init__(self, tree: Any, seed: int, cases: int, process: str, faults: bool,
                 command: str = "") -> None:
        self.tree = tree
        bench = tree.load(__file__)
        with tree.active():
            kernel = importlib.import_module("domain.kernel")
            settling = kernel if hasattr(kernel, "settle") else importlib.import_module(
                "domain.settling")  # older trees have it in the kernel
            self.settle: Callable[..., Any] = settling.settle
            self.error: type[Exception] = kernel.DomainError
            self.calls: list[Call] = bench._record(seed, cases, process, faults, command)

    def replay(self) -> float:
        """CPU µs a decision, over every recorded decision once."""
        with self.tree.active():
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
    parser.add_argument("--old", required=True, help="the old tree's root or a git revision")
    parser.add_argument("--new", default=".", help="the new tree's root or a git revision")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--passes", type=int, default=3, help="replays per turn (best kept)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", type=int, default=120)
    parser.add_argument("--process", default="pension_transfer",
                        help="only this process's decisions ('' for all)")
    parser.add_argument("--faults", choices=("all", "none"), default="all")
    parser.add_argument("--command", default="", help="only commands of this class (Submit...)")
    args = parser.parse_args(argv)
    from simulations.bench import old_code  # here: this file also runs against older trees

    with old_code.checkout(args.old) as old, old_code.checkout(args.new) as new:
        trees = {name: Side(old_code.Tree(root), args.seed, args.cases, args.process,
                            args.faults == "all", args.command)
                 for name, root in (("old", old), ("new", new))}
        _compare(trees, args)


def _compare(trees: dict[str, Side], args: argparse.Namespace) -> None:
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
