"""The contract's `LinkEventBatch` says what a receiver accepts, and the receiver accepts it.

A team building against `asyncapi.yaml` alone (a peer in another language, a tap that checks
what crosses the links) takes the document's bounds as the rule. The receiver
(`regions.wire.link.members`) reads an array of 1 to `MAX_BATCH` members; tongban's relays send
2 to `MAX_BATCH` (a lone event as a single message: the form every node reads, older ones too).
The document must give the receiver's bounds, and say what a relay sends.
"""

from __future__ import annotations

from typing import Any

import pytest

from regions.core.errors import DecodeError
from regions.core.inbox_state import Packed
from regions.wire import link
from tests.unit.test_asyncapi import committed, payload_errors
from tests.unit.test_link_codec_stored import stored_link_messages


def one_event() -> bytes:
    message = next(iter(stored_link_messages()))
    return link.encode(message).data


def receiver_takes(data: bytes) -> bool:
    try:
        found = link.decode_all(data)
    except DecodeError:
        return False
    return isinstance(found, Packed) and all(
        not isinstance(item, DecodeError) for _, item in found.members)


@pytest.mark.parametrize("count", [0, 1, 2, link.MAX_BATCH, link.MAX_BATCH + 1])
def test_the_contract_accepts_a_batch_of_events_exactly_when_the_receiver_does(count: int) -> None:
    event = one_event()
    data = b"[" + b",".join([event] * count) + b"]"
    contract_takes = payload_errors(committed(), "LinkEventBatch", data) == []
    assert contract_takes == receiver_takes(data) == (1 <= count <= link.MAX_BATCH)


def test_the_contract_says_what_a_relay_sends() -> None:
    batch: dict[str, Any] = committed()["components"]["messages"]["LinkEventBatch"]
    text = " ".join(batch["description"].split())
    assert f"an array of 1 to {link.MAX_BATCH} structured events" in text
    assert f"packs 2 to {link.MAX_BATCH}" in text and "a lone event" in text
