"""The broker port (`port`), its subject grammar (`subjects`), an in-memory JetStream (`memory`).

The NATS JetStream adapter implements the same port and passes the same contract suite
(`tests/contract/broker_contract.py`).
"""

from __future__ import annotations

from regions.broker.port import (
    Broker,
    BrokerAdmin,
    BrokerError,
    ConsumerInfo,
    Delivery,
    NoConsumer,
    NoStream,
    Outgoing,
    PubAck,
    PublishError,
    StreamInfo,
)

__all__ = [
    "Broker", "BrokerAdmin", "BrokerError", "ConsumerInfo", "Delivery", "NoConsumer", "NoStream",
    "Outgoing", "PubAck", "PublishError", "StreamInfo",
]
