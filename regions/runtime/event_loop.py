"""Which event loop a process that runs nodes uses: `TONGBAN_EVENT_LOOP=asyncio|uvloop`.

Why: at burst the asyncio event loop itself (selector, callbacks, transports) was ~21 % of the
two nodes' CPU (py-spy `--gil`, `tongban bench --quick`); uvloop runs the same callbacks, sockets
and futures on libuv in C for less (docs/performance.md, UVLOOP). Its default is uvloop when it
is importable, the standard loop otherwise; `asyncio` keeps the standard loop, so a test, a
platform without uvloop's wheels or an operator in doubt can run on it. Used by each entry point
that runs a node or a back-end for long (`tongban node`, the bench's nodes, `tongban backend`);
the one-shot commands (`nats provision`, `quarantine replay`) keep `asyncio.run`, having nothing
to gain. A value it does not know stops the process at start with the variable's name, never a
silent fallback. Not in the simulator: its scheduler is
no event loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Final, TypeVar

#: The environment variable that picks the loop.
VARIABLE: Final = "TONGBAN_EVENT_LOOP"
#: The loops it may name.
CHOICES: Final = ("asyncio", "uvloop")

T = TypeVar("T")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


class EventLoopError(ValueError):
    """The setting names no loop this process can run."""


def _uvloop_factory() -> LoopFactory | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def chosen(environ: Mapping[str, str] | None = None) -> str:
    """The loop the setting picks: its value, or uvloop when importable and asyncio if not."""
    value = (os.environ if environ is None else environ).get(VARIABLE, "").strip().lower()
    if not value:
        return "uvloop" if _uvloop_factory() is not None else "asyncio"
    if value not in CHOICES:
        raise EventLoopError(f"{VARIABLE}={value!r}: must be one of {', '.join(CHOICES)}")
    if value == "uvloop" and _uvloop_factory() is None:
        raise EventLoopError(f"{VARIABLE}=uvloop but uvloop is not installed "
                             "(pip install uvloop, or set it to asyncio)")
    return value


def factory(environ: Mapping[str, str] | None = None) -> LoopFactory | None:
    """The loop factory for `asyncio.Runner` (None: the standard loop)."""
    return _uvloop_factory() if chosen(environ) == "uvloop" else None


def run(main: Coroutine[Any, Any, T], environ: Mapping[str, str] | None = None) -> T:
    """`asyncio.run(main)` on the loop the setting picks (raises EventLoopError first)."""
    try:
        loop_factory = factory(environ)
    except EventLoopError:
        main.close()  # never awaited: no "coroutine was never awaited" warning on top
        raise
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main)
