"""The test clusters' supervisor restarts a node that died while meant to run, and never one a
test is stopping: a node restarted behind `stop()` holds the region's worker lock while the test
believes it stopped (CI at 26ebee2: `tongban links restored` refused, "a node … holds file lock")."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from regions.adapters.stores.memory import MemoryStore
from tests.integration.processes import NodeProcess, ProcessCluster


class SleeperProcess(NodeProcess):
    """A `NodeProcess` whose incarnations are plain sleepers (exit 0 on SIGTERM, like a node);
    started, stopped and counted as a node is (`NodeProcess.start`), only the argv differs."""

    def _command(self) -> list[str]:
        return [sys.executable, "-c", "import signal, sys, time\n"
                "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\ntime.sleep(60)"]


@asynccontextmanager
async def supervised(tmp_path: Path, restart_delay: float) -> AsyncIterator[SleeperProcess]:
    """A started sleeper under a running supervisor; both gone at the end, whatever started."""
    proc = SleeperProcess("610800", ("610800",), MemoryStore(), "nats://unused", tmp_path)
    cluster = ProcessCluster({"610800": SimpleNamespace(process=proc)}, "nats://unused")
    proc.start()
    supervisor = asyncio.create_task(cluster.supervise(restart_delay=restart_delay))
    try:
        await asyncio.sleep(0.3)  # the sleeper has its SIGTERM handler
        yield proc
    finally:
        supervisor.cancel()
        if proc.process is not None:
            proc.kill()


def test_a_node_being_stopped_is_not_restarted_by_the_supervisor(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    to_thread = asyncio.to_thread

    async def late_to_thread(fn: Any, /, *args: Any) -> Any:
        """`stop()` resumes late after the process exited, as on a loaded machine (CI's)."""
        result = await to_thread(fn, *args)
        await asyncio.sleep(0.2)
        return result

    monkeypatch.setattr(asyncio, "to_thread", late_to_thread)

    async def main() -> None:
        async with supervised(tmp_path, restart_delay=0.0) as proc:
            for _ in range(3):
                before = proc.incarnation
                assert await proc.stop() == 0
                await asyncio.sleep(0.2)  # a tick or four of the supervisor
                assert (proc.incarnation, proc.process) == (before, None), \
                    f"incarnation {proc.incarnation} started behind stop()"
                proc.start()
                await asyncio.sleep(0.3)

    asyncio.run(main())


def test_a_node_that_dies_by_itself_is_restarted(tmp_path: Path) -> None:
    async def main() -> None:
        async with supervised(tmp_path, restart_delay=0.0) as proc:
            assert proc.process is not None
            proc.process.terminate()  # dies on its own: nobody called stop()
            for _ in range(100):
                if proc.incarnation == 2 and proc.running:
                    break
                await asyncio.sleep(0.05)
            assert proc.incarnation == 2 and proc.running and proc.exits == [0]

    asyncio.run(main())


def test_a_node_stopped_during_the_restart_delay_stays_stopped(tmp_path: Path) -> None:
    async def main() -> None:
        async with supervised(tmp_path, restart_delay=0.5) as proc:
            assert proc.process is not None
            proc.process.terminate()  # dies on its own: the supervisor reaps it, then waits
            for _ in range(100):
                if proc.process is None:
                    break
                await asyncio.sleep(0.01)
            assert await proc.stop() == 0  # inside the delay: there is nothing to stop yet
            await asyncio.sleep(1.0)
            assert (proc.incarnation, proc.process) == (1, None), \
                f"incarnation {proc.incarnation} started after stop()"

    asyncio.run(main())
