"""How every tongban NATS connection is opened: its identity's reply prefix, and quiet logs.

Why one place: the node's broker, its endpoints, the SDK's clients and the document fetcher all
connect the same way, and two things must hold for each of them:

- **Its own reply prefix.** Under the shipped `nats.conf` a user may subscribe only under its
  own inbox prefix (`regions.wire.subjects.inbox_prefix`: `_INBOX_<region>` for a node,
  `_INBOX_<region>_<backend>` for a back-end). nats-py builds every reply subject — requests,
  JetStream publish acks, pull deliveries, `new_inbox()` — from the connection's
  `inbox_prefix`, so setting it here is all it takes.
- **One log line per event, never a traceback storm.** nats-py reports every failed (re)connect
  attempt to `error_cb`, and its default callback logs each with a full traceback (74 in one
  run of an integrator's test). `ConnectionLog` writes one line per attempt at WARNING, and the
  traceback only at DEBUG.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nats.aio.client import Client as NatsClient

Hook = Callable[[], Awaitable[None]]


class ConnectionLog:
    """nats-py's connection callbacks, logging to `log` under the connection's `name`."""

    def __init__(self, log: logging.Logger, name: str, *, on_disconnected: Hook | None = None,
                 on_reconnected: Hook | None = None) -> None:
        self.log = log
        self.name = name
        self.client: NatsClient | None = None  # set on connect; a closed one is not news
        self._on_disconnected = on_disconnected
        self._on_reconnected = on_reconnected

    async def error(self, exc: Exception) -> None:
        self.log.warning("NATS %s: %s", self.name, brief(exc))
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug("NATS %s: traceback of %s", self.name, type(exc).__name__,
                           exc_info=exc)

    async def disconnected(self) -> None:
        if self.client is None or not self.client.is_closed:
            self.log.warning("NATS %s: disconnected; reconnecting", self.name)
        if self._on_disconnected is not None:
            await self._on_disconnected()

    async def reconnected(self) -> None:
        self.log.info("NATS %s: reconnected", self.name)
        if self._on_reconnected is not None:
            await self._on_reconnected()

    async def closed(self) -> None:
        self.log.debug("NATS %s: connection closed", self.name)


def brief(exc: BaseException) -> str:
    """`Type: message` on one line (nats-py's errors often have an empty message)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def open_connection(
    servers: str | Sequence[str], *, name: str, inbox_prefix: str, log: ConnectionLog,
    **options: Any,
) -> NatsClient:
    """A new connected nats-py client (see `connect_client`)."""
    nc = NatsClient()
    try:
        await connect_client(nc, servers, name=name, inbox_prefix=inbox_prefix, log=log,
                             **options)
    except BaseException:
        with contextlib.suppress(Exception):
            await nc.close()
        raise
    return nc


async def connect_client(
    nc: NatsClient, servers: str | Sequence[str], *, name: str, inbox_prefix: str,
    log: ConnectionLog, allow_reconnect: bool = True, reconnect_wait: float = 0.25,
    connect_timeout: float = 2.0, **options: Any,
) -> None:
    """Connect `nc` with `inbox_prefix` and `log`'s callbacks; it reconnects forever unless
    `allow_reconnect` is False. nats-py's own errors propagate (callers map them)."""
    urls = [servers] if isinstance(servers, str) else list(servers)
    # nats-py annotates these durations as int; it passes them to asyncio, floats work.
    log.client = nc
    durations: dict[str, Any] = {"reconnect_time_wait": reconnect_wait,
                                 "connect_timeout": connect_timeout}
    await nc.connect(
        servers=urls, name=name, inbox_prefix=inbox_prefix, allow_reconnect=allow_reconnect,
        max_reconnect_attempts=-1, error_cb=log.error, disconnected_cb=log.disconnected,
        reconnected_cb=log.reconnected, closed_cb=log.closed, **durations, **options)
