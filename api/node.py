"""A region node as an OS process: store, broker, driver, commit waker, signals.

SIGTERM or SIGINT stops the node cleanly: in-flight batches finish (nothing is acknowledged that
was not committed), the broker connection drains, the store closes.

Only the region's active worker runs the relay, inbox, timer and command endpoint: the process
takes the region's worker lock first (`regions.adapters.worker_lock`) and waits as a standby
while another node holds it. With `--http` the operations server (`api.http`) answers from
start-up, standby included.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import uuid
from collections.abc import Callable

from fastapi import APIRouter

from api.applicant_actions import applicant_actions_router
from api.consultations import consultations_router
from api.http import HttpServer, bind, build_app
from api.rest import rest_router
from api.staff_api import staff_router
from api.supervision_api import supervision_router
from api.web import WebContext, web_router
from domain.catalogue import load_catalogue
from domain.catalogue.materials import load_materials
from domain.kernel import Clock
from regions.adapters.blobs.base import BlobStore
from regions.adapters.blobs.setup import blob_store_for
from regions.adapters.brokers.nats import NatsBroker
from regions.adapters.stores.setup import store_for
from regions.adapters.worker_lock import worker_lock_for
from regions.core.config import RegionConfig
from regions.core.ports import DurableStore, Store
from regions.runtime import collector
from regions.runtime.bootstrap import Region, build_region
from regions.runtime.commands import serve_commands
from regions.runtime.documents import serve_materials
from regions.runtime.driver import NodeDriver
from regions.runtime.notify import notify_applicants
from regions.runtime.status import NodeStatus
from regions.runtime.views import attach_views
from regions.wire.subjects import inbox_prefix

log = logging.getLogger("tongban.node")


def wall_clock() -> Clock:
    import datetime as dt
    return lambda: dt.datetime.now(dt.UTC)


async def run_node(config: RegionConfig, *, ready: Callable[[Region, NodeDriver], None] | None = None,
                   ) -> None:
    if config.broker != "nats":
        raise ValueError("a node process needs --broker nats; the in-memory broker exists only "
                         "inside one process (use `tongban simulate`)")
    config.check_secrets()  # never on the repository's development keys in production
    collector.tune()  # a node's heap: fewer young collections (regions.runtime.collector)
    store = store_for(config)
    blobs = await asyncio.to_thread(blob_store_for, config, store)  # PostgreSQL: set-up here
    lock = worker_lock_for(config.region, store, config.dsn)
    sock = bind(config.http) if config.http else None  # a taken port fails before anything runs
    broker = await NatsBroker.connect(config.nats_url, name=f"tongban-{config.region}",
                                      inbox_prefix=inbox_prefix(config.region))
    status = NodeStatus(config, broker, lock)
    stopping = asyncio.Event()

    def stop() -> None:
        stopping.set()
        if status.driver is not None:
            status.driver.stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop)
    catalogue = load_catalogue()
    materials = load_materials(config.materials, catalogue) if config.materials else None
    site = WebContext(config.region, catalogue, materials, status=status)
    http = HttpServer(build_app(status, *api_routers(site)), sock) \
        if sock is not None else None
    try:
        if http is not None:
            await http.start()
        # One active worker per region: relay, inbox, timer and endpoint only while the lock is
        # held; after a lost lock, back to standby (another node may be active by now).
        while await lock.acquire(stopping):
            if not await _work(config, store, broker, status, stopping, ready, blobs):
                break
    finally:
        await lock.release()
        if http is not None:
            await http.stop()
        await broker.close()
        close = getattr(store, "close", None)
        if close is not None:
            close()
        log.info("node %s stopped", config.region)


def api_routers(site: WebContext) -> tuple[APIRouter, ...]:
    """Every router the node serves beside the operations router: the one list the OpenAPI
    tests read too, so an operation added here is checked there."""
    return (rest_router(site), applicant_actions_router(site), staff_router(site),
            consultations_router(site), supervision_router(site), web_router(site))


async def _work(config: RegionConfig, store: Store, broker: NatsBroker, status: NodeStatus,
                stopping: asyncio.Event, ready: Callable[[Region, NodeDriver], None] | None,
                blobs: BlobStore | None = None) -> bool:
    """Run the region's worker while the lock is held; True when it stopped for a lost lock."""
    region = build_region(config, clock=wall_clock(), ids=uuid.uuid4, broker=broker, store=store)
    driver = NodeDriver(region, broker)
    driver.services.append(serve_commands)  # tb.v1.cmd.<region>: back-ends' commands
    if blobs is not None:  # tb.v1.doc.<region>: counterparts fetch documents
        region.blobs = blobs
        driver.services.append(functools.partial(serve_materials, blobs=blobs))
    waker = None
    if isinstance(store, DurableStore):
        waker = store.waker(config.region, on_commit=driver.wake_tailers)
        await asyncio.to_thread(waker.start)
    notify_applicants(region, driver)
    attached = await asyncio.to_thread(attach_views, region, driver, store)
    status.views, status.views_tailer = attached.views, attached.tailer
    status.activate(driver)
    if stopping.is_set():
        driver.stop()
    log.info("node %s running (store %s, broker %s)", config.region, config.store,
             _redacted(config.nats_url))
    if ready is not None:
        ready(region, driver)
    watch = asyncio.create_task(status.lock.watch(driver.stopped))
    run = asyncio.create_task(driver.run())
    try:
        await asyncio.wait({run, watch}, return_when=asyncio.FIRST_COMPLETED)
        if not status.lock.held:
            driver.stop()  # never two active workers: stop before anyone else may start
        await run
    finally:
        watch.cancel()
        if waker is not None:
            waker.stop()
        attached.close()
        lost = not status.lock.held
        status.retire(lock_lost=lost)
    return lost


def _redacted(url: str) -> str:
    """The URL without its password, for logs (deployments put credentials in it)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
