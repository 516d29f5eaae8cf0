"""One transaction per inbox batch and per group of commands, on in-memory stores.

The protocol here is a toy of this file's own ("memo"), because these rules need several
messages per case: the origin side says any number of lines to its counterpart (`Said`, shared);
the destination hears each one (`Heard`) in link order. A line "refuse" is refused by the
destination's domain; a line "claim" opens the speaker's pension relationship in the
destination's register, so a second claim for the same person is refused by the register. An
empty line is a command the origin's domain refuses.
"""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from dataclasses import dataclass, replace
from typing import Any

import pytest

from domain.kernel import (
    Actor,
    Command,
    CounterpartEventRejected,
    DomainError,
    Event,
    IllegalCommand,
    NeedsAttentionRaised,
    Receive,
    SideSummary,
    register_event,
)
from domain.protocols import spec_of
from domain.registers import RegisterEffect
from domain.values import CaseNumber, RegionCode
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.inbox import Inbox, Incoming, _Link
from regions.core.messages import HighWaterMark, LinkMessage
from regions.core.sides import BatchedCommand
from regions.core.store import Quarantined
from regions.runtime.bootstrap import Region, build_region
from regions.wire import link

A, B = "150600", "610800"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
CLERK = Actor("staff", "c1", A, "clerk")

# --------------------------------------------------------------------------- the memo protocol

PROCESS = "memo"
ALLOWED_TERMINAL_PAIRS: set[tuple[str, str]] = set()


@register_event
@dataclass(frozen=True, kw_only=True)
class MemoSaid(Event):
    WIRE = True
    case_id: str
    text: str
    person: str


@register_event
@dataclass(frozen=True, kw_only=True)
class MemoHeard(Event):
    case_id: str
    text: str
    person: str


@dataclass(frozen=True, kw_only=True)
class Say(Command):
    case_id: str
    text: str
    to: str
    person: str = "p1"


@dataclass(frozen=True)
class MemoState:
    role: str
    lines: tuple[str, ...]
    status: str = "open"


class Memo:
    process = PROCESS

    def decide(self, state: MemoState | None, command: Command, now: dt.datetime) -> list[Event]:
        if isinstance(command, Say):
            if not command.text:
                raise IllegalCommand("nothing to say")
            if state is not None and state.role != "origin":
                raise IllegalCommand("only the origin speaks")
            return [MemoSaid(at=now, actor=command.actor, to_region=command.to,
                             case_id=command.case_id, text=command.text, person=command.person)]
        if isinstance(command, Receive) and isinstance(command.event, MemoSaid):
            if command.event.text == "refuse":
                raise DomainError("this line is refused", code="refused_line")
            return [MemoHeard(at=now, actor=command.actor, case_id=command.event.case_id,
                              text=command.event.text, person=command.event.person)]
        raise IllegalCommand(f"cannot {type(command).__name__} here")

    def evolve(self, state: MemoState | None, event: Event) -> MemoState:
        if isinstance(event, MemoSaid):
            return MemoState("origin", (state.lines if state else ()) + (event.text,))
        if isinstance(event, MemoHeard):
            return MemoState("destination", (state.lines if state else ()) + (event.text,))
        if isinstance(event, (CounterpartEventRejected, NeedsAttentionRaised)):
            return replace(state or MemoState("destination", ()), status="needs_attention")
        raise AssertionError(event)

    def policy(self, state: MemoState, now: dt.datetime) -> list[Command]:
        return []

    def timers(self, state: MemoState, now: dt.datetime) -> list[Command]:
        return []

    def next_timer(self, state: MemoState) -> dt.datetime | None:
        return None

    def status(self, state: MemoState) -> str:
        return state.status

    def is_terminal(self, state: MemoState) -> bool:
        return False

    def summary(self, state: MemoState) -> SideSummary:
        return SideSummary("", PROCESS, "single", "", state.status, False)


def decider(rules: Any = None) -> Memo:
    return Memo()


def options(state: Any, now: dt.datetime, rng: Any) -> list[Command]:
    return []


def register_effects(event: Event) -> list[RegisterEffect]:
    if isinstance(event, MemoHeard) and event.text == "claim":
        return [RegisterEffect("open", event.person, "pension", event.case_id)]
    return []


# --------------------------------------------------------------------------- two regions


def make(code: str, peer: str, store: MemoryStore) -> Region:
    return build_region(RegionConfig(region=code, peers=(peer,), gap_bound_seconds=10),
                        clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store,
                        protocols={PROCESS: spec_of(PROCESS, sys.modules[__name__])})


@pytest.fixture
def regions() -> tuple[Region, Region]:
    store = MemoryStore()
    return make(A, B, store), make(B, A, store)


class SaveCounter:
    """Counts the real ledger's `save` calls (each is one transaction); it can make the next one
    fail (`fail_once`) or every one while an outage lasts (`outage`)."""

    def __init__(self, region: Region) -> None:
        self.calls = 0
        self.fail_once: Exception | None = None
        self.outage: Exception | None = None
        self._save = region.node.app.save
        region.node.app.save = self  # type: ignore[method-assign,assignment]

    def __call__(self, *aggregates: Any) -> Any:
        self.calls += 1
        if self.outage is not None:
            raise self.outage
        if self.fail_once is not None:
            error, self.fail_once = self.fail_once, None
            raise error
        return self._save(*aggregates)


def say(region: Region, lines: list[tuple[str, str]]) -> None:
    """Each (case, text) as one command of the origin."""
    for case_id, text in lines:
        outcome = region.node.command(case_id, Say(actor=CLERK, case_id=case_id, text=text, to=B),
                                      T0)
        if not outcome.ok and outcome.error_code == "unknown_case":
            outcome = region.node.submit(case_id, NUMBERS[case_id], PROCESS, Say(
                actor=CLERK, case_id=case_id, text=text, to=B), T0)
        assert outcome.ok, outcome


def sent(region: Region) -> list[LinkMessage]:
    batch = region.relay.step(T0)
    assert batch is not None
    region.relay.advance(batch, T0)
    return [item for item in batch.items if isinstance(item, LinkMessage)]


def incoming(messages: list[LinkMessage]) -> list[Incoming]:
    found = []
    for message in messages:
        out = link.encode(message)
        found.append(Incoming(out.subject, out.data, out.headers, token=message.link_seq,
                              subject_origin=A))
    return found


def heard(region: Region, case_id: str) -> tuple[str, ...]:
    view = region.node.side(case_id)
    return () if view is None else view.state.lines


def stored_lines(region: Region, case_id: str) -> tuple[str, ...]:
    """What the store holds, read afresh (not the node's cache)."""
    region.node.forget_caches()
    return heard(region, case_id)


#: Each case's number, by case id: the case id is derived from it, as a window issues them.
NUMBERS: dict[str, str] = {}


def new_case() -> str:
    number = CaseNumber.new(RegionCode(A), T0.date(), uuid.uuid4())
    NUMBERS[str(number.case_id)] = str(number)
    return str(number.case_id)


# --------------------------------------------------------------------------- the rules


def test_a_batch_of_messages_for_several_cases_is_committed_in_one_transaction(regions) -> None:
    a, b = regions
    cases = [new_case() for _ in range(3)]
    say(a, [(cases[i % 3], f"line {i}") for i in range(7)])  # 7 messages for 3 cases
    saves = SaveCounter(b)
    result = b.inbox.handle(incoming(sent(a)), T0)
    assert saves.calls == 1
    assert result.applied == 7 and sorted(result.ack) == list(range(1, 8))
    assert stored_lines(b, cases[0]) == ("line 0", "line 3", "line 6")
    assert stored_lines(b, cases[2]) == ("line 2", "line 5")
    assert b.node.inlink_position(A) == 7


def test_listeners_hear_a_batch_only_after_its_commit_and_in_link_order(regions) -> None:
    a, b = regions
    case = new_case()
    say(a, [(case, "one"), (case, "two")])
    saves = SaveCounter(b)
    heard_at: list[tuple[int, tuple[str, ...]]] = []
    b.node.listeners.append(lambda view, events: heard_at.append((saves.calls, view.state.lines)))
    b.inbox.handle(incoming(sent(a)), T0)
    assert heard_at == [(1, ("one",)), (1, ("one", "two"))]


def test_duplicates_inside_a_batch_are_applied_once(regions) -> None:
    a, b = regions
    case = new_case()
    say(a, [(case, "once"), (case, "twice")])
    messages = sent(a)
    saves = SaveCounter(b)
    result = b.inbox.handle(incoming(messages + messages + messages[:1]), T0)
    assert saves.calls == 1
    assert result.applied == 2 and result.duplicates == 3
    assert stored_lines(b, case) == ("once", "twice")
    assert b.node.inlink_position(A) == 2


def test_held_successors_inside_a_batch_are_applied_in_link_order(regions) -> None:
    a, b = regions
    case = new_case()
    say(a, [(case, "first"), (case, "second"), (case, "third"), (case, "fourth")])
    m1, m2, m3, m4 = sent(a)
    saves = SaveCounter(b)
    result = b.inbox.handle(incoming([m4, m2, m1, m3]), T0)
    assert saves.calls == 1 and result.applied == 4 and result.gaps == 2
    assert stored_lines(b, case) == ("first", "second", "third", "fourth")


def test_a_message_held_from_an_earlier_batch_is_acked_when_held_and_released_with_this_one(
        regions) -> None:
    a, b = regions
    case = new_case()
    say(a, [(case, "early"), (case, "late")])
    m1, m2 = sent(a)
    held = b.inbox.handle(incoming([m2]), T0)
    assert held.ack == [2] and held.applied == 0  # never held unacked (issue 11, finding 4)
    released = b.inbox.handle(incoming([m1]), T0)
    assert released.ack == [1] and released.applied == 2
    assert stored_lines(b, case) == ("early", "late")


def test_a_line_the_domain_refuses_is_recorded_as_rejected_in_the_same_transaction(
        regions) -> None:
    a, b = regions
    good, bad = new_case(), new_case()
    say(a, [(good, "fine"), (bad, "refuse"), (good, "also fine")])
    saves = SaveCounter(b)
    result = b.inbox.handle(incoming(sent(a)), T0)
    assert saves.calls == 1 and result.applied == 3 and result.rejected == 1
    assert stored_lines(b, good) == ("fine", "also fine")
    rejected = b.node.side(bad)
    assert rejected is not None and rejected.state.status == "needs_attention"
    assert b.node.inlink_position(A) == 3  # the sequence stays whole


def test_a_register_refusal_inside_a_batch_sees_the_claims_staged_before_it(regions) -> None:
    a, b = regions
    first, second = new_case(), new_case()
    say(a, [(first, "claim"), (second, "claim")])  # the same person claims twice
    saves = SaveCounter(b)
    result = b.inbox.handle(incoming(sent(a)), T0)
    assert saves.calls == 1 and result.applied == 2 and result.rejected == 1
    assert stored_lines(b, first) == ("claim",)
    assert b.node.side(second).state.status == "needs_attention"
    assert b.node.register_entry("p1", "pension").status == "active"


def test_a_poisonous_message_is_diverted_alone_and_the_rest_of_its_batch_commits(
        regions) -> None:
    a, b = regions
    case, poisoned = new_case(), new_case()
    say(a, [(case, "before"), (poisoned, "POISON"), (case, "after")])
    deliveries = incoming(sent(a))
    # A value that decodes but the store refuses (as PostgreSQL refuses a value its column
    # cannot hold; a lone surrogate was this test's poison until the payload rules refused it).
    saves = SaveCounter(b)
    save = saves._save

    def refusing(*aggregates: Any) -> Any:
        if any("POISON" in repr(vars(aggregate)) for aggregate in aggregates
               if not isinstance(aggregate, Quarantined)):  # the poison's own record is kept
            raise ValueError("the store cannot hold this value")
        return save(*aggregates)
    saves._save = refusing
    result = b.inbox.handle(deliveries, T0)
    assert saves.calls > 1  # the batch failed and was retried message by message
    assert result.applied == 2 and result.quarantined == 1 and sorted(result.ack) == [1, 2, 3]
    assert stored_lines(b, case) == ("before", "after")
    assert heard(b, poisoned) == ()
    assert b.node.inlink_position(A) == 3  # stepped over the poison
    parked = _quarantined(b)
    assert len(parked) == 1 and "store_refused" in parked[0].reason


def test_an_outage_fails_the_batch_acks_nothing_and_leaves_the_link_as_it_was(regions) -> None:
    a, b = regions
    case = new_case()
    say(a, [(case, "one"), (case, "two")])
    deliveries = incoming(sent(a))
    saves = SaveCounter(b)
    saves.outage = ConnectionError("database went away")
    with pytest.raises(ConnectionError):  # the batch, then its first message alone: both fail
        b.inbox.handle(deliveries, T0)
    assert saves.calls == 2
    assert b.inbox.link(A).recorded == 0 and stored_lines(b, case) == ()
    saves.outage = None
    result = b.inbox.handle(deliveries, T0)  # redelivered after the outage
    assert result.applied == 2 and sorted(result.ack) == [1, 2]
    assert stored_lines(b, case) == ("one", "two")


def test_a_batch_of_only_duplicates_and_marks_needs_no_transaction(regions) -> None:
    a, b = regions
    case = new_case()
    say(a, [(case, "one")])
    deliveries = incoming(sent(a))
    b.inbox.handle(deliveries, T0)
    saves = SaveCounter(b)
    again = b.inbox.handle(deliveries, T0)
    assert saves.calls == 0 and again.duplicates == 1 and again.ack == [1]


def test_a_conflict_with_another_writer_falls_back_and_still_applies_the_batch_once(
        regions) -> None:
    from eventsourcing.persistence import RecordConflictError

    a, b = regions
    cases = [new_case(), new_case()]
    say(a, [(cases[0], "x"), (cases[1], "y")])
    saves = SaveCounter(b)
    saves.fail_once = RecordConflictError("another writer got there first")
    result = b.inbox.handle(incoming(sent(a)), T0)
    assert saves.calls == 3  # the failed batch, then one per message
    assert result.applied == 2
    assert (stored_lines(b, cases[0]), stored_lines(b, cases[1])) == (("x",), ("y",))


def test_a_stale_cached_version_conflicts_instead_of_overwriting(regions) -> None:
    """Another writer (an API process) appended to a side behind this node's back: the cached
    view is stale, so the decision must be made again on the stored state."""
    a, _ = regions
    case = new_case()
    say(a, [(case, "mine")])
    other = make(A, B, a.store)  # a second process of region A on the same store
    say(other, [(case, "theirs")])
    say(a, [(case, "mine again")])
    assert stored_lines(a, case) == ("mine", "theirs", "mine again")
    assert [m.link_seq for m in sent(a)] == [1, 2, 3]  # the out-link stayed contiguous


def test_a_group_of_commands_is_committed_in_one_transaction_and_a_refusal_stays_apart(
        regions) -> None:
    a, _ = regions
    cases = [new_case() for _ in range(4)]
    saves = SaveCounter(a)
    requests = [BatchedCommand(c, Say(actor=CLERK, case_id=c, text=f"hello {i}", to=B),
                               command_id=f"k{i}", principal="clerk", case_number="n",
                               process=PROCESS) for i, c in enumerate(cases)]
    requests.append(BatchedCommand(cases[0], Say(actor=CLERK, case_id=cases[0], text="", to=B),
                                   command_id="k-empty", principal="clerk"))  # refused
    requests.append(requests[1])  # the same command id again in the same group
    outcomes = a.node.run_batch(requests, T0)
    assert saves.calls == 1
    assert [o.ok for o in outcomes] == [True, True, True, True, False, True]
    assert outcomes[4].error_code == "illegal_command" and outcomes[5] == outcomes[1]
    assert len(sent(a)) == 4  # each line said once
    stored = a.node.app.recorder.max_notification_id()
    again = a.node.run_batch(requests[3:5], T0)  # a retry gets the stored outcomes...
    assert again == outcomes[3:5]
    assert a.node.app.recorder.max_notification_id() == stored  # ...and writes nothing


def test_a_group_whose_commit_fails_runs_each_command_on_its_own(regions) -> None:
    from eventsourcing.persistence import RecordConflictError

    a, _ = regions
    cases = [new_case(), new_case()]
    saves = SaveCounter(a)
    saves.fail_once = RecordConflictError("another writer got there first")
    outcomes = a.node.run_batch([BatchedCommand(c, Say(actor=CLERK, case_id=c, text="hi", to=B),
                                                case_number="n", process=PROCESS)
                                 for c in cases], T0)
    assert [o.ok for o in outcomes] == [True, True] and saves.calls == 3
    assert [m.link_seq for m in sent(a)] == [1, 2]


def _quarantined(region: Region) -> list[Any]:
    from eventsourcing.utils import get_topic

    from regions.core.store import Quarantined
    notes = region.node.app.recorder.select_notifications(
        start=None, limit=100, topics=[get_topic(Quarantined.Parked)])
    return [region.node.app.repository.get(uuid.UUID(str(n.originator_id))) for n in notes]


# --------------------------------------------------------------------------- putting links back
# A batch whose commit fails puts every link back exactly as it was before the batch — links it
# changed, links it made, links it never touched — before running again message by message
# (`Inbox._put_back`: each link is saved as the batch first touches it, not every link per batch).


def put_back_links(region: Region) -> list[dict[str, _Link]]:
    """The links right after each put-back, deep-copied (the retry changes them after)."""
    seen: list[dict[str, _Link]] = []
    original = Inbox._put_back

    def spy(inbox: Inbox) -> None:
        original(inbox)
        seen.append({origin: lk.copy() for origin, lk in inbox.links.items()})

    region.inbox._put_back = lambda: spy(region.inbox)  # type: ignore[method-assign]
    return seen


def mark(seq: int) -> Incoming:
    out = link.encode(HighWaterMark(A, "610800", seq, T0 + dt.timedelta(seconds=seq)))
    return Incoming(out.subject, out.data, out.headers, token=f"mark{seq}", subject_origin=A)


def test_a_failed_batch_removes_the_links_it_made(regions: tuple[Region, Region]) -> None:
    a, b = regions
    case = new_case()
    say(a, [(case, "one"), (case, "two")])
    seen = put_back_links(b)
    SaveCounter(b).fail_once = RuntimeError("the batch's commit failed")
    result = b.inbox.handle(incoming(sent(a)[::-1]), T0)
    assert seen == [{}]  # the batch made the link: gone again before the retry
    assert result.applied == 2 and b.inbox.link(A).recorded == 2


def test_a_failed_batch_puts_a_link_it_changed_back_as_it_was(
        regions: tuple[Region, Region]) -> None:
    a, b = regions
    case = new_case()
    say(a, [(case, f"line {n}") for n in range(1, 6)])
    m1, m2, m3, _m4, m5 = incoming(sent(a))
    b.inbox.handle([m3], T0)  # held behind the gap at 1 and 2
    before = {origin: lk.copy() for origin, lk in b.inbox.links.items()}
    assert before[A].held and before[A].gap_since == T0
    seen = put_back_links(b)
    SaveCounter(b).fail_once = RuntimeError("the batch's commit failed")
    later = T0 + dt.timedelta(seconds=30)
    result = b.inbox.handle([m1, m5, mark(9), m2], later)
    assert seen == [before]  # recorded, announced, held, gap: all as before the batch
    assert result.applied == 3 and b.inbox.link(A).recorded == 3
    assert set(b.inbox.link(A).held) == {5} and b.inbox.link(A).announced == 9


def test_a_received_message_is_decoded_once(regions: tuple[Region, Region],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The node takes the event the link codec decoded (`LinkMessage.event`)."""
    from regions.core import node as node_module

    def decoded_again(*args: Any) -> Any:
        raise AssertionError("the node decoded the payload again")

    a, b = regions
    case = new_case()
    say(a, [(case, "one"), (case, "two")])
    deliveries = incoming(sent(a))
    monkeypatch.setattr(node_module, "event_from_payload", decoded_again)
    result = b.inbox.handle(deliveries, T0)
    assert result.applied == 2 and stored_lines(b, case) == ("one", "two")


# --------------------------------------------------------------------------- marks alone
# A batch of marks and re-send requests alone (most batches on a quiet link) is handled without
# a unit of work (`Inbox._controls`); what it leaves — the result, the links — is what the
# general path leaves, and anything the general path would quarantine still goes there.


def resend_asked(from_seq: int, to_seq: int) -> Incoming:
    """Region A asks B to re-send `from_seq..to_seq` of the link B -> A."""
    from regions.core.messages import ResendRequest
    out = link.encode(ResendRequest(B, A, from_seq, to_seq, T0))
    return Incoming(out.subject, out.data, out.headers, token=f"resend{from_seq}",
                    subject_origin=A)


def _outcome(region: Region, batch: list[Incoming], when: dt.datetime) -> tuple[Any, ...]:
    result = region.inbox.handle(batch, when)
    links = {origin: lk.copy() for origin, lk in region.inbox.links.items()}
    return (result, links, dict(region.inbox.stats))


def test_a_batch_of_marks_and_resend_requests_ends_as_the_general_path_ends_it(
        regions: tuple[Region, Region], monkeypatch: pytest.MonkeyPatch) -> None:
    later = T0 + dt.timedelta(seconds=30)  # past the gap bound: the gap is asked for
    batches = [([mark(3), resend_asked(1, 2), mark(2)], T0), ([], later), ([mark(5)], later)]
    _, b = regions

    def no_unit_of_work(now: dt.datetime) -> Any:
        raise AssertionError("a batch of marks began a unit of work")

    monkeypatch.setattr(b.node, "begin", no_unit_of_work)
    fast = [_outcome(b, batch, when) for batch, when in batches]
    _, general = make(A, B, MemoryStore()), make(B, A, MemoryStore())
    monkeypatch.setattr(general.inbox, "_controls", lambda *args: None)
    assert fast == [_outcome(general, batch, when) for batch, when in batches]
    (first, links, _), (gap, _, _), (last, _, _) = fast
    assert first.ack == ["mark3", "resend1", "mark2"] and links[A].announced == 3
    assert [r.from_seq for r in first.resends_asked_of_us] == [1]
    assert [(r.from_seq, r.to_seq) for r in gap.resend_requests] == [(1, 3)]
    assert last.ack == ["mark5"] and not last.resend_requests  # asked once per bound


def test_a_mark_the_general_path_would_quarantine_still_is_in_a_batch_of_marks(
        regions: tuple[Region, Region]) -> None:
    _, b = regions
    stranger = mark(7)
    stranger = Incoming(stranger.subject, stranger.data, stranger.headers, token="stranger",
                        subject_origin="")  # no parsed subject: fails closed
    result = b.inbox.handle([mark(4), stranger], T0)
    assert result.quarantined == 1 and sorted(result.ack) == ["mark4", "stranger"]
    assert b.inbox.link(A).announced == 4 and len(_quarantined(b)) == 1


def test_after_a_restart_a_batch_takes_a_side_from_its_kept_fold_without_reading_its_stream(
        regions: tuple[Region, Region], monkeypatch: pytest.MonkeyPatch) -> None:
    """The memory store keeps each side's fold across restarts; the batch's prefetch takes it
    when it is at the stream's newest version (as `Caches.side` does) instead of reading and
    decoding the whole stream again."""
    from regions.core import caches as caches_module

    a, b = regions
    case = new_case()
    say(a, [(case, "one")])
    b.inbox.handle(incoming(sent(a)), T0)
    b.restart()
    b.restart()  # the timer's second rebuild asks only changed sides: this one is not read
    read: list[Any] = []
    load_streams = caches_module.load_streams

    def reading(app: Any, ids: Any) -> Any:
        read.extend(ids)
        return load_streams(app, ids)

    monkeypatch.setattr(caches_module, "load_streams", reading)
    say(a, [(case, "two")])
    result = b.inbox.handle(incoming(sent(a)), T0)
    assert result.applied == 1 and heard(b, case) == ("one", "two")
    assert b.node.caches.folds is not None and not read
    assert stored_lines(b, case) == ("one", "two")
