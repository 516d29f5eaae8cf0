"""Run the applicant notifications (`regions.core.notifications`) as one more tailer of the
node's driver: the log adapter's file per region, its own durable cursor, a crash point on
either side of the send (the fault tests' windows).

The crash points are passed only by batches that hold a notice: most of the log is not for the
applicant, and a point reached by every batch could not be aimed at the send of one notice
(`tests/integration/test_notification_crash.py` kills a node at the first such send).
"""

from __future__ import annotations

import asyncio
from typing import Any

from regions.adapters.notify_log import LogNotifier
from regions.core.notifications import NotificationTailer
from regions.runtime import crashpoints
from regions.runtime.bootstrap import Region
from regions.runtime.db_thread import BACKGROUND
from regions.runtime.driver import NodeDriver, Tail


def notify_applicants(region: Region, driver: NodeDriver) -> LogNotifier:
    config = region.config
    port = LogNotifier(config.notifications_dir / f"{config.region}.jsonl")
    tailer = NotificationTailer(config.region, region.node.app, batch_size=config.relay_batch)

    async def send(notices: list[Any]) -> None:
        if notices:
            crashpoints.reached(crashpoints.BEFORE_NOTIFY)
            await asyncio.to_thread(port.send, notices)
            crashpoints.reached(crashpoints.AFTER_NOTIFY_BEFORE_CURSOR)

    driver.counters.setdefault("notified", 0)
    driver.tail(Tail("notifications", tailer, send, "notified", slack=BACKGROUND))
    return port
