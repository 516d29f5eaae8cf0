"""A refused message steps a link over its position only when it came on that link's subject.

A message that does not decode but still says where it sits on its link (`DecodeError.position`:
origin, destination, link_seq) is quarantined, and its link steps over that position so it is
never blocked (`regions.core.inbox`). The position is the *envelope's* claim, so it may only
move the link the message arrived on: a genuine peer (大同, 140200) must not be able to send,
under its own subject, a broken envelope claiming 鄂尔多斯's (150600) next position and so make
the target skip 鄂尔多斯's real message at that position as a duplicate — alone or as a member of
a batch (`regions.wire.link.decode_all`).
"""

from __future__ import annotations

import json

import pytest
from test_hostile_inbox import (  # the same module pytest collected (tests/hostile on the path)
    HOME,
    ROGUE,
    T0,
    TARGET,
    incoming,
    nested,
    parked,
    ping,
    raw,
    sent,
    side_status,
    world,
)

from regions.wire import link

__all__ = ["world"]  # the fixture, used by name


def forged(message_bytes: bytes) -> bytes:
    """HOME's genuine envelope with a payload too deep to decode: refused with HOME's position."""
    envelope = json.loads(message_bytes)
    envelope["data"]["home"] = json.loads(nested(40))
    return json.dumps(envelope).encode()


@pytest.mark.parametrize("batched", [False, True], ids=["alone", "batch-member"])
def test_a_peer_cannot_make_another_origins_link_skip_a_message(world, batched: bool) -> None:
    home, target = world[HOME], world[TARGET]
    case = ping(home)
    (genuine,) = sent(home)
    hostile = forged(link.encode(genuine).data)  # claims HOME -> TARGET #1
    if batched:
        hostile = b"[" + hostile + b"," + hostile + b"]"
    result = target.inbox.handle([raw(ROGUE, hostile, "rogue")], T0)
    assert "rogue" in result.ack and parked(target)  # quarantined, acked
    assert target.node.inlink_position(HOME) == 0  # HOME's link did not move
    after = target.inbox.handle([incoming(genuine, "h1")], T0)
    assert after.applied == 1, after
    assert side_status(target, case) == "ponged"
