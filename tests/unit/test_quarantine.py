"""Operating the quarantine (`regions.runtime.quarantine`, `tongban quarantine`): every parked message can
be listed with its reason, shown safely, replayed at most once, and discarded without being lost.

Core rules on in-memory regions with the toy protocol; the command line on a SQLite store (the
node's own store flags), including the refusal to replay while a node holds the worker lock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from domain.kernel import Actor
from domain.protocols import spec_of
from regions.adapters.stores.memory import MemoryStore
from regions.adapters.stores.sql import SqliteStore
from regions.adapters.worker_lock import worker_lock_for
from regions.core.config import RegionConfig
from regions.core.inbox import LINK_RECORD_FORM, LINK_RECORD_HEADER, Incoming, link_record
from regions.core.messages import HighWaterMark, LinkMessage
from regions.core.ports import Store
from regions.core.store import Quarantined, stable_id
from regions.runtime import quarantine
from regions.runtime.bootstrap import Region, build_region
from regions.wire import link
from tests.unit import toy_protocol as toy

A, B, STRANGER = "150600", "610800", "152900"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
STAFF = Actor("staff", "s1", A, "clerk")
GARBAGE = b"\x1b[2J\x00\xffnot a message"


def make(code: str, peer: str, store: Store, *, knows_toy: bool = True) -> Region:
    """A region; without `knows_toy` it runs an old release that lacks the toy process."""
    return build_region(RegionConfig(region=code, peers=(peer,), gap_bound_seconds=10),
                        clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store,
                        protocols={"toy": spec_of("toy", toy)} if knows_toy else {})


def ping(region: Region, n: int = 1) -> str:
    case_id = toy.new_case(A)
    outcome = region.node.submit(case_id, toy.number_of(case_id), "toy",
                                 toy.Ping(actor=STAFF, case_id=case_id, n=n, to=B, home=A), T0)
    assert outcome.ok, outcome
    return case_id


def sent(region: Region) -> list[Incoming]:
    batch = region.relay.step(T0)
    assert batch is not None
    region.relay.advance(batch, T0)
    out = [link.encode(i) for i in batch.items]
    return [Incoming(o.subject, o.data, o.headers, token=i, subject_origin=o.subject.split(".")[-1])
            for i, o in enumerate(out)]


def poison(region: Region) -> None:
    """Garbage on A's link and a well-formed mark from a region that is not a peer."""
    mark = link.encode(HighWaterMark(STRANGER, region.code, 7, T0))
    result = region.inbox.handle([
        Incoming(f"tb.v1.evt.{region.code}.{A}", GARBAGE, {}, token="junk", subject_origin=A),
        Incoming(mark.subject, mark.data, mark.headers, token="mark", subject_origin=STRANGER),
    ], T0)
    assert result.quarantined == 2 and sorted(result.ack) == ["junk", "mark"]


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def test_every_parked_message_is_listed_with_when_origin_subject_and_reason(store) -> None:
    b = make(B, A, store)
    poison(b)
    found = {e.origin: e for e in quarantine.entries(b.node.app)}
    assert set(found) == {A, STRANGER}
    assert found[A].subject == f"tb.v1.evt.{B}.{A}" and found[A].data == GARBAGE
    assert found[A].reason.startswith("wire_not_json") and found[A].state == "parked"
    assert "unknown sender region 152900" in found[STRANGER].reason
    assert all(e.parked_at == T0 for e in found.values())


def test_shown_bytes_cannot_drive_the_terminal_and_lose_nothing(store) -> None:
    b = make(B, A, store)
    poison(b)
    entry = next(e for e in quarantine.entries(b.node.app) if e.origin == A)
    detail = entry.detail()
    assert "\x1b" not in detail["data_text"] and "\x00" not in detail["data_text"]
    assert detail["data_text"].startswith("\\x1b[2J\\x00\\xff")
    import base64
    assert base64.b64decode(detail["data_base64"]) == GARBAGE  # the exact bytes, kept


def test_a_discarded_message_is_kept_with_who_and_why_and_cannot_be_settled_again(
        store) -> None:
    b = make(B, A, store)
    poison(b)
    junk = next(e for e in quarantine.entries(b.node.app) if e.origin == A)
    later = T0 + dt.timedelta(hours=1)
    done = quarantine.discard(b.node.app, junk.id, by="ops-li", reason="test traffic", now=later)
    assert done.state == "discarded" and done.data == GARBAGE
    assert done.history[-1] == (later, "discarded by ops-li: test traffic")
    assert len(quarantine.entries(b.node.app)) == 2  # nothing recorded is deleted
    with pytest.raises(quarantine.QuarantineError, match="already settled"):
        quarantine.discard(b.node.app, junk.id, by="ops-li", reason="again", now=later)
    with pytest.raises(quarantine.QuarantineError, match="already settled"):
        quarantine.replay(b, junk.id, later)
    with pytest.raises(quarantine.QuarantineError, match="a reason"):
        quarantine.discard(b.node.app, uuid.uuid4(), by="ops-li", reason=" ", now=later)


def test_a_message_an_old_release_refused_is_applied_once_by_replay_after_the_upgrade(
        store) -> None:
    a = make(A, B, store)
    old_b = make(B, A, store, knows_toy=False)
    case = ping(a)
    first = old_b.inbox.handle(sent(a), T0)
    assert first.quarantined == 1 and old_b.node.inlink_position(A) == 1  # stepped over it
    parked = quarantine.entries(old_b.node.app)
    assert [(e.origin, e.headers.get(LINK_RECORD_HEADER)) for e in parked] == [
        (A, LINK_RECORD_FORM)]
    assert "unknown_process" in parked[0].reason
    b = make(B, A, store)  # the upgraded release knows the toy process
    replayed = quarantine.replay(b, parked[0].id, T0)
    assert replayed.outcome == "applied" and replayed.entry.state == "replayed:applied"
    b.node.forget_caches()
    view = b.node.side(case)
    assert view is not None and view.state.status == "ponged"
    assert b.node.inlink_position(A) == 1  # the link was not moved again
    with pytest.raises(quarantine.QuarantineError, match="already settled"):
        quarantine.replay(b, parked[0].id, T0)


def test_replaying_a_position_the_inbox_already_applied_changes_nothing(store) -> None:
    a, b = make(A, B, store), make(B, A, store)
    ping(a)
    deliveries = sent(a)
    assert b.inbox.handle(deliveries, T0).applied == 1
    message = link.decode(deliveries[0].data)
    assert isinstance(message, LinkMessage)
    qid = stable_id("quarantine", B, "copy")
    b.node.app.save(Quarantined.park(qid, "a stray copy", "", link_record(message),
                                     {LINK_RECORD_HEADER: LINK_RECORD_FORM}, T0))
    before = b.node.app.recorder.max_notification_id()
    replayed = quarantine.replay(b, qid, T0)
    assert replayed.outcome == "already_applied"
    # Only the record's own `Replayed` event was written.
    assert b.node.app.recorder.max_notification_id() == before + 1


def test_a_replay_that_still_fails_is_recorded_and_the_record_stays_open(store) -> None:
    b = make(B, A, store)
    poison(b)
    junk = next(e for e in quarantine.entries(b.node.app) if e.origin == A)
    failed = quarantine.replay(b, junk.id, T0)
    assert failed.outcome == "failed" and failed.entry.state.startswith("replayed:failed: wire_not_json")
    assert not failed.entry.settled
    stranger = next(e for e in quarantine.entries(b.node.app) if e.origin == STRANGER)
    assert quarantine.replay(b, stranger.id, T0).outcome == "no_effect"  # a control message
    assert quarantine.discard(b.node.app, junk.id, by="ops", reason="garbage",
                              now=T0).state == "discarded"


# --------------------------------------------------------------------------- the command line


def run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["quarantine", *args, "--region", B, "--store", "sqlite",
                                      "--sqlite-dir", str(tmp_path), "--peers", A])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def sqlite_region(tmp_path: Path):
    store = SqliteStore(tmp_path)
    region = make(B, A, store)
    poison(region)
    store.close()
    return tmp_path


def test_cli_lists_shows_and_discards_on_the_nodes_store(sqlite_region: Path) -> None:
    code, out, _ = run(sqlite_region, "list", "--json")
    assert code == 0
    listed = {e["origin"]: e for e in json.loads(out)}
    assert set(listed) == {A, STRANGER} and listed[A]["reason"].startswith("wire_not_json")
    code, table, _ = run(sqlite_region, "list")
    assert code == 0 and listed[A]["id"][:12] in table and "unknown sender" in table
    code, shown, _ = run(sqlite_region, "show", listed[A]["id"][:8])
    assert code == 0 and "\\x1b[2J" in shown and "\x1b" not in shown
    code, out, _ = run(sqlite_region, "discard", listed[A]["id"], "--reason", "probe", "--by", "li")
    assert code == 0 and "discarded by li: probe" in out
    code, out, _ = run(sqlite_region, "list", "--json")
    assert {e["origin"]: e["state"] for e in json.loads(out)} == {A: "discarded",
                                                                   STRANGER: "parked"}


def test_cli_refuses_bad_input_with_a_clear_message(sqlite_region: Path) -> None:
    code, _, err = run(sqlite_region, "show", "ffffffff")
    assert code == 2 and "no quarantined message with id 'ffffffff'" in err
    code, _, err = run(sqlite_region, "discard", "ffffffff")
    assert code == 2 and "--reason" in err
    result = CliRunner().invoke(cli, ["quarantine", "list", "--region", "15060",
                                      "--store", "sqlite", "--sqlite-dir", str(sqlite_region)])
    assert result.exit_code == 2 and "6-digit" in result.stderr
    result = CliRunner().invoke(cli, ["quarantine", "list", "--region", "130700",
                                      "--store", "sqlite", "--sqlite-dir", str(sqlite_region)])
    assert result.exit_code == 2 and "no store for region 130700" in result.stderr


def test_cli_replay_refuses_while_a_node_holds_the_worker_lock(sqlite_region: Path) -> None:
    code, out, _ = run(sqlite_region, "list", "--json")
    stranger = next(e for e in json.loads(out) if e["origin"] == STRANGER)
    lock = worker_lock_for(B, SqliteStore(sqlite_region))
    assert asyncio.run(lock.acquire(asyncio.Event()))  # a running node of region B
    try:
        code, _, err = run(sqlite_region, "replay", stranger["id"])
        assert code == 1 and "stop it first" in err
    finally:
        asyncio.run(lock.release())
    code, out, _ = run(sqlite_region, "replay", stranger["id"], "--json")
    assert code == 0 and json.loads(out)["outcome"] == "no_effect"
