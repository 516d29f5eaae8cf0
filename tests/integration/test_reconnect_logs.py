"""A lost nats-server is one log line per reconnect attempt, with a traceback only at DEBUG.

Issue 18 ("Operations"): every reconnect attempt of a back-end's client logged a full traceback
(74 in one run) — nats-py's default error callback. Every tongban connection — the node's
broker, its endpoints, the SDK's command client — now logs through
`regions.adapters.brokers.nats_connect.ConnectionLog`.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from regions.adapters.brokers.nats import NatsBroker
from regions.adapters.brokers.nats_server import NatsServer
from regions.sdk.client import RegionClient
from tests.services.nats_server import pinned_binary

pytestmark = pytest.mark.timeout(60)


async def outage(server: NatsServer) -> None:
    """The node's broker and a back-end's client connected; the server gone for a while."""
    broker = await NatsBroker.connect(server.url, name="tongban-150600", reconnect_wait=0.1)
    client = RegionClient(server.url, "150600", "pension", name="tongban-client-pension")
    await client.connect()
    try:
        server.kill()
        await asyncio.sleep(1.5)  # about a dozen reconnect attempts each
    finally:
        await client.close()
        await broker.close()


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG], ids=["info", "debug"])
def test_each_reconnect_attempt_is_one_line_and_its_traceback_only_at_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, level: int,
) -> None:
    server = NatsServer(workdir=tmp_path / "nats", binary=pinned_binary())
    server.start()
    try:
        with caplog.at_level(level):
            asyncio.run(outage(server))
    finally:
        server.stop()
    attempts = {name: [r for r in caplog.records if r.levelno == logging.WARNING
                       and r.getMessage().startswith(f"NATS {name}: ConnectionRefusedError")]
                for name in ("tongban-150600", "tongban-client-pension")}
    assert all(len(lines) >= 3 for lines in attempts.values()), caplog.text
    assert all("\n" not in r.getMessage() and r.exc_info is None
               for lines in attempts.values() for r in lines)
    with_traceback = [r for r in caplog.records if r.exc_info is not None]
    assert all(r.levelno == logging.DEBUG for r in with_traceback), caplog.text
    assert (len(with_traceback) > 0) == (level == logging.DEBUG)
