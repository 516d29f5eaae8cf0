"""A region restored from a backup of its store, while its peers kept theirs (the disaster-
recovery gap; the procedure and the safety net: `regions.core.link_restore`).

What happens: the backup holds the links' outbound positions as of the backup, so the restored
node numbers its next messages from there again — `link_seq`s its peers already recorded for the
messages sent after the backup. A peer's inbox takes `link_seq <= recorded` for a redelivery: it
acknowledges and drops them (`duplicates`), and the new cases never reach it, silently. (Over
NATS the dedup key, `<event id>:<dest>`, reuses the lost events' ids too.) The events the lost
messages carried are gone from the restored node but stay applied at the peer.

What closes it: the restore procedure (`tongban links restored`) takes each peer's recorded
position and steps the restored links over the numbers between (`OutLink.Lost`), so the node
numbers on from there; the peer lists what it recorded in that range (the events the restored
node no longer has) for the operator's reconciliation. A restore nobody declared is not silent
either: the peer quarantines a "duplicate" whose number it recorded for another event.
(Why not a link epoch in the envelope: docs/operations.md.)
"""

from __future__ import annotations

import datetime as dt

from regions.adapters.stores.memory import MemoryRecorder, MemoryStore
from regions.core import link_restore
from regions.core.messages import HighWaterMark
from tests.hostile.test_hostile_inbox import HOME, T0, TARGET, incoming, make, parked, ping, sent
from tests.hostile.test_hostile_inbox import side_status as status


def restore(store: MemoryStore, region: str, rows: int) -> None:
    """`region`'s store as a backup taken when it held its first `rows` rows."""
    kept = store._recorders[region]
    assert isinstance(kept, MemoryRecorder)
    restored = MemoryRecorder()
    restored._insert_events(kept._stored_events[:rows])
    store._recorders[region] = restored
    store.folds.clear()


def backed_up_then_lost(store: MemoryStore) -> tuple[object, str, str, int, str]:
    """Home sends a case, is backed up, sends another (the peer applies both), and is restored
    from the backup: (target, the case before, the lost case, the backup's rows, its event id)."""
    home, target = make(HOME, (TARGET,), store), make(TARGET, (HOME,), store)
    before = ping(home)
    assert target.inbox.handle([incoming(m, "1") for m in sent(home)], T0).applied == 1
    recorder = store._recorders[HOME]
    assert isinstance(recorder, MemoryRecorder)
    backup = len(recorder._stored_events)
    lost = ping(home)  # after the backup: lost with the store, kept by the peer
    lost_messages = sent(home)
    assert target.inbox.handle([incoming(m, "2") for m in lost_messages], T0).applied == 1
    restore(store, HOME, backup)
    return target, before, lost, backup, lost_messages[0].event_id


def test_a_case_opened_after_a_restore_from_backup_reaches_the_peer() -> None:
    store = MemoryStore()
    target, before, lost, _, lost_event = backed_up_then_lost(store)

    # the procedure, before the restored node starts: the peer's recorded position, renumbered
    recorded = link_restore.recorded_positions(target.node.app, TARGET, [HOME])
    assert recorded == {HOME: 2}
    done = link_restore.renumber(store.open(HOME), HOME, {TARGET: recorded[HOME]}, T0)
    assert [(r.destination, r.held, r.recorded, list(r.lost)) for r in done] == \
        [(TARGET, 1, 2, [2])]
    report = link_restore.received_after(target.node.app, TARGET, HOME, after=done[0].held)
    assert [(r.link_seq, r.ref) for r in report] == [(2, lost_event)]  # what home no longer has

    home = make(HOME, (TARGET,), store)
    after = ping(home)
    messages = sent(home)
    assert [m.link_seq for m in messages] == [3]
    result = target.inbox.handle([incoming(m, "3") for m in messages], T0)
    assert status(target, before) == status(target, lost) == "ponged"
    assert result.duplicates == 0, result
    assert status(target, after) == "ponged"


def test_renumbering_again_with_the_same_positions_changes_nothing() -> None:
    store = MemoryStore()
    backed_up_then_lost(store)
    app = store.open(HOME)
    first = link_restore.renumber(app, HOME, {TARGET: 2}, T0)
    again = link_restore.renumber(app, HOME, {TARGET: 2}, T0)
    assert list(first[0].lost) == [2] and list(again[0].lost) == []
    assert link_restore.held(app, HOME, TARGET) == 2


def test_the_restored_relay_announces_the_peers_position_and_cannot_resend_what_it_lost() -> None:
    store = MemoryStore()
    backed_up_then_lost(store)
    link_restore.renumber(store.open(HOME), HOME, {TARGET: 2}, T0)
    home = make(HOME, (TARGET,), store)
    batch = home.relay.step(T0)  # reads the Lost record: no message, the mark moves
    assert batch is not None and batch.items == []
    home.relay.advance(batch, T0)
    assert home.relay.high_water_marks() == {TARGET: 2}
    assert [(m.link_seq) for m in home.relay.heartbeat(T0 + dt.timedelta(seconds=5))
            if isinstance(m, HighWaterMark)] == [2]
    assert [m.link_seq for m in home.relay.resend(TARGET, 1, 2)] == [1]
    assert home.relay.stats["lost_asked"] == 1


def test_a_restore_nobody_declared_is_quarantined_at_the_peer_not_dropped_as_duplicates() -> None:
    store = MemoryStore()
    target, _, _, _, lost_event = backed_up_then_lost(store)
    home = make(HOME, (TARGET,), store)  # started on the restored store as it is
    after = ping(home)
    messages = sent(home)
    assert [m.link_seq for m in messages] == [2]  # the number the peer recorded for lost_event
    result = target.inbox.handle([incoming(m, "3") for m in messages], T0)
    assert (result.duplicates, result.quarantined, result.ack) == (0, 1, ["3"])
    assert target.inbox.stats["reused"] == 1
    [entry] = parked(target)
    assert "reused_link_seq" in entry.reason and lost_event in entry.reason, entry.reason
    assert status(target, after) is None  # kept in quarantine for the operator, not applied


def test_a_number_recorded_for_the_same_event_id_of_another_type_is_reused_too() -> None:
    """A case the backup held records, after the restore, an event at the version its lost
    event had: the same event id. Told apart by its type; a true repeat (same id, same type) and
    a position stepped over (quarantined: "skipped") are not judged."""
    store = MemoryStore()
    home, target = make(HOME, (TARGET,), store), make(TARGET, (HOME,), store)
    ping(home)
    [message] = sent(home)
    assert target.inbox.handle([incoming(message, "1")], T0).applied == 1
    app = target.node.app
    assert link_restore.reused(app, TARGET, HOME, 1, message.event_id, message.type) is None
    why = link_restore.reused(app, TARGET, HOME, 1, message.event_id, "Ponged")
    assert why is not None and why.startswith("reused_link_seq") and "(Pinged)" in why
    assert link_restore.reused(app, TARGET, HOME, 1, "another:1", message.type) is not None
    target.node.skip_link_seq(HOME, 2, "quarantined:150600:2", T0)
    assert link_restore.reused(app, TARGET, HOME, 2, "another:2", "Pinged") is None


def catch_up_as_the_driver_does(relay, destination: str, now: dt.datetime) -> int:
    """`NodeDriver.retry_links` for one link whose broker takes everything: the rounds it ran."""
    rounds = 0
    while True:
        start = relay.behind().get(destination)
        items = relay.catch_up(destination, now)
        if start is None or not items:
            return rounds
        rounds += 1
        sent_seqs = [i.link_seq for i in items if not isinstance(i, HighWaterMark)]
        relay.caught_up(destination, max(sent_seqs, default=start - 1))
        if not sent_seqs:
            return rounds


def test_a_link_behind_before_the_stepped_over_numbers_catches_up_without_asking_for_them(
        ) -> None:
    store = MemoryStore()
    backed_up_then_lost(store)
    link_restore.renumber(store.open(HOME), HOME, {TARGET: 2}, T0)
    home = make(HOME, (TARGET,), store)
    batch = home.relay.step(T0)  # the Lost record: the mark moves to 2
    assert batch is not None
    home.relay.advance(batch, T0)
    home.relay.fell_behind(TARGET, 1)  # publishing to the peer failed from #1 on (an outage)
    catch_up_as_the_driver_does(home.relay, TARGET, T0)
    catch_up_as_the_driver_does(home.relay, TARGET, T0)  # the next heartbeat's retry
    assert home.relay.behind() == {}
    assert home.relay.stats["lost_asked"] == 0  # nobody asked: the relay caught itself up
