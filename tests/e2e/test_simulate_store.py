"""`tongban simulate --store`: the store backend is not part of "the same run" (design §6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from regions.adapters.stores.sql import SqliteStore
from simulations.runner import run

REGIONS = ("150900", "140200", "130700")


def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api", "simulate", *args], capture_output=True,
                          text=True, env=dict(os.environ), timeout=300, check=False)


def last_json(result: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_same_seed_gives_the_same_trace_on_memory_and_sqlite_stores() -> None:
    args = ("--seed", "11", "--cases", "20", "--regions", ",".join(REGIONS), "--faults", "all",
            "--json")
    memory = simulate(*args, "--store", "memory")
    sqlite = simulate(*args, "--store", "sqlite")
    assert memory.returncode == 0 and sqlite.returncode == 0, memory.stderr + sqlite.stderr
    a, b = last_json(memory), last_json(sqlite)
    assert a["commits"] > 0 and a["invariant_violations"] == 0 == b["invariant_violations"]
    assert (a["trace_hash"], a["commits"], a["completed"]) == \
        (b["trace_hash"], b["commits"], b["completed"])


def test_a_sqlite_run_keeps_each_region_in_its_own_file_and_traces_like_memory(
        tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    try:
        on_sqlite = run(5, 12, REGIONS, ("crash_after_commit", "drop", "duplicate"),
                        store_factory=lambda: store)
    finally:
        store.close()
    on_memory = run(5, 12, REGIONS, ("crash_after_commit", "drop", "duplicate"))
    assert sorted(p.name for p in tmp_path.glob("*.sqlite")) == [f"{r}.sqlite" for r in
                                                                 sorted(REGIONS)]
    assert on_sqlite.violations == [] and on_sqlite.world.trace.commits > 0
    assert on_sqlite.world.trace.hexdigest() == on_memory.world.trace.hexdigest()


def test_an_unknown_store_is_refused_with_the_choices() -> None:
    result = simulate("--seed", "1", "--cases", "1", "--store", "postgres")
    assert result.returncode != 0
    assert "memory or sqlite" in result.stderr
