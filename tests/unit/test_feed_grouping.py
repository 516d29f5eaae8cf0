"""How the feed groups events into messages: one per commit and process, split the same way
every time beyond its size limits, named by what it carries; and what a message may hold.

The events here are made up (one `DeadlineCleared` each, on as many sides as a test needs):
what they say does not matter, only where they sit in the log and which commit wrote them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.deadlines import DeadlineCleared
from domain.kernel import Actor, to_payload
from domain.values import CaseNumber, RegionCode
from projections.records import SideEvent
from regions.wire import feed
from regions.wire.errors import WireError, WireReason

REGION = "150600"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wire"


class Log:
    """A region's log as the feed's tailer reads it: positions in commit order, with gaps
    (records not on the feed), each commit stamped with its instant."""

    def __init__(self) -> None:
        self.position = 0
        self.versions: dict[str, int] = {}
        self.commits = 0

    def commit(self, sides: list[int], *, process: str = "pension_transfer",
               each: int = 1) -> list[SideEvent]:
        """One transaction: `each` events on each of `sides` (case numbers), in that order."""
        self.commits += 1
        at = T0 + dt.timedelta(seconds=self.commits)
        items = []
        for case in sides:
            number = CaseNumber.new(RegionCode(REGION), dt.date(2026, 3, 2),
                                    uuid.UUID(int=case))
            side = str(uuid.UUID(int=10_000 + case))
            for _ in range(each):
                self.position += 2  # a gap: a record not on the feed between two events
                self.versions[side] = version = self.versions.get(side, 0) + 1
                event = DeadlineCleared(at=at, actor=Actor.system("deadlines", REGION),
                                        step=f"s{version}")
                items.append(SideEvent(
                    position=self.position, region=REGION, case_id=str(number.case_id),
                    case_number=str(number), process=process, side_id=side, version=version,
                    type="DeadlineCleared", schema_version=1, payload=to_payload(event),
                    committed=at))
        return items


def sizes(items: list[SideEvent]) -> list[int]:
    return [len(message) for message in feed.batches(items)]


def test_a_commit_on_many_sides_is_one_message_whatever_else_the_tailer_read() -> None:
    log = Log()
    first = log.commit(list(range(1, 31)), each=2)  # 30 cases, 2 events each: 60 events
    second = log.commit([3])
    assert sizes(first + second) == [60, 1]
    [out, _] = feed.encode_all(first + second)
    assert feed.decode(out.data) == first
    assert out.headers["Nats-Msg-Id"] == (
        f"{first[0].event_id}:{hashlib.sha256(out.data).hexdigest()[:16]}")


def test_a_commit_beyond_the_limit_splits_the_same_way_however_the_log_is_read() -> None:
    log = Log()
    big = log.commit(list(range(1, 51)), each=5)  # 250 events
    after = log.commit([7, 8])
    assert sizes(big) == [feed.MAX_BATCH, feed.MAX_BATCH, 50]
    alone = feed.encode_all(big)
    with_more = feed.encode_all(big + after)  # a resend that read on past the commit
    assert with_more[:3] == alone and len(with_more) == 4
    assert len({o.headers["Nats-Msg-Id"] for o in with_more}) == 4
    assert [e for o in alone for e in feed.decode(o.data)] == big


def test_a_commit_beyond_the_byte_limit_splits_by_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    log = Log()
    items = log.commit(list(range(1, 11)))
    one = len(feed.encode([items[0]]).data)
    monkeypatch.setattr(feed, "MAX_BYTES", 3 * one + 2)  # three events fit, with their commas
    sent = feed.encode_all(items)
    assert [len(feed.decode(o.data)) for o in sent] == [3, 3, 3, 1]
    assert all(len(o.data) <= feed.MAX_BYTES for o in sent)
    monkeypatch.setattr(feed, "MAX_BYTES", one // 2)  # an event larger than the limit: alone
    assert [len(feed.decode(o.data)) for o in feed.encode_all(items)] == [1] * 10


def test_a_commits_processes_go_to_their_own_subjects_in_the_order_of_their_first_events(
) -> None:
    log = Log()
    mixed = log.commit([1, 2], process="pension_transfer")
    mixed += log.commit([3], process="medical_transfer")
    for item in mixed:  # one transaction: the three sides' events share its instant
        object.__setattr__(item, "committed", mixed[0].committed)
    sent = feed.encode_all(mixed)
    assert [o.subject.split(".")[4] for o in sent] == ["pension_transfer", "medical_transfer"]
    assert [e.case_id for o in sent for e in feed.decode(o.data)] == [i.case_id for i in mixed]


def test_interleaved_processes_of_one_commit_still_make_one_message_each() -> None:
    log = Log()
    a, b = log.commit([1], process="pension_transfer"), log.commit([2], process="filing")
    c = log.commit([4], process="pension_transfer")
    items = a + b + c
    for item in items:
        object.__setattr__(item, "committed", T0)
    messages = feed.batches(items)
    assert [[i.position for i in m] for m in messages] == [
        [a[0].position, c[0].position], [b[0].position]]


def test_events_of_an_unknown_commit_go_one_message_each() -> None:
    items = [SideEvent(**{**vars(i), "committed": None})
             for i in Log().commit([1, 2, 3])]
    assert sizes(items) == [1, 1, 1]


def test_a_crash_resend_of_whole_commits_carries_the_same_ids() -> None:
    log = Log()
    commits = [log.commit([c, c + 1]) for c in range(1, 20, 2)]
    items = [i for commit in commits for i in commit]
    before = [o.headers["Nats-Msg-Id"] for o in feed.encode_all(items[:6])]  # 3 commits read
    again = [o.headers["Nats-Msg-Id"] for o in feed.encode_all(items)]  # read on after restart
    assert again[:3] == before


def test_the_same_positions_in_another_store_or_with_other_events_get_other_ids() -> None:
    """Positions are one store's: a restored or fresh store numbers the same again, and its
    messages must not be dropped as duplicates of the old store's."""
    ours, restored = Log().commit([1, 2]), Log().commit([5, 6])
    assert [i.position for i in ours] == [i.position for i in restored]
    one_more = Log().commit([1, 2, 3])
    ids = {feed.encode(run).headers["Nats-Msg-Id"] for run in (ours, restored, one_more)}
    assert len(ids) == 3


def mixtures() -> Iterator[tuple[str, list[SideEvent]]]:
    log = Log()
    one = log.commit([1, 2], each=2)
    other = log.commit([3], process="filing")
    yield "two processes", [one[0], other[0]]
    yield "feedseq backwards", [one[2], one[0]]
    yield "a side's versions with a gap", [
        one[0], SideEvent(**{**vars(one[1]), "version": one[1].version + 1})]
    elsewhere = SideEvent(**{**vars(one[3]), "region": "610800"})
    yield "two regions", [one[0], elsewhere]


@pytest.mark.parametrize(("why", "bad"), list(mixtures()), ids=lambda v: v if
                         isinstance(v, str) else "")
def test_a_feed_message_holds_one_regions_process_in_log_order(why: str,
                                                                bad: list[SideEvent]) -> None:
    with pytest.raises(ValueError):
        feed.encode(bad)
    elements = [json.loads(feed.encode([i]).data)[0] for i in bad]
    with pytest.raises(WireError) as refused:
        feed.decode(json.dumps(elements))
    assert refused.value.reason in (WireReason.INCONSISTENT_ENVELOPE, WireReason.BAD_ATTRIBUTE)


def test_a_message_from_a_node_of_contract_2_still_decodes() -> None:
    """Feed streams keep messages for weeks: a back-end upgraded first reads the older ones."""
    old = (FIXTURES / "feed-per-side.v2.batch.json").read_bytes()
    headers = json.loads((FIXTURES / "feed-per-side.v2.headers.json").read_text())
    events = feed.decode(old)
    assert [(e.version, e.position) for e in events] == [(3, 41), (4, 42)]
    assert headers["headers"]["Nats-Msg-Id"] == f"{events[0].side_id}:3-4"
    assert feed.encode(events).data == old  # the same bytes; only the id is new
