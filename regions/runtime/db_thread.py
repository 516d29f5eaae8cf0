"""The node's one database thread, taking the most urgent work first (issue 17: latency).

Why: every component of a node runs its store work on one thread (the cores are single-writer
and not thread-safe) — the relay and the inbox (the hops between regions), the back-ends'
commands, the feed, the applicant notices, the case views' reads, the timer, the heartbeat.
Taken in arrival order, a relay step woken by a commit waited behind whatever was queued
before it: a group commit of a hundred commands, the feed's, the notices' and the views' reads
of the same commit; every hop between regions paid that twice, at the sender's relay and at
the receiver's inbox.

Here each task carries a slack: submitted at t with slack s, it runs in order of t + s
(earliest deadline first). The hops have none, commands and the feed a little, readers of the
log that no case waits on (views, notices, heartbeats) more. Urgent work overtakes; nothing
starves: a task waits behind work submitted after it for at most its slack.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, Final

#: A hop between regions: the relay's batches, the inbox's (s).
URGENT: Final = 0.0
#: A back-end's or the API's command, the back-end feed, the timer (s).
NORMAL: Final = 0.005
#: Readers of the log nothing waits on in real time: views, notices, heartbeats (s).
BACKGROUND: Final = 0.05


class DatabaseThread(Executor):
    """One worker thread running submitted calls by deadline (submission time + slack)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: list[tuple[float, int, Future[Any], Callable[..., Any], tuple[Any, ...],
                                dict[str, Any]]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """`Executor.submit` (what `loop.run_in_executor` calls): NORMAL slack."""
        return self.submit_within(NORMAL, fn, *args, **kwargs)

    def submit_within(self, slack: float, fn: Callable[..., Any], /, *args: Any,
                      **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._ready:
            if self._closing:
                raise RuntimeError(f"{self._name}: cannot schedule new work after shutdown")
            heapq.heappush(self._queue, (time.monotonic() + slack, next(self._order), future,
                                         fn, args, kwargs))
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=f"{self._name}_0",
                                                daemon=True)
                self._thread.start()
            self._ready.notify()
        return future

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closing:
                    self._ready.wait()
                if not self._queue:
                    return  # closing and drained
                _, _, future, fn, args, kwargs = heapq.heappop(self._queue)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the awaiting caller, as an executor does
                future.set_exception(exc)
            else:
                future.set_result(result)
            del future, fn, args, kwargs

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Run what was submitted (like `ThreadPoolExecutor`), then end the thread."""
        with self._ready:
            self._closing = True
            if cancel_futures:
                for entry in self._queue:
                    entry[2].cancel()
                self._queue.clear()
            self._ready.notify_all()
            thread = self._thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join()
