"""`regions.runtime.thread_cpu`: a node's CPU by thread role, from the kernel's counters."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from regions.runtime.thread_cpu import ROLES, by_role, role_of

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/task")


def test_the_node_s_threads_are_known_by_the_names_this_package_gives_them() -> None:
    assert role_of("db-150600_0") == "database"
    assert role_of("views-150600_0") == "views"
    assert role_of("MainThread") == "loop"
    assert role_of("asyncio_0") == role_of("") == "other"


@linux
def test_a_busy_database_thread_s_cpu_is_counted_as_the_database_s_and_only_there() -> None:
    before = by_role()
    spun, read = threading.Event(), threading.Event()

    def spin() -> None:
        end = time.thread_time() + 0.3
        while time.thread_time() < end:
            pass
        spun.set()
        read.wait(5)  # alive while read: the kernel forgets an ended thread's counters

    worker = threading.Thread(target=spin, name="db-999999_0", daemon=True)
    worker.start()
    spun.wait(10)
    during = by_role()
    read.set()
    worker.join(5)
    assert set(during) == set(ROLES)
    assert during["database"] - before["database"] >= 0.2  # 0.3 s spun, in clock ticks
    assert during["views"] == before["views"]
