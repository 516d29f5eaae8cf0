"""The SQLite deployment's worker lock (an OS file lock): a second node waits until the first
lets go, and a lock file that disappears counts as a lost lock. Integration tier: real files and
real-time polling, bounded by deadlines."""

from __future__ import annotations

import asyncio
from pathlib import Path

from regions.adapters.worker_lock import FileWorkerLock

A = "150600"


def test_a_second_file_lock_waits_until_the_first_is_released(tmp_path: Path) -> None:
    async def scenario() -> list[bool]:
        path = tmp_path / f"{A}.sqlite.lock"
        first, second = FileWorkerLock(path, poll_seconds=0.02), FileWorkerLock(
            path, poll_seconds=0.02)
        never, waiting = asyncio.Event(), asyncio.Event()
        got_first = await first.acquire(never)
        asyncio.get_running_loop().call_later(0.2, waiting.set)
        got_second_while_held = await second.acquire(waiting)  # gives up when told to stop
        await first.release()
        got_second_after = await asyncio.wait_for(second.acquire(never), 2.0)
        await second.release()
        return [got_first, got_second_while_held, got_second_after]

    assert asyncio.run(scenario()) == [True, False, True]


def test_a_deleted_lock_file_counts_as_a_lost_lock(tmp_path: Path) -> None:
    async def scenario() -> bool:
        lock = FileWorkerLock(tmp_path / "r.lock", poll_seconds=0.02)
        never = asyncio.Event()
        await lock.acquire(never)
        (tmp_path / "r.lock").unlink()  # someone else could now lock a new file
        await asyncio.wait_for(lock.watch(never), 2.0)
        held = lock.held
        await lock.release()
        return held

    assert asyncio.run(scenario()) is False
