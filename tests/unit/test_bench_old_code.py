"""The micro-benches' old code (`simulations.bench.old_code`): a revision or directory as a
source tree, its modules imported in a namespace of their own, and none of the running tree's
modules serving its imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from eventsourcing import utils as topics

import domain.kernel
from simulations.bench.old_code import Tree, checkout


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                           *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository whose `domain.thing` says "one" at its first commit, "two" at its second."""
    root = tmp_path / "repo"
    (root / "domain").mkdir(parents=True)
    (root / "domain" / "__init__.py").write_text("")
    _git(root, "init", "-q")
    shas = []
    for version in ("one", "two"):
        (root / "domain" / "thing.py").write_text(f"VERSION = {version!r}\n")
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", version)
        shas.append(_git(root, "rev-parse", "HEAD"))
    return root, shas[0], shas[1]


def test_a_revision_is_extracted_for_the_bench_and_removed_after(
        repo: tuple[Path, str, str]) -> None:
    root, first, _ = repo
    with checkout(first, repo=root) as tree:
        assert (tree / "domain" / "thing.py").read_text() == "VERSION = 'one'\n"
        assert tree != root
    assert not tree.exists()
    with checkout(str(root)) as same:
        assert same == root.resolve()
    assert root.exists()


def test_a_tree_imports_its_own_modules_and_the_running_ones_come_back(
        repo: tuple[Path, str, str]) -> None:
    root, first, second = repo
    running = sys.modules["domain"]
    registry = dict(topics._topic_cache)
    with checkout(first, repo=root) as old, checkout(second, repo=root) as new:
        trees = Tree(old), Tree(new)
        things = [tree.module("domain.thing") for tree in trees]
        assert [t.VERSION for t in things] == ["one", "two"]
        assert Path(things[0].__file__ or "").is_relative_to(old)
        assert sys.modules["domain"] is running and "domain.thing" not in sys.modules
        assert sys.modules["domain.kernel"] is domain.kernel
        with trees[0].active():
            assert sys.modules["domain.thing"] is things[0]
            assert "domain.kernel" not in sys.modules
            topics.register_topic("domain.thing:Only", object)
    assert topics._topic_cache == registry


def test_a_module_of_the_running_tree_serving_an_old_import_is_refused(
        repo: tuple[Path, str, str]) -> None:
    root, first, _ = repo
    with checkout(first, repo=root) as old:
        tree = Tree(old)  # it has `domain` only: `regions` would come from the running tree
        with pytest.raises(ImportError, match="outside"):
            tree.module("regions")


def test_a_bench_file_loaded_with_a_tree_takes_its_imports_from_that_tree(
        repo: tuple[Path, str, str], tmp_path: Path) -> None:
    root, first, second = repo
    harness = tmp_path / "harness.py"
    harness.write_text("from domain.thing import VERSION\n\n\ndef version():\n"
                       "    import domain.thing\n    return domain.thing.VERSION\n")
    with checkout(first, repo=root) as old, checkout(second, repo=root) as new:
        trees = Tree(old), Tree(new)
        loaded = [tree.load(harness) for tree in trees]
        assert [m.VERSION for m in loaded] == ["one", "two"]
        for tree, module, version in zip(trees, loaded, ("one", "two"), strict=True):
            with tree.active():
                assert module.version() == version
