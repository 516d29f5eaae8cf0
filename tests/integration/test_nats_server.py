"""The private test server: pinned version, durable settings, own process group, crash/restart."""

from __future__ import annotations

import asyncio
import os
import socket
import sysconfig
from pathlib import Path

import nats
import pytest

from regions.adapters.brokers.nats_server import (
    PINNED_VERSION,
    NatsServer,
    NatsServerError,
    NatsServerNotFound,
    binary_version,
    find_binary,
    free_port,
)
from tests.services.nats_server import pinned_binary


def test_server_is_the_pinned_version_and_fsyncs_every_write(nats_server: NatsServer) -> None:
    assert nats_server.binary is not None
    assert binary_version(nats_server.binary) == PINNED_VERSION
    config = nats_server.jsz()["config"]
    assert isinstance(config, dict)
    assert config["sync_always"] is True
    assert str(config["store_dir"]).startswith(str(nats_server.store_dir))
    assert "persist_mode" not in nats_server.config_path.read_text()


def test_server_runs_in_its_own_process_group_with_output_in_its_log(
    nats_server: NatsServer,
) -> None:
    assert nats_server.pid is not None
    assert os.getpgid(nats_server.pid) == nats_server.pid != os.getpgid(0)
    assert "Server is ready" in nats_server.log_path.read_text()


def test_restart_after_sigkill_keeps_url_and_store(tmp_path: Path) -> None:
    async def create_stream(url: str) -> None:
        nc = await nats.connect(url)
        await nc.jetstream().add_stream(name="KEEP", subjects=["keep.>"])
        await nc.jetstream().publish("keep.a", b"1")
        await nc.close()

    async def count_messages(url: str) -> int:
        nc = await nats.connect(url)
        count = (await nc.jetstream().stream_info("KEEP")).state.messages
        await nc.close()
        return count

    with NatsServer(workdir=tmp_path, binary=pinned_binary()) as server:
        url, first_pid = server.url, server.pid
        asyncio.run(create_stream(url))
        server.kill()
        assert not server.running and not server.healthz()
        server.restart()
        assert (server.url, server.running) == (url, True) and server.pid != first_pid
        assert asyncio.run(count_messages(url)) == 1


def test_stop_ends_the_process_and_removes_a_temporary_workdir() -> None:
    server = NatsServer(binary=pinned_binary()).start()
    workdir, process = server.workdir, server.process
    assert workdir is not None and workdir.exists() and process is not None
    server.stop()
    assert process.poll() is not None and not workdir.exists()
    server.stop()  # twice is fine


def test_a_failed_start_says_why(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = NatsServer(workdir=tmp_path, binary=pinned_binary(),
                            port=taken.getsockname()[1], monitor_port=free_port())
        with pytest.raises(NatsServerError, match="address already in use"):
            server.start(timeout=5.0)
    assert not server.running


def test_a_binary_of_another_version_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = tmp_path / "nats-server"
    fake.write_text("#!/bin/sh\necho 'nats-server: v2.9.10'\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sysconfig, "get_path", lambda name: str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NatsServerNotFound, match=r"passed over .*version 2\.9\.10"):
        find_binary()
    assert find_binary("2.9.10") == fake
