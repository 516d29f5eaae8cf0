"""Fixtures of the integration tier: real services, started privately (see `tests/services`),
and the contract watch: every message a node sends is checked against asyncapi.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from nats.aio.client import Client

from tests.integration.contract_watch import ContractWatch
from tests.services.nats_server import nats_server
from tests.services.pg_fixtures import postgres_dsn, postgres_service, postgres_store

__all__ = ["contract_watch", "nats_server", "postgres_dsn", "postgres_service",
           "postgres_store"]


@pytest.fixture(autouse=True)
def contract_watch(monkeypatch: pytest.MonkeyPatch) -> Iterator[ContractWatch]:
    """Fails the test when a node sent a message asyncapi.yaml does not describe (issue 18)."""
    watch = ContractWatch()
    publish = Client.publish

    async def watched(self: Client, subject: str, payload: bytes = b"", reply: str = "",
                      headers: dict[str, str] | None = None) -> Any:
        watch.sent(str(self.options.get("name") or ""), subject, payload, headers)
        return await publish(self, subject, payload, reply, headers)

    monkeypatch.setattr(Client, "publish", watched)
    yield watch
    assert watch.violations == [], "\n".join(watch.violations[:10])
