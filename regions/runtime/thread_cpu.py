"""CPU seconds of this process's threads, by the role each plays in a node: the event loop, the
database thread, the views' writer, and everything else.

Why (issue 17, sixteenth session, NODE): a node's work is split over threads that take the
interpreter lock in turns, and which of them is saturated decides what a lever can win: at the
quick bench's burst the database thread took ~73 % of a node's CPU, the loop ~14 %, the views'
writer ~12 %; at a paced 100 cases/s the loop took a quarter (docs/performance.md, NODE). A
sampling profiler splits it too, but attached to a loaded two-core machine it slows the node
it measures and counts time spent waiting for the lock; the kernel's per-thread counters
(`/proc/self/task/<tid>/stat`, user and system time) cost one read per thread and count only
CPU. Read where and when asked (`by_role`: the node's metrics at scrape time, a bench between
phases); nothing on the hot paths.

Roles go by the threads' names, which this package gives them: `db-<region>_0`
(`regions.runtime.db_thread`), `views-<region>_<n>` (`regions.runtime.views`); the loop is the
main thread, where `tongban node` and the bench's nodes run it. A thread that ended took its
counters with it (the kernel keeps none), so "other" may go down; the three roles live as long as
the node. Off Linux (no `/proc/self/task`) every role reads 0.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Final

#: The roles `by_role` reports, each always present.
ROLES: Final = ("loop", "database", "views", "other")
_TASKS: Final = Path("/proc/self/task")
_TICK: Final = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def role_of(name: str) -> str:
    """The role of a thread called `name` (see the module)."""
    if name.startswith("db-"):
        return "database"
    if name.startswith("views-"):
        return "views"
    return "loop" if name == "MainThread" else "other"


def by_thread() -> dict[int, float]:
    """CPU seconds (user + system) of each live thread of this process, by native id."""
    found: dict[int, float] = {}
    try:
        tasks = list(_TASKS.iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended meanwhile
        found[int(task.name)] = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    return found


def by_role() -> dict[str, float]:
    """CPU seconds of this process's live threads, summed by role (`ROLES`)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    roles = dict.fromkeys(ROLES, 0.0)
    for native_id, seconds in by_thread().items():
        roles[role_of(names.get(native_id, ""))] += seconds
    return roles
