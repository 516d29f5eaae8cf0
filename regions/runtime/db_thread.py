"""The node's one database thread, taking the most urgent work first (issue 17: latency).

Why: every component of a node runs its store work on one thread (the cores are single-writer
and not thread-safe) — the relay and the inbox (the hops between regions), the back-ends'
commands, the feed, the applicant notices, the case views' reads, the timer, the heartbeat.
Taken in arrival order, a relay step woken by a commit waited behind whatever was queued
before it: a group commit of a hundred commands, the feed's, the notices' and the views' reads
of the same commit; every hop between regions paid that twice, at the sender's relay and at
the receiver's inbox.

Here each task carries a slack: submitted at t with slack s, it runs in order of t + s
(earliest deadline first). The hops have none (the relay's short reads less than none),
commands and the feed a little, readers of the log that no case waits on (views, notices,
heartbeats) more. Urgent work overtakes; nothing
starves: a task waits behind work submitted after it for at most its slack.

Results go back to the event loop in batches (`call`, `notify`): an asyncio future per call,
no `concurrent.futures.Future` (a lock and a condition each) chained to it by `wrap_future`, and
one wake-up of the loop (`call_soon_threadsafe`, a write to its self-pipe) for whatever finished
while the loop had not yet taken the last batch — with a commit's wake-up of the tailers in the
same batch. The first result after the loop took the last batch wakes it at once: batching adds
no wait, it only drops wake-ups (~8 % of the loop's busy time, docs/performance.md, LOOP).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, Final

#: A hop between regions: the inbox's batches, the relay's re-sends (s).
URGENT: Final = 0.0
#: The relay's reads of what committed (s): ahead even of an inbox batch queued up to 250 ms
#: before. Why: a relay read takes about a millisecond, an inbox batch tens (at load hundreds),
#: and since the inbox queues its next batch while the last one commits (`inbox_pipeline`), a
#: relay read woken by that commit — the replies to what was just received, hops of their own
#: — would otherwise wait a whole inbox transaction (docs/performance.md, P99's "time moved to
#: `committed->read`", and PACED). Shortest first: the inbox loses a millisecond.
RELAY: Final = -0.25
#: A back-end's or the API's command, the back-end feed, the timer (s). Why 25 ms, not 5: a
#: command batch queued a few ms before an inbox batch went first, and then the inbox waited
#: for its whole transaction — in the paced phases' slowest 1 % of events (the bench's hops,
#: docs/performance.md P99) command batches that started after the inbox's batch was queued
#: were ~55 ms of its ~95 ms wait on a loaded machine. A hop now overtakes a command queued
#: up to 25 ms before it; a command waits at most that long for hops that came after it.
NORMAL: Final = 0.025
#: Readers of the log nothing waits on in real time: views, notices, heartbeats (s) — after
#: commands queued up to 75 ms after them.
BACKGROUND: Final = 0.1


#: Who waits for a task: a `concurrent.futures.Future` (`submit`), or an asyncio future and
#: its loop (`call`).
_Waiter = Future[Any] | tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class DatabaseThread(Executor):
    """One worker thread running submitted calls by deadline (submission time + slack)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: list[tuple[float, int, _Waiter, Callable[..., Any], tuple[Any, ...],
                                dict[str, Any]]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        #: Per loop, what is to run on it when it next takes a batch (`_hand_back`), or None
        #: while no wake-up is on its way to it.
        self._outbox: dict[asyncio.AbstractEventLoop, list[Callable[[], None]]] = {}
        self._outbox_lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """`Executor.submit` (what `loop.run_in_executor` calls): NORMAL slack."""
        return self.submit_within(NORMAL, fn, *args, **kwargs)

    def submit_within(self, slack: float, fn: Callable[..., Any], /, *args: Any,
                      **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._push(slack, future, fn, args, kwargs)
        return future

    def call(self, loop: asyncio.AbstractEventLoop, slack: float, fn: Callable[..., Any],
             /, *args: Any) -> asyncio.Future[Any]:
        """Run `fn(*args)` by its deadline; the future, on `loop`, gets its result with
        whatever else finished since the loop last took a batch (one wake-up for all).
        Cancelled before it starts, the call does not run."""
        future = loop.create_future()
        self._push(slack, (loop, future), fn, args, {})
        return future

    def notify(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        """Thread-safe: run `callback` on `loop` with the next batch of results."""
        self._hand_back(loop, callback)

    def _push(self, slack: float, waiter: _Waiter, fn: Callable[..., Any], args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> None:
        with self._ready:
            if self._closing:
                raise RuntimeError(f"{self._name}: cannot schedule new work after shutdown")
            heapq.heappush(self._queue, (time.monotonic() + slack, next(self._order), waiter,
                                         fn, args, kwargs))
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=f"{self._name}_0",
                                                daemon=True)
                self._thread.start()
            self._ready.notify()

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closing:
                    self._ready.wait()
                if not self._queue:
                    return  # closing and drained
                _, _, waiter, fn, args, kwargs = heapq.heappop(self._queue)
            if isinstance(waiter, Future):
                if not waiter.set_running_or_notify_cancel():
                    continue
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # handed to the awaiting caller, as an executor does
                    waiter.set_exception(exc)
                else:
                    waiter.set_result(result)
            else:
                loop, future = waiter
                if future.cancelled():  # a read across threads, only to skip dead work early
                    continue
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    self._hand_back(loop, _Settle(future, None, exc))
                else:
                    self._hand_back(loop, _Settle(future, result, None))
            del waiter, fn, args, kwargs

    def _hand_back(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        """Queue `callback` for `loop`; wake the loop only if no wake-up is on its way."""
        with self._outbox_lock:
            waiting = self._outbox.get(loop)
            if waiting is not None:
                waiting.append(callback)
                return
            self._outbox[loop] = [callback]
        try:
            loop.call_soon_threadsafe(self._deliver, loop)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            with self._outbox_lock:
                self._outbox.pop(loop, None)

    def _deliver(self, loop: asyncio.AbstractEventLoop) -> None:
        """On `loop`: everything handed back since the last batch, in the order it finished.
        One callback that raises does not keep the rest from their callers: it goes to the
        loop's exception handler, as a callback of its own would have."""
        with self._outbox_lock:
            batch = self._outbox.pop(loop, None) or []
        for callback in batch:
            try:
                callback()
            except Exception as exc:
                loop.call_exception_handler({
                    "message": f"{self._name}: a result's callback failed", "exception": exc})

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Run what was submitted (like `ThreadPoolExecutor`), then end the thread."""
        with self._ready:
            self._closing = True
            if cancel_futures:
                for entry in self._queue:
                    waiter = entry[2]
                    if isinstance(waiter, Future):
                        waiter.cancel()
                    else:
                        self._hand_back(waiter[0], _Settle(waiter[1], None, None, cancel=True))
                self._queue.clear()
            self._ready.notify_all()
            thread = self._thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join()


class _Settle:
    """A call's outcome, set on its future on the loop (unless the caller gave up on it)."""

    __slots__ = ("cancel", "exc", "future", "result")

    def __init__(self, future: asyncio.Future[Any], result: Any,
                 exc: BaseException | None, *, cancel: bool = False) -> None:
        self.future, self.result, self.exc, self.cancel = future, result, exc, cancel

    def __call__(self) -> None:
        if self.future.done():  # cancelled while it ran
            return
        if self.cancel:
            self.future.cancel()
        elif self.exc is None:
            self.future.set_result(self.result)
        elif isinstance(self.exc, StopIteration):  # a future refuses it (as a coroutine does)
            error = RuntimeError("a database call raised StopIteration")
            error.__cause__ = self.exc
            self.future.set_exception(error)
        else:
            self.future.set_exception(self.exc)
