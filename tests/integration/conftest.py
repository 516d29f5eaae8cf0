"""Fixtures of the integration tier: real services, started privately (see `tests/services`)."""

from __future__ import annotations

from tests.services.nats_server import nats_server
from tests.services.pg_fixtures import postgres_dsn, postgres_service, postgres_store

__all__ = ["nats_server", "postgres_dsn", "postgres_service", "postgres_store"]
