"""Old code beside new for the micro-benches: one way to get a source tree and run against it.

Why one module: the benches that compare two versions of the code (`settle`, `nodepath`,
`views`, `wire`) each loaded the old code their own way — a `sys.path` swap, single files
loaded beside this tree's modules, a revision's files read with `git show`, a child process —
and the partial ones let this tree's modules serve the old code's imports, so "old" was a
mixture. Here:

- `checkout(old)`: `old` as a source tree — a directory as it is, or a git revision of this
  repository extracted (`git archive`) into a temporary directory, removed afterwards;
- `Tree(root)`: that tree's packages (`PACKAGES`) imported in a namespace of their own inside
  this process. While `Tree.active()`, `sys.modules` holds only the tree's project modules (any
  other tree's are put aside), its root is first on `sys.path`, and eventsourcing's registry of
  topics is the tree's; on leaving, a project module of the tree read from outside its root —
  another tree's code leaking into this one — is an error. `Tree.load(path)` executes a bench's
  own file with its imports from the tree, so the bench's harness drives each tree's code with
  that tree's classes.
- `alternate_runs(old, bench_file, run, ...)`: a bench's run on each tree in turn, rounds of
  them, and the medians per figure.

Both trees run alternately in one interpreter (a child process a turn was tried for `settle`:
its rounds differed by ±30 % at load 6-9). Only the switch between trees costs anything, and
the benches make it outside their clocks.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

#: The top-level packages of a source tree: the ones a `Tree` imports from its own root.
PACKAGES = ("domain", "regions", "projections", "simulations", "api")
#: This repository's root (the revisions `checkout` extracts are its).
ROOT = Path(__file__).resolve().parents[2]
_loaded = itertools.count(1)


def ours(name: str) -> bool:
    """Whether module `name` belongs to a source tree (one of `PACKAGES` or inside one)."""
    return name.split(".", 1)[0] in PACKAGES


@contextlib.contextmanager
def checkout(old: str, repo: Path = ROOT) -> Iterator[Path]:
    """`old` as a source tree's root: an existing directory as it is, else the git revision
    `old` of `repo` extracted into a temporary directory (removed on leaving)."""
    if Path(old).is_dir():
        yield Path(old).resolve()
        return
    with tempfile.TemporaryDirectory(prefix="tongban-old-") as tmp:
        archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", old],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Path(tmp)


class Tree:
    """One source tree's project modules, imported from its root in a namespace of their own."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.modules: dict[str, types.ModuleType] = {}
        self._topics: dict[str, Any] = {}
        self._types: dict[Any, str] = {}
        self._depth = 0

    @contextlib.contextmanager
    def active(self) -> Iterator[Tree]:
        """This tree's modules in `sys.modules` (and imports made meanwhile from its root), its
        topics in eventsourcing's registry; the ones before are put back on leaving (entered
        again while active, it stays as it is)."""
        if self._depth:
            yield self
            return
        registry = importlib.import_module("eventsourcing.utils")
        topics, kinds = registry._topic_cache, registry._type_cache
        before = {name: module for name, module in sys.modules.items() if ours(name)}
        before_topics, before_types = dict(topics), dict(kinds)
        for name in before:
            del sys.modules[name]
        sys.modules.update(self.modules)
        _replace(topics, self._topics)
        _replace(kinds, self._types)
        sys.path.insert(0, str(self.root))
        importlib.invalidate_caches()
        self._depth += 1
        try:
            yield self
        finally:
            self._depth -= 1
            sys.path.remove(str(self.root))
            self.modules = {name: module for name, module in sys.modules.items() if ours(name)}
            self._topics, self._types = dict(topics), dict(kinds)
            for name in self.modules:
                del sys.modules[name]
            sys.modules.update(before)
            _replace(topics, before_topics)
            _replace(kinds, before_types)
            self.check()

    def check(self) -> None:
        """Refuses a module of this tree's packages that was read from outside its root."""
        strays = sorted(name for name, module in self.modules.items()
                        if getattr(module, "__file__", None)
                        and not Path(module.__file__ or "").resolve().is_relative_to(self.root))
        if strays:
            raise ImportError(f"modules from outside {self.root} in its tree: {strays[:5]}")

    def module(self, name: str) -> types.ModuleType:
        """The tree's module `name` (imported if it was not yet)."""
        with self.active():
            return importlib.import_module(name)

    def load(self, path: str | Path) -> types.ModuleType:
        """The file `path` (a bench's own, from any tree) executed as a module whose imports
        come from this tree: its functions drive this tree's code with its classes."""
        name = f"_old_code_{next(_loaded)}_{Path(path).stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pickle look a class's module up by name
        with self.active():
            spec.loader.exec_module(module)
        return module


def alternate_runs(old: str, bench_file: str, run: Callable[[Any, int], dict[str, float]], *,
                   cases: int, rounds: int, figures: Sequence[str], digits: int = 1) -> None:
    """`run(bench, cases)` for the old tree (`old`) and this one alternately, `rounds` times, the
    bench's file (`bench_file`) loaded for each tree; prints each run and, per figure, the two
    medians and their ratio. Why here: the benches that time one function of a tree per run
    (`nodepath`, `inbox`) differ only in that function and their figures; the garbage
    collector is off during a run, as a collection's pause lands on whichever run allocates
    next."""
    with checkout(old) as root:
        trees = {"old": Tree(root), "new": Tree(ROOT)}
        bench = {name: tree.load(bench_file) for name, tree in trees.items()}
        runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
        for name, tree in trees.items():  # warm-up: imports, memos
            with tree.active():
                run(bench[name], cases // 4)
        for n in range(rounds):
            for name in ("old", "new") if n % 2 == 0 else ("new", "old"):
                with trees[name].active():
                    gc.collect()
                    gc.disable()
                    try:
                        runs[name].append(run(bench[name], cases))
                    finally:
                        gc.enable()
                print(name, json.dumps({k: round(v, digits) for k, v in runs[name][-1].items()}),
                      flush=True)
    for key in figures:
        o, w = (statistics.median(r[key] for r in runs[s]) for s in ("old", "new"))
        wins = sum(a[key] > b[key] for a, b in zip(runs["old"], runs["new"], strict=True))
        print(f"{key}: old {o:.{digits}f}  new {w:.{digits}f}  ratio {o / w:.3f}  (new lower in "
              f"{wins} of {rounds})")


def _replace(target: dict[Any, Any], source: dict[Any, Any]) -> None:
    target.clear()
    target.update(source)
