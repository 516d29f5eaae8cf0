"""The node core's exactly-once rules, on two in-memory regions and a toy protocol."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from domain.kernel import Actor
from domain.protocols import spec_of
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.errors import CommandInProgress, IdempotencyConflict
from regions.core.inbox import Incoming
from regions.core.messages import HighWaterMark, LinkMessage, ResendRequest
from regions.runtime.bootstrap import Region, build_region
from regions.wire import link
from tests.unit import toy_protocol as toy

A, B = "150600", "610800"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
STAFF = Actor("staff", "s1", A, "clerk")


def make(code: str, peer: str, store: MemoryStore) -> Region:
    return build_region(RegionConfig(region=code, peers=(peer,), gap_bound_seconds=10),
                        clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store,
                        protocols={"toy": spec_of("toy", toy)})


@pytest.fixture
def world() -> tuple[Region, Region, MemoryStore]:
    store = MemoryStore()
    return make(A, B, store), make(B, A, store), store


def ping(region: Region, n: int = 1, case: str | None = None) -> str:
    case_id = case or toy.new_case(A)
    outcome = region.node.submit(case_id, toy.number_of(case_id), "toy",
                                 toy.Ping(actor=STAFF, case_id=case_id, n=n, to=B, home=A), T0)
    assert outcome.ok, outcome
    return case_id


def outgoing(region: Region, now: dt.datetime = T0) -> list:
    batch = region.relay.step(now)
    assert batch is not None
    region.relay.advance(batch, now)
    return batch.items


def deliver(region: Region, items: list, now: dt.datetime = T0):
    incoming = []
    for item in items:
        out = link.encode(item)
        incoming.append(Incoming(out.subject, out.data, out.headers, token=item,
                                 subject_origin=out.subject.split(".")[-1]))
    return region.inbox.handle(incoming, now)


def messages(items: list) -> list[LinkMessage]:
    return [i for i in items if isinstance(i, LinkMessage)]


def test_shared_events_get_contiguous_link_sequence_numbers_per_destination(world) -> None:
    a, _, _ = world
    for n in range(1, 4):
        ping(a, n)
    sent = messages(outgoing(a))
    assert [m.link_seq for m in sent] == [1, 2, 3]
    assert {m.destination for m in sent} == {B}


def test_counterpart_event_applied_once_however_often_it_arrives(world) -> None:
    a, b, _ = world
    case = ping(a)
    items = outgoing(a)
    first = deliver(b, items)
    again = deliver(b, items + items)
    assert first.applied == 1 and again.applied == 0 and again.duplicates == 2
    view = b.node.side(case)
    assert view is not None and view.state.status == "ponged"  # receipt, then the pong policy
    assert b.node.inlink_position(A) == 1


def test_an_early_message_is_held_until_the_gap_is_filled(world) -> None:
    a, b, _ = world
    c1, c2 = ping(a, 1), ping(a, 2)
    first, second = messages(outgoing(a))
    held = deliver(b, [second])
    # acknowledged though held: never counted against max_ack_pending (issue 11, finding 4);
    # if we crash, the origin re-sends it (its high-water mark shows the link behind)
    assert held.applied == 0 and held.ack == [second]
    assert b.node.side(c2) is None
    filled = deliver(b, [first])
    assert filled.applied == 2 and filled.ack == [first]  # the held one was acked already
    assert b.node.side(c1) is not None and b.node.side(c2) is not None


def test_a_held_message_forgotten_in_a_crash_is_re_sent_by_its_origin(world) -> None:
    a, b, _ = world
    c1, c2 = ping(a, 1), ping(a, 2)
    _, second = messages(outgoing(a))
    assert deliver(b, [second]).ack == [second]  # held, acked
    b.inbox.forget()  # a crash: what it held is gone, and the broker will not redeliver it
    # the origin repeats its link's high-water mark one beat after the batch announced it
    marks = a.relay.heartbeat(T0 + a.relay.heartbeat_every)
    deliver(b, marks)
    requests = b.inbox.check_gaps(T0 + dt.timedelta(seconds=11))
    assert [(r.from_seq, r.to_seq) for r in requests] == [(1, 2)]
    assert deliver(b, a.relay.resend(B, 1, 2)).applied == 2
    assert b.node.side(c1) is not None and b.node.side(c2) is not None


def test_messages_beyond_the_hold_window_are_acked_dropped_and_re_sent_in_one_request(
        world, monkeypatch) -> None:
    monkeypatch.setattr("regions.core.inbox.HOLD_WINDOW", 2)
    a, b, _ = world
    cases = [ping(a, n) for n in range(1, 6)]
    sent = messages(outgoing(a))
    result = deliver(b, sent[1:])  # #1 lost: #2, #3 held, #4, #5 beyond the window
    assert (result.applied, result.dropped, result.ack) == (0, 2, sent[1:])
    assert sorted(b.inbox.links[A].held) == [2, 3]
    requests = b.inbox.check_gaps(T0 + dt.timedelta(seconds=11))
    assert [(r.from_seq, r.to_seq) for r in requests] == [(1, 5)]  # up to what was dropped
    assert deliver(b, a.relay.resend(B, 1, 5)).applied == 5
    assert all(b.node.side(case) is not None for case in cases) and b.inbox.lag() == {A: 0}


def test_a_lost_last_message_is_seen_through_the_high_water_mark_and_resent(world) -> None:
    a, b, _ = world
    ping(a, 1)
    items = outgoing(a)
    marks = a.relay.heartbeat(T0)  # the batch moved the link's mark: the next beat announces it
    assert [m.link_seq for m in marks] == [1]
    deliver(b, marks)  # the event itself was lost; only the mark arrived
    assert b.inbox.lag() == {A: 1}
    assert b.inbox.check_gaps(T0 + dt.timedelta(seconds=5)) == []  # not before the bound
    requests = b.inbox.check_gaps(T0 + dt.timedelta(seconds=11))
    assert requests == [ResendRequest(origin=A, destination=B, from_seq=1, to_seq=1,
                                      at=T0 + dt.timedelta(seconds=11))]
    resent = a.relay.resend(B, 1, 1)
    assert resent == messages(items)  # the same message, from the origin's store
    assert deliver(b, resent).applied == 1
    assert b.inbox.lag() == {A: 0}


def test_undecodable_and_unknown_sender_messages_go_to_quarantine_with_their_reason(world) -> None:
    _, b, _ = world
    junk = Incoming("tb.v1.evt.610800.150600", b"{not json", {}, token="t1", subject_origin=A)
    result = b.inbox.handle([junk], T0)
    assert result.quarantined == 1 and result.ack == ["t1"]
    a2 = make("152900", B, MemoryStore())
    stranger_case = str(uuid.uuid4())
    ping_stranger = a2.node.submit(stranger_case, "x", "toy", toy.Ping(
        actor=STAFF, case_id=stranger_case, n=1, to=B, home="152900"), T0)
    assert ping_stranger.ok
    stranger = deliver(b, messages(outgoing(a2)))
    assert stranger.quarantined == 1 and stranger.applied == 0
    reasons = sorted(q.reason for q in _quarantined(b))
    assert any("not_json" in r for r in reasons)
    assert any("unknown sender region 152900" in r for r in reasons)


def test_an_authentic_event_the_domain_refuses_is_recorded_as_rejected(world) -> None:
    a, b, _ = world
    case = ping(a, n=-1)
    result = deliver(b, outgoing(a))
    assert result.applied == 1 and result.rejected == 1
    view = b.node.side(case)
    assert view is not None and view.state.status == "needs_attention"
    assert b.node.inlink_position(A) == 1  # the sequence stays whole


def test_a_retried_command_gets_the_stored_outcome_and_a_changed_body_is_refused(world) -> None:
    a, _, _ = world
    case = str(uuid.uuid4())
    command = toy.Ping(actor=STAFF, case_id=case, n=1, to=B, home=A)
    first = a.node.submit(case, "n", "toy", command, T0, command_id="k1", principal="p")
    again = a.node.submit(case, "n", "toy", command, T0, command_id="k1", principal="p")
    assert first.ok and again == first
    assert len(messages(outgoing(a))) == 1  # executed once
    other = toy.Ping(actor=STAFF, case_id=case, n=2, to=B, home=A)
    with pytest.raises(IdempotencyConflict):
        a.node.submit(case, "n", "toy", other, T0, command_id="k1", principal="p")
    refused = a.node.submit(case, "n", "toy", command, T0, command_id="k2", principal="p")
    assert not refused.ok and refused.error_code == "illegal_command"
    assert a.node.submit(case, "n", "toy", command, T0, command_id="k2", principal="p") == refused


def test_a_concurrent_duplicate_command_is_told_it_is_in_progress(world) -> None:
    a, _, _ = world
    case = str(uuid.uuid4())
    command = toy.Ping(actor=STAFF, case_id=case, n=1, to=B, home=A)
    seen = []
    save = a.node.app.save

    def save_after_a_duplicate_arrives(*aggregates):  # a second request while the first saves
        with pytest.raises(CommandInProgress):
            a.node.submit(case, "n", "toy", command, T0, command_id="k", principal="p")
        seen.append(True)
        return save(*aggregates)

    a.node.app.save = save_after_a_duplicate_arrives  # type: ignore[method-assign]
    first = a.node.submit(case, "n", "toy", command, T0, command_id="k", principal="p")
    a.node.app.save = save  # type: ignore[method-assign]
    assert first.ok and seen == [True]
    # ... and afterwards the duplicate gets the first one's outcome.
    assert a.node.submit(case, "n", "toy", command, T0, command_id="k", principal="p") == first


def test_relay_resumes_from_its_durable_cursor_and_a_republish_is_harmless(world) -> None:
    a, b, _ = world
    ping(a, 1)
    batch = a.relay.step(T0)
    assert batch is not None
    deliver(b, batch.items)  # published, then the node crashed before moving its cursor
    a.restart()
    again = a.relay.step(T0)
    assert again is not None and messages(again.items) == messages(batch.items)
    assert deliver(b, again.items).duplicates == 1
    a.relay.advance(again, T0)
    a.restart()
    assert a.relay.step(T0) is None


def test_deadline_is_flagged_by_the_timer_never_early_and_survives_a_restart(world) -> None:
    a, _, _ = world
    case = ping(a)
    assert a.timer.step(T0 + dt.timedelta(hours=23)) == []
    a.restart()
    fired = a.timer.step(T0 + dt.timedelta(days=1))
    assert [o.events for o in fired] == [("DeadlineMissed",)]
    assert a.timer.step(T0 + dt.timedelta(days=1, hours=1)) == []
    escalated = a.timer.step(T0 + dt.timedelta(days=2))
    assert [o.events for o in escalated] == [("Escalated",)]
    assert a.node.side(case).state.status == "pinged"


def _quarantined(region: Region) -> list:
    from eventsourcing.utils import get_topic

    from regions.core.store import Quarantined
    notes = region.node.app.recorder.select_notifications(
        start=None, limit=100, topics=[get_topic(Quarantined.Parked)])
    return [region.node.app.repository.get(n.originator_id) for n in notes]


@pytest.mark.timeout(20)
def test_a_timer_command_the_protocol_refuses_parks_the_case_instead_of_spinning(
        world, monkeypatch) -> None:
    """A protocol whose own timer asks for what it then refuses (the permit mutant of issue 16:
    the timer refuses an expired 准迁证 the decider still calls valid) left the case due at the
    same instant, so `step` fired it again forever and the node hung. The refusal is returned,
    the case parked until it changes, and the next step fires nothing."""
    a, _, _ = world
    case = ping(a)
    monkeypatch.setattr(toy.Toy, "timers", lambda self, state, now: [
        toy.Ping(actor=Actor.system("timer"), case_id=case, n=1, to=B, home=A)])
    fired = a.timer.step(T0 + dt.timedelta(days=1))
    assert [(o.ok, o.error_code) for o in fired] == [(False, "illegal_command")]
    assert a.timer.stalled == {case: T0 + dt.timedelta(days=1)}
    assert a.timer.step(T0 + dt.timedelta(days=3)) == []


def test_a_heartbeat_repeats_an_unchanged_mark_at_a_doubling_interval_and_a_moved_one_at_once(
        world) -> None:
    a, _, _ = world
    ping(a, 1)
    outgoing(a)  # the batch moved mark 1 at T0 (it carries no mark): the next beat announces it
    beat = a.relay.heartbeat_every
    announced = [n for n in range(60_000) if a.relay.heartbeat(T0 + n * beat)]
    # then 1, 2, 4 ... 16384 heartbeats apart, then every MARK_REPEAT_MAX_BEATS (17,280: a day)
    assert announced == [0] + [2 ** k - 1 for k in range(1, 16)] + [32_767 + 17_280]
    ping(a, 2)
    later = T0 + 60_000 * beat
    outgoing(a, later - beat)  # the mark moved: the ladder starts again at the next beat
    marks = a.relay.heartbeat(later)  # announced at once, repeated one beat later, then two
    assert [(m.destination, m.link_seq) for m in marks] == [(B, 2)]
    assert a.relay.heartbeat(later + beat)
    assert not a.relay.heartbeat(later + 2 * beat)
    assert a.relay.heartbeat(later + 3 * beat)
    a.relay.forget()  # a restart announces every mark again at its first heartbeat
    assert [m.link_seq for m in a.relay.heartbeat(later + 3 * beat)] == [2]


def test_a_heartbeat_called_rarely_repeats_a_mark_at_twice_the_time_it_stood_unchanged(
        world) -> None:
    """The ladder counts time, not calls: a repeat waits twice as long as the mark had waited
    since it was last announced. Heartbeats an hour apart (the simulator's sparse steps after
    its workload) repeated every quiet mark at each of ~15 calls, one rung per call."""
    a, _, _ = world
    ping(a, 1)
    outgoing(a)  # the batch moved mark 1 at T0
    assert [m.link_seq for m in a.relay.heartbeat(T0)] == [1]  # announced at the next beat
    hour = dt.timedelta(hours=1)
    assert [m.link_seq for m in a.relay.heartbeat(T0 + hour)] == [1]  # waited an hour
    assert a.relay.heartbeat(T0 + 2 * hour) == []  # next after two hours
    assert [m.link_seq for m in a.relay.heartbeat(T0 + 3 * hour)] == [1]
    assert a.relay.heartbeat(T0 + 6 * hour) == []  # next after four hours
    assert [m.link_seq for m in a.relay.heartbeat(T0 + 7 * hour)] == [1]


def test_a_batch_sends_no_mark_of_its_own_the_next_heartbeat_announces_it(world) -> None:
    """A batch's link messages go out without a high-water mark: the batch moved its links'
    marks, so the next heartbeat (at most one beat later, well inside the gap bound) announces
    them, even when an unchanged mark's repeat was far off. A mark after every batch was one
    extra message per batch and destination (~1,400 of ~15,000 in a 300-case simulation)."""
    a, _, _ = world
    beat = a.relay.heartbeat_every
    ping(a, 1)
    assert not [m for m in outgoing(a) if isinstance(m, HighWaterMark)]
    assert [(m.destination, m.link_seq) for m in a.relay.heartbeat(T0)] == [(B, 1)]
    assert [m.link_seq for m in a.relay.heartbeat(T0 + beat)] == [1]  # repeated: next in 2 beats
    ping(a, 2)
    assert not [m for m in outgoing(a, T0 + beat * 1.5) if isinstance(m, HighWaterMark)]
    assert [(m.destination, m.link_seq) for m in a.relay.heartbeat(T0 + 2 * beat)] == [(B, 2)]


def test_after_a_restart_a_quiet_link_is_repeated_at_about_its_quiet_time(world) -> None:
    """A restarted relay announces every mark at its first heartbeat, then repeats each after
    about as long as the link has been quiet (since the cursor was saved), as the doubling
    interval would have: starting over at one beat cost ~14 repeats per link and crash."""
    a, _, _ = world
    ping(a, 1)
    outgoing(a)  # cursor saved at T0
    beat = a.relay.heartbeat_every
    day = dt.timedelta(days=1)
    a.restart()
    assert [m.link_seq for m in a.relay.heartbeat(T0 + day)] == [1]
    repeats = [n for n in range(1, 2 * 17_280) if a.relay.heartbeat(T0 + day + n * beat)]
    assert repeats[0] == 17_280  # a day later: the link had been quiet a day


def test_after_a_restart_every_link_is_announced_even_if_a_batch_was_read_before_the_marks() -> None:
    # A crash between commit and publish: after the restart the relay reads that batch again
    # before anything asked for the marks; the links it does not touch must still be announced.
    store, c = MemoryStore(), "640100"
    a = build_region(RegionConfig(region=A, peers=(B, c)), clock=lambda: T0, ids=uuid.uuid4,
                     broker=None, store=store, protocols={"toy": spec_of("toy", toy)})
    ping(a, 1)
    outgoing(a)  # to B: published, the cursor moved
    case_id = toy.new_case(A)
    assert a.node.submit(case_id, toy.number_of(case_id), "toy",
                         toy.Ping(actor=STAFF, case_id=case_id, n=1, to=c, home=A), T0).ok
    a.restart()  # before the message to C went out
    batch = a.relay.step(T0)
    assert batch is not None and {m.destination for m in messages(batch.items)} == {c}
    assert not [m for m in batch.items if isinstance(m, HighWaterMark)]  # no mark of its own
    marks = a.relay.heartbeat(T0)
    assert sorted((m.destination, m.link_seq) for m in marks) == [(B, 1), (c, 1)]


@pytest.mark.parametrize("durable", [False, True], ids=["memory", "sqlite"])
def test_a_restart_hands_the_timers_reading_of_opened_sides_on(durable, tmp_path,
                                                               monkeypatch) -> None:
    """The timer's rebuild after a restart of the same store reads only the `Opened` records
    written since the last (`timer.OpenedSides`), and knows the same sides as a full read."""
    from regions.adapters.stores.sql import SqliteStore
    from regions.core.timer import OPENED_TOPIC, OpenedSide

    a = make(A, B, SqliteStore(tmp_path) if durable else MemoryStore())
    recorder_type = type(a.node.app.recorder)
    starts: list[int | None] = []
    select = recorder_type.select_notifications

    def spy(self, start, limit, stop=None, topics=(), **kwargs):
        if list(topics) == [OPENED_TOPIC]:
            starts.append(start)
        return select(self, start, limit, stop, topics, **kwargs)

    def full_read() -> list[uuid.UUID | str]:
        return [n.originator_id for n in a.node.app.recorder.select_notifications(
            start=None, limit=1_000_000, topics=[OPENED_TOPIC])]

    monkeypatch.setattr(recorder_type, "select_notifications", spy)
    ping(a, 1)
    opened = a.timer.opened
    a.restart()
    first = opened.position
    assert a.timer.opened is opened and first == a.node.app.recorder.max_notification_id()
    ping(a, 2)
    starts.clear()
    a.restart()
    assert starts == [first]
    assert [s.stream for s in opened.entries if isinstance(s, OpenedSide)] == full_read()
    assert len(full_read()) == 2
