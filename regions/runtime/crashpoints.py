"""Crash points: named places in the node where a test can make the process die, on purpose.

Why they exist: the windows that matter for exactly-once — committed but not yet published,
published but the cursor not yet moved, committed but not yet acknowledged — last microseconds,
so a SIGKILL sent from outside lands in them only by luck. As FoundationDB's BUGGIFY points do,
the production code names those windows itself, and a test arms one:

    TONGBAN_CRASH_AT=after_commit_before_publish:3

kills the process (SIGKILL to itself: no `finally`, no flush, no clean disconnect — a crash as
the kernel would deliver it) the 3rd time that point is passed. Several points may be armed,
comma-separated. Unset (production), `reached()` is one truth test and nothing else: the points
are inert. A bad value is refused when the driver starts (`arm()`), never guessed at.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping

ENV = "TONGBAN_CRASH_AT"

#: The relay read committed events and is about to publish them.
AFTER_COMMIT_BEFORE_PUBLISH = "after_commit_before_publish"
#: The relay published a batch and is about to move its durable cursor.
AFTER_PUBLISH_BEFORE_CURSOR = "after_publish_before_cursor"
#: The inbox committed a batch's effects and is about to acknowledge its messages.
AFTER_COMMIT_BEFORE_ACK = "after_commit_before_ack"
#: The applicant notifications read committed events and are about to send them.
BEFORE_NOTIFY = "before_notify"
#: The notices were sent and the notifications cursor is about to move.
AFTER_NOTIFY_BEFORE_CURSOR = "after_notify_before_cursor"
POINTS = frozenset({AFTER_COMMIT_BEFORE_PUBLISH, AFTER_PUBLISH_BEFORE_CURSOR,
                    AFTER_COMMIT_BEFORE_ACK, BEFORE_NOTIFY, AFTER_NOTIFY_BEFORE_CURSOR})

_armed: dict[str, int] = {}
_passed: dict[str, int] = {}


def parse(spec: str) -> dict[str, int]:
    """`"point:n,point:n"` -> {point: n}; `ValueError` naming what is wrong."""
    plan: dict[str, int] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, sep, count = part.partition(":")
        if name not in POINTS:
            raise ValueError(f"{ENV}: unknown crash point {name!r}; known: {sorted(POINTS)}")
        if not sep or not count.isdigit() or int(count) < 1:
            raise ValueError(f"{ENV}: {part!r} needs a pass count >= 1, e.g. '{name}:1'")
        plan[name] = int(count)
    return plan


def arm(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """Read the plan from the environment (once per process; the driver calls it at start)."""
    plan = parse((os.environ if environ is None else environ).get(ENV, ""))
    _armed.clear()
    _armed.update(plan)
    _passed.clear()
    return dict(plan)


def reached(point: str) -> None:
    """Pass `point`; if it is armed and this is its n-th pass, die at once."""
    if not _armed or point not in _armed:
        return
    _passed[point] = _passed.get(point, 0) + 1
    if _passed[point] == _armed[point]:
        # One line, written unbuffered, so the test can tell the crash was the planned one.
        os.write(sys.stderr.fileno(),
                 f"CRASH POINT {point} pass {_passed[point]}: SIGKILL\n".encode())
        os.kill(os.getpid(), signal.SIGKILL)
