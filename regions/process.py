"""A region node as an OS process: store, broker, driver, commit waker, signals.

SIGTERM or SIGINT stops the node cleanly: in-flight batches finish (nothing is acknowledged that
was not committed), the broker connection drains, the store closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections.abc import Callable

from domain.kernel import Clock
from regions.backend import serve_commands
from regions.bootstrap import Region, build_region
from regions.broker.nats import NatsBroker
from regions.config import RegionConfig
from regions.driver import NodeDriver
from regions.stores import DurableStore, store_for

log = logging.getLogger("tongban.node")


def wall_clock() -> Clock:
    import datetime as dt
    return lambda: dt.datetime.now(dt.UTC)


async def run_node(config: RegionConfig, *, ready: Callable[[Region, NodeDriver], None] | None = None,
                   ) -> None:
    if config.broker != "nats":
        raise ValueError("a node process needs --broker nats; the in-memory broker exists only "
                         "inside one process (use `tongban simulate`)")
    store = store_for(config)
    broker = await NatsBroker.connect(config.nats_url, name=f"tongban-{config.region}")
    region = build_region(config, clock=wall_clock(), ids=uuid.uuid4, broker=broker, store=store)
    driver = NodeDriver(region, broker)
    driver.services.append(serve_commands)  # tb.v1.cmd.<region>: back-ends' commands
    waker = None
    if isinstance(store, DurableStore):
        waker = store.waker(config.region, on_commit=driver.wake_relay)
        await asyncio.to_thread(waker.start)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, driver.stop)
    log.info("node %s running (store %s, broker %s)", config.region, config.store,
             config.nats_url)
    if ready is not None:
        ready(region, driver)
    try:
        await driver.run()
    finally:
        if waker is not None:
            waker.stop()
        await broker.close()
        close = getattr(store, "close", None)
        if close is not None:
            close()
        log.info("node %s stopped", config.region)
