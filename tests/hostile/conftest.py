"""Fixtures of the hostile tier: the private nats-server of the integration tier, reused."""

from __future__ import annotations

from tests.services.nats_server import nats_server

__all__ = ["nats_server"]
