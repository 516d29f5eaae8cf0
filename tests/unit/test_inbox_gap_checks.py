"""Gap checks answer at once while no link changed since one found every link whole
(`Inbox.check_gaps`): the same requests, and the same link state, as looking at every link."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest

from regions.adapters.stores.memory import MemoryStore
from regions.core.inbox_state import gap_requests
from regions.core.messages import HighWaterMark
from tests.unit.test_node_core import T0, A, B, deliver, make, messages, outgoing, ping


def test_a_link_that_falls_behind_after_a_whole_check_is_still_asked_for() -> None:
    store = MemoryStore()
    a, b = make(A, B, store), make(B, A, store)
    ping(a, 1)
    deliver(b, outgoing(a))
    assert b.inbox.check_gaps(T0) == [] and b.inbox.check_gaps(T0) == []  # whole, twice
    ping(a, 2)
    outgoing(a)  # lost on the way
    deliver(b, [HighWaterMark(A, B, 2, T0 + dt.timedelta(seconds=1))])
    assert b.inbox.check_gaps(T0 + dt.timedelta(seconds=2)) == []  # not before the bound
    requests = b.inbox.check_gaps(T0 + dt.timedelta(seconds=13))
    assert [(r.from_seq, r.to_seq) for r in requests] == [(2, 2)]


@pytest.mark.parametrize("seed", range(6))
def test_every_gap_check_answers_what_looking_at_every_link_answers(seed: int) -> None:
    """Losses, reordering, repeats, marks and crashes in any order: at each check, the inbox's
    requests and links are what `gap_requests` over a copy of the links gives."""
    rng = random.Random(seed)
    store = MemoryStore()
    a, b = make(A, B, store), make(B, A, store)
    now, sent, checks = T0, [], 0
    for _ in range(60):
        now += dt.timedelta(seconds=rng.choice([0, 1, 4, 11]))
        step = rng.random()
        if step < 0.3:
            ping(a, rng.randint(1, 9))
            sent += messages(outgoing(a, now))
        elif step < 0.55 and sent:
            deliver(b, rng.sample(sent, min(len(sent), rng.randint(1, 3))), now)
        elif step < 0.7:
            deliver(b, a.relay.heartbeat(now) or [HighWaterMark(A, B, len(sent), now)], now)
        elif step < 0.75:
            b.inbox.forget()
        else:
            links = {o: dataclasses.replace(lk, held=dict(lk.held), poisoned=dict(lk.poisoned))
                     for o, lk in b.inbox.links.items()}
            expected = gap_requests(links, B, b.inbox.gap_bound, now)
            assert b.inbox.check_gaps(now) == expected
            assert b.inbox.links == links
            checks += 1
            for request in expected:
                deliver(b, a.relay.resend(B, request.from_seq, request.to_seq), now)
    assert checks > 5
