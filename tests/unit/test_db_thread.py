"""The node's database thread takes the hops between regions first, and starves nothing: each
task runs by its deadline (submission time + slack), so work waits behind later work only for
its own slack (regions.runtime.db_thread, issue 17)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from regions.runtime.db_thread import BACKGROUND, NORMAL, URGENT, DatabaseThread


def blocked(thread: DatabaseThread) -> threading.Event:
    """Occupy the thread until the returned event is set, so later work queues up."""
    release, started = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(5)

    thread.submit_within(URGENT, hold)
    assert started.wait(5)
    return release


def test_a_hop_between_regions_overtakes_commands_and_readers_queued_before_it() -> None:
    thread = DatabaseThread("db-test")
    ran: list[str] = []
    release = blocked(thread)
    done = [thread.submit_within(BACKGROUND, ran.append, "views"),
            thread.submit_within(NORMAL, ran.append, "commands"),
            thread.submit_within(URGENT, ran.append, "relay")]
    release.set()
    for future in done:
        future.result(5)
    assert ran == ["relay", "commands", "views"]
    thread.shutdown()


def test_work_past_its_deadline_runs_before_urgent_work_submitted_after_it() -> None:
    thread = DatabaseThread("db-test")
    ran: list[str] = []
    release = blocked(thread)
    reader = thread.submit_within(BACKGROUND, ran.append, "views")
    time.sleep(BACKGROUND + 0.02)  # its deadline has passed while the thread was busy
    hop = thread.submit_within(URGENT, ran.append, "relay")
    release.set()
    reader.result(5), hop.result(5)
    assert ran == ["views", "relay"]
    thread.shutdown()


def test_a_failure_goes_to_its_caller_and_the_thread_goes_on() -> None:
    thread = DatabaseThread("db-test")

    def fail() -> None:
        raise ConnectionError("database gone")

    with pytest.raises(ConnectionError):
        thread.submit(fail).result(5)
    assert thread.submit(lambda: 42).result(5) == 42
    thread.shutdown()


def test_shutdown_runs_what_was_submitted_then_refuses_more() -> None:
    thread = DatabaseThread("db-test")
    ran: list[int] = []
    release = blocked(thread)
    pending = [thread.submit_within(NORMAL, ran.append, n) for n in range(3)]
    release.set()
    thread.shutdown(wait=True)
    assert ran == [0, 1, 2] and all(f.done() for f in pending)
    with pytest.raises(RuntimeError):
        thread.submit(ran.append, 3)


def test_the_work_runs_on_one_named_thread() -> None:
    thread = DatabaseThread("db-150600")
    names = {thread.submit(lambda: threading.current_thread().name).result(5) for _ in range(5)}
    assert names == {"db-150600_0"}
    thread.shutdown()


def test_results_that_finish_while_the_loop_is_busy_come_back_with_one_wake_up() -> None:
    """`call`'s futures are the loop's own, and whatever finished before the loop took the last
    batch rides on one `call_soon_threadsafe` (a write to the loop's self-pipe), in the order it
    finished — a commit's wake-up of the tailers (`notify`) among them."""

    async def main() -> tuple[list[object], int, list[str]]:
        thread = DatabaseThread("db-test")
        loop = asyncio.get_running_loop()
        wakes = 0
        threadsafe = loop.call_soon_threadsafe

        def counting(callback: Any, *args: Any) -> Any:
            nonlocal wakes
            wakes += 1
            return threadsafe(callback, *args)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        seen: list[str] = []
        try:
            release = blocked(thread)
            futures = [thread.call(loop, NORMAL, lambda n=n: n * n) for n in range(5)]
            thread.submit_within(NORMAL, thread.notify, loop, lambda: seen.append("tailers"))
            last = thread.call(loop, NORMAL, lambda: "last")
            release.set()
            # The loop does not run until every call has finished: one batch.
            thread.submit_within(NORMAL, lambda: None).result(5)
            results = [await f for f in [*futures, last]]
            return results, wakes, seen
        finally:
            del loop.call_soon_threadsafe
            thread.shutdown()

    results, wakes, seen = asyncio.run(main())
    assert results == [0, 1, 4, 9, 16, "last"]
    assert wakes == 1 and seen == ["tailers"]


def test_a_call_given_up_before_it_starts_does_not_run_and_a_failure_reaches_its_caller() -> None:
    async def main() -> tuple[list[str], str]:
        thread = DatabaseThread("db-test")
        loop = asyncio.get_running_loop()
        ran: list[str] = []

        def fail() -> None:
            raise ConnectionError("database gone")

        try:
            release = blocked(thread)
            abandoned = thread.call(loop, NORMAL, ran.append, "abandoned")
            failing = thread.call(loop, NORMAL, fail)
            kept = thread.call(loop, NORMAL, ran.append, "kept")
            abandoned.cancel()
            release.set()
            with pytest.raises(ConnectionError) as raised:
                await failing
            await kept
            return ran, str(raised.value)
        finally:
            thread.shutdown()

    ran, error = asyncio.run(main())
    assert ran == ["kept"] and error == "database gone"


def test_a_call_raising_stop_iteration_fails_alone_and_the_rest_of_its_batch_comes_back() -> None:
    """Results come back in batches (`DatabaseThread.call`): one result that cannot be set
    must not keep the others from their callers. `StopIteration` is the one exception an
    asyncio future refuses (`set_exception` raises TypeError), so its caller gets it as a
    RuntimeError, as a coroutine's caller does."""

    def stop() -> None:
        raise StopIteration

    async def main() -> tuple[asyncio.Future[Any], asyncio.Future[Any], list[str]]:
        thread = DatabaseThread("db-test")
        loop = asyncio.get_running_loop()
        seen: list[str] = []
        try:
            release = blocked(thread)
            stopped = thread.call(loop, NORMAL, stop)
            kept = thread.call(loop, NORMAL, lambda: "kept")
            thread.submit_within(NORMAL, thread.notify, loop, lambda: seen.append("tailers"))
            release.set()
            # The loop does not run until every call has finished: one batch.
            thread.submit_within(NORMAL, lambda: None).result(5)
            for _ in range(3):  # the batch's one wake-up runs (no waiting on a hung future)
                await asyncio.sleep(0)
            return stopped, kept, seen
        finally:
            thread.shutdown()

    stopped, kept, seen = asyncio.run(main())
    assert kept.done() and kept.result() == "kept"
    assert seen == ["tailers"]
    error = stopped.exception() if stopped.done() else None
    assert isinstance(error, RuntimeError)
    assert isinstance(error.__cause__, StopIteration)


def test_a_hop_overtakes_a_command_queued_twenty_milliseconds_before_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The inbox's batch must not wait for a whole command transaction queued just before it
    (docs/performance.md, P99); the clock is the test's, so the gap is exactly 20 ms."""
    from types import SimpleNamespace

    from regions.runtime import db_thread

    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr(db_thread, "time", SimpleNamespace(monotonic=lambda: clock.now))
    thread = DatabaseThread("db-test")
    ran: list[str] = []
    release = blocked(thread)
    command = thread.submit_within(NORMAL, ran.append, "commands")
    clock.now = 0.020
    hop = thread.submit_within(URGENT, ran.append, "inbox")
    release.set()
    command.result(5), hop.result(5)
    assert ran == ["inbox", "commands"]
    thread.shutdown()


def test_a_relay_read_overtakes_an_inbox_batch_queued_two_hundred_milliseconds_before_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The inbox queues its next batch while the last one commits; the relay's read woken by
    that commit (a millisecond) must not wait for the batch's whole transaction
    (docs/performance.md, PACED); the clock is the test's."""
    from types import SimpleNamespace

    from regions.runtime import db_thread

    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr(db_thread, "time", SimpleNamespace(monotonic=lambda: clock.now))
    thread = DatabaseThread("db-test")
    ran: list[str] = []
    release = blocked(thread)
    inbox = thread.submit_within(URGENT, ran.append, "inbox")
    clock.now = 0.200
    relay = thread.submit_within(db_thread.RELAY, ran.append, "relay")
    release.set()
    inbox.result(5), relay.result(5)
    assert ran == ["relay", "inbox"]
    thread.shutdown()
