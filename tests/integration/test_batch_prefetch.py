"""A group commit reads its sides together: one query on PostgreSQL for the whole batch, and a
new case's side, found absent there, is not read again on its own (issue 17)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from domain.kernel import Actor
from domain.protocols.intake import AcceptIntake
from domain.protocols.transfer_commands import ApproveTransferOut
from regions.adapters.stores.sql import PostgresStore, RegionChannelRecorder
from regions.core.config import RegionConfig
from regions.core.inbox import Incoming
from regions.core.sides import BatchedCommand, side_id
from regions.core.store import OutLink
from regions.runtime.bootstrap import build_region
from regions.wire import link
from simulations.bench.autopilot import submission

DESTINATION, ORIGIN = "150600", "610800"
NOW = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(postgres_dsn: str) -> Iterator[PostgresStore]:
    """A store of its own on the test server, dropped afterwards."""
    opened = PostgresStore(postgres_dsn, schema_prefix=f"tbt{uuid.uuid4().hex[:8]}_")
    try:
        yield opened
    finally:
        opened.drop_all()
        opened.close()


def region_of(store: PostgresStore, code: str, peer: str) -> Any:
    return build_region(RegionConfig(region=code, peers=(peer,)), clock=lambda: NOW,
                        ids=uuid.uuid4, broker=None, store=store)


def test_a_batch_of_new_cases_reads_its_sides_in_one_query_and_each_side_never_alone(
        store: PostgresStore) -> None:
    now = NOW
    region = region_of(store, DESTINATION, ORIGIN)
    recorder = region.node.app.recorder
    assert isinstance(recorder, RegionChannelRecorder)
    calls = {"one": 0, "many": 0}
    read_alone: list[uuid.UUID] = []
    one, many = recorder.select_events, recorder.select_events_of

    def select_one(originator_id, **kwargs):
        calls["one"] += 1
        read_alone.append(originator_id)
        return one(originator_id, **kwargs)

    def select_many(ids):
        calls["many"] += 1
        return many(ids)

    recorder.select_events = select_one
    recorder.select_events_of = select_many
    batch = [submission(DESTINATION, ORIGIN, i, now, uuid.uuid4()) for i in range(20)]
    outcomes = region.node.run_batch(batch, now)
    assert all(o.ok for o in outcomes), outcomes
    assert calls["many"] == 1
    side_reads = calls["one"]
    assert side_reads == 0, f"{side_reads} single reads for 20 new sides"
    # the same requests again (a retry): the sides are in memory now and are not read (the
    # stored outcomes are, after the conflict: regions.core.idempotency)
    again = region.node.run_batch(batch, now)
    assert again == outcomes
    sides = {side_id(b.case_id, DESTINATION) for b in batch}
    assert not sides & set(read_alone)
    views = [region.node.side(b.case_id) for b in batch]
    assert all(v is not None and v.version >= 1 for v in views)


def test_an_inbox_batch_reads_its_new_sides_in_one_query(store: PostgresStore) -> None:
    now = NOW
    dest, origin = region_of(store, DESTINATION, ORIGIN), region_of(store, ORIGIN, DESTINATION)
    batch = [submission(DESTINATION, ORIGIN, i, now, uuid.uuid4()) for i in range(10)]
    assert all(o.ok for o in dest.node.run_batch(batch, now))
    window = Actor("staff", "bench-window", DESTINATION, "社保经办", "W1")
    accepted = dest.node.run_batch(
        [BatchedCommand(b.case_id, AcceptIntake(actor=window)) for b in batch], now)
    assert all(o.ok for o in accepted), accepted
    relayed = dest.relay.step(now)
    assert relayed is not None
    incoming = [Incoming(out.subject, out.data, out.headers, None, subject_origin=DESTINATION)
                for out in map(link.encode, relayed.items)]
    recorder = origin.node.app.recorder
    assert isinstance(recorder, RegionChannelRecorder)
    read_alone: list[uuid.UUID] = []
    many_calls: list[int] = []
    one, many = recorder.select_events, recorder.select_events_of

    def select_one(originator_id, **kwargs):
        read_alone.append(originator_id)
        return one(originator_id, **kwargs)

    def select_many(ids):
        many_calls.append(len(ids))
        return many(ids)

    recorder.select_events = select_one
    recorder.select_events_of = select_many
    result = origin.inbox.handle(incoming, now)
    assert result.applied == 10
    assert many_calls == [10]
    sides = {side_id(b.case_id, ORIGIN) for b in batch}
    assert not sides & set(read_alone)
    assert all(origin.node.side(b.case_id) is not None for b in batch)
    # the officer approves: each case's hold changes the person's register entry, which the
    # batch's prefetch guessed from the side (absent: a new person) — none is read alone
    officer = Actor("staff", "bench-officer", ORIGIN, "社保经办", "W2")
    read_alone.clear()
    approved = origin.node.run_batch(
        [BatchedCommand(b.case_id, ApproveTransferOut(actor=officer)) for b in batch], now)
    assert all(o.ok and "TransferOutHeld" in o.events for o in approved), approved
    assert many_calls == [10, 10]
    # only the out-link to the destination, once in the node's life (its newest version)
    assert read_alone == [OutLink.id_for(ORIGIN, DESTINATION)]


def test_a_register_entry_found_absent_is_not_asked_for_again_until_written(
        store: PostgresStore) -> None:
    """A person's entry opens late in a case; every prefetch before that used to ask for it."""
    now = NOW
    region = region_of(store, DESTINATION, ORIGIN)
    batch = [submission(DESTINATION, ORIGIN, i, now, uuid.uuid4()) for i in range(10)]
    assert all(o.ok for o in region.node.run_batch(batch, now))
    recorder = region.node.app.recorder
    assert isinstance(recorder, RegionChannelRecorder)
    asked: list[int] = []
    many = recorder.select_events_of

    def select_many(ids):
        asked.append(len(ids))
        return many(ids)

    recorder.select_events_of = select_many
    case_ids = [b.case_id for b in batch]
    for _ in range(3):
        region.node.prefetch(case_ids)
        region.node.abort(region.node.begin(now))
    assert asked == [10]  # the ten persons' entries, once: none exists


def _second_hold(dsn: str, believed_absent: bool) -> tuple[list[Any], Any]:
    """One person's two transfers out of ORIGIN, handled by two nodes of ORIGIN on one database
    (two processes, two stores): node A approves the first case (its hold opens the person's
    register entry) after node B, with `believed_absent`, has found that entry absent in a
    prefetch. B then approves the second case. B's outcome and the entry as stored after it."""
    prefix = f"tbt{uuid.uuid4().hex[:8]}_"
    stores = [PostgresStore(dsn, schema_prefix=prefix) for _ in range(2)]
    try:
        dest = region_of(stores[0], DESTINATION, ORIGIN)
        a, b = region_of(stores[0], ORIGIN, DESTINATION), region_of(stores[1], ORIGIN, DESTINATION)
        batch = [submission(DESTINATION, ORIGIN, 0, NOW, uuid.uuid4()) for _ in range(2)]
        assert all(o.ok for o in dest.node.run_batch(batch, NOW))
        window = Actor("staff", "bench-window", DESTINATION, "社保经办", "W1")
        assert all(o.ok for o in dest.node.run_batch(
            [BatchedCommand(r.case_id, AcceptIntake(actor=window)) for r in batch], NOW))
        relayed = dest.relay.step(NOW)
        assert relayed is not None
        incoming = [Incoming(out.subject, out.data, out.headers, None,
                             subject_origin=DESTINATION)
                    for out in map(link.encode, relayed.items)]
        assert a.inbox.handle(incoming, NOW).applied == 2
        first, second = (r.case_id for r in batch)
        if believed_absent:
            for _ in range(2):  # the sides read, then the person's entry guessed from them
                b.node.prefetch([first, second])
                b.node.abort(b.node.begin(NOW))
            assert [b.node.caches.absent(rid) for rid in b.node.caches._no_registers] == [True]
        officer = Actor("staff", "bench-officer", ORIGIN, "社保经办", "W2")
        approved = a.node.run_batch([BatchedCommand(first, ApproveTransferOut(actor=officer))],
                                    NOW)
        assert approved[0].ok and "TransferOutHeld" in approved[0].events, approved
        outcome = b.node.run_batch([BatchedCommand(second, ApproveTransferOut(actor=officer))],
                                   NOW)
        side = b.node.side(second)
        assert side is not None
        entry = b.node.register_entry(side.state.person_key, side.state.scheme)
        assert entry is not None and entry.case_id == first  # the first case's hold stands
        return outcome, dataclasses.replace(entry, case_id="")
    finally:
        stores[0].drop_all()
        for opened in stores:
            opened.close()


def test_an_entry_another_node_opened_meanwhile_is_decided_on_as_it_is(
        postgres_dsn: str) -> None:
    """A register entry believed absent (`Caches.no_register`) that another writer opened since:
    the decision on it conflicts, the belief is dropped and the decision made again on the
    entry as stored — the same outcome and entry as a node that never believed it absent."""
    believed = _second_hold(postgres_dsn, believed_absent=True)
    fresh = _second_hold(postgres_dsn, believed_absent=False)
    assert [(o.ok, o.events, o.error_code) for o in believed[0]] == \
        [(o.ok, o.events, o.error_code) for o in fresh[0]]
    assert believed[1] == fresh[1]
