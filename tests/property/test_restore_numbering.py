"""Property: a region restored from any backup, declared with the peer's recorded position
(`regions.core.link_restore.renumber`), never reuses a `link_seq` the peer recorded — every case
opened after the restore reaches the peer, none is dropped as a duplicate — and the peer's list
of what it recorded past the backup is exactly the cases sent after it. Without the declaration,
no new case is dropped silently either: each is applied (a number the peer never saw) or
quarantined as a reused number, never counted a duplicate.

Two in-memory regions of the toy protocol (`tests/hostile/test_hostile_inbox`): home sends
`before` cases, is backed up after any number of them, sends the rest, the peer applies what
arrived (all of it, or only a prefix: a peer behind), and home is restored and sends `after`.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regions.adapters.stores.memory import MemoryRecorder, MemoryStore
from regions.core import link_restore
from regions.core.messages import LinkMessage
from tests.hostile.test_hostile_inbox import HOME, T0, TARGET, incoming, make, ping, sent
from tests.hostile.test_hostile_inbox import side_status as status
from tests.unit.test_restore_gap import restore


@st.composite
def histories(draw: st.DrawFn) -> tuple[int, int, int, int, bool]:
    """(cases sent, of which before the backup, of which the peer applied, cases after the
    restore, whether the restore is declared)."""
    sent_ = draw(st.integers(1, 6))
    backup = draw(st.integers(0, sent_))
    applied = draw(st.integers(0, sent_))
    return sent_, backup, applied, draw(st.integers(1, 4)), draw(st.booleans())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_a_restored_region_never_reuses_a_number_its_peer_recorded(
        history: tuple[int, int, int, int, bool]) -> None:
    count, backup, applied, after_count, declared = history
    store = MemoryStore()
    home, target = make(HOME, (TARGET,), store), make(TARGET, (HOME,), store)
    recorder = store._recorders[HOME]
    assert isinstance(recorder, MemoryRecorder)
    rows, cases, messages = 0, [], []
    for index in range(count):
        if index == backup:
            rows = len(recorder._stored_events)
        cases.append(ping(home))
        messages.extend(sent(home))
    if backup == count:
        rows = len(recorder._stored_events)
    target.inbox.handle([incoming(m, f"old{n}") for n, m in enumerate(messages[:applied])], T0)
    restore(store, HOME, rows)

    recorded = link_restore.recorded_positions(target.node.app, TARGET, [HOME])[HOME]
    assert recorded == applied
    if declared:
        [done] = link_restore.renumber(store.open(HOME), HOME, {TARGET: recorded}, T0)
        report = link_restore.received_after(target.node.app, TARGET, HOME, done.held)
        assert [r.ref for r in report] == [m.event_id for m in messages[backup:applied]]
    home = make(HOME, (TARGET,), store)
    new = [ping(home) for _ in range(after_count)]
    fresh = sent(home)  # the relay may also send again what its backed-up cursor had not passed
    numbers = [m.link_seq for m in fresh if m.case_id in new]
    result = target.inbox.handle([incoming(m, f"new{n}") for n, m in enumerate(fresh)], T0)
    later = T0
    for round_ in range(3):  # a peer behind the backup asks for the gap; the store re-sends it
        later += dt.timedelta(seconds=11)
        asked = target.inbox.check_gaps(later)
        resent = [m for r in asked for m in home.relay.resend(TARGET, r.from_seq, r.to_seq)
                  if isinstance(m, LinkMessage)]
        target.inbox.handle([incoming(m, f"re{round_}.{n}") for n, m in enumerate(resent)],
                            later)

    reached = [case for case in new if status(target, case) == "ponged"]
    if declared or applied <= backup:
        assert min(numbers) > recorded  # never a number the peer recorded
        assert reached == new  # numbered on after the peer: every new case reaches it
    else:
        assert result.quarantined + result.applied >= len(new)  # none dropped silently
        assert result.quarantined == target.inbox.stats["reused"] > 0
        assert set(reached) | {case for case in new if status(target, case) is None} == set(new)
