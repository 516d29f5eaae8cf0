"""Run the applicant notifications (`regions.core.notifications`) as one more tailer of the
node's driver: the log adapter's file per region, its own durable cursor, a crash point on
either side of the send (the fault tests' windows)."""

from __future__ import annotations

import asyncio
from typing import Any

from regions.adapters.notify_log import LogNotifier
from regions.core.notifications import NotificationTailer
from regions.runtime import crashpoints
from regions.runtime.bootstrap import Region
from regions.runtime.driver import NodeDriver, Tail


def notify_applicants(region: Region, driver: NodeDriver) -> LogNotifier:
    config = region.config
    port = LogNotifier(config.notifications_dir / f"{config.region}.jsonl")
    tailer = NotificationTailer(config.region, region.node.app, batch_size=config.relay_batch)

    async def send(notices: list[Any]) -> None:
        if notices:
            await asyncio.to_thread(port.send, notices)

    driver.counters.setdefault("notified", 0)
    driver.tail(Tail("notifications", tailer, send, "notified",
                     crashpoints.BEFORE_NOTIFY, crashpoints.AFTER_NOTIFY_BEFORE_CURSOR))
    return port
