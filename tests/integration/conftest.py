"""Fixtures of the integration tier: real services, started privately (see `tests/services`)."""

from __future__ import annotations

from tests.services.nats_server import nats_server

__all__ = ["nats_server"]
