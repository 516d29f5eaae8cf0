"""Applicant notifications (补正 needed, decided, completed) from the region's log: every notice
goes out once, none is lost, across a crash before the send and a crash between the send and
the cursor (the port drops what it already sent: regions.adapters.notify_log)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from pathlib import Path

from domain.kernel import Actor
from domain.protocols.application_events import Approve, DeliverResult
from domain.protocols.intake import AcceptIntake, ProvideSupplement, RequestSupplement
from regions.adapters.notify_log import LogNotifier, read_sent
from regions.adapters.stores.memory import MemoryStore
from regions.core.config import RegionConfig
from regions.core.notifications import NotificationTailer
from regions.core.tailer import MemoryCursor
from regions.runtime.bootstrap import Region, build_region
from tests.unit.test_application import NUMBER, T0, WINDOW, doc, submit

HOME = "150600"
CASE = str(NUMBER.case_id)
OFFICER = Actor("staff", "dept-1", HOME, "审批", "")


def region(store: MemoryStore) -> Region:
    return build_region(RegionConfig(region=HOME, peers=("610800",), gap_bound_seconds=10),
                        clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store)


def walk(home: Region) -> None:
    """A local application: 补正, supplied, accepted, approved, the result handed over."""
    command = dataclasses.replace(submit(mode="local"), channel="window")
    assert home.node.submit(CASE, str(NUMBER), "single_region_approval", command, T0).ok
    later = T0 + dt.timedelta(hours=1)
    for step in (RequestSupplement(actor=WINDOW, missing_kinds=("身份证",)),
                 ProvideSupplement(actor=WINDOW, materials=(doc("身份证"),)),
                 AcceptIntake(actor=WINDOW), Approve(actor=OFFICER),
                 DeliverResult(actor=WINDOW, channel="post", tracking_no="EMS1")):
        outcome = home.node.command(CASE, step, later)
        assert outcome.ok, (step, outcome)


def kinds(path: Path) -> list[tuple[str, str]]:
    return [(e["kind"], e["event_type"]) for e in read_sent(path)]


def test_the_applicant_is_told_of_the_supplement_the_decision_and_the_completion(
        tmp_path: Path) -> None:
    home = region(MemoryStore())
    walk(home)
    tailer, port = NotificationTailer(HOME, home.node.app), LogNotifier(tmp_path / "n.jsonl")
    while (batch := tailer.step(T0)) is not None:
        port.send(batch.items)
        tailer.advance(batch, T0)
    told = kinds(tmp_path / "n.jsonl")
    assert [k for k, _ in told] == ["supplement_needed", "decided", "completed"], told
    [asked] = [e for e in read_sent(tmp_path / "n.jsonl") if e["kind"] == "supplement_needed"]
    assert asked["case_number"] == str(NUMBER) and asked["detail"]["missing_kinds"] == ["身份证"]
    sent = json.dumps(list(read_sent(tmp_path / "n.jsonl")), ensure_ascii=False)
    assert "001X" not in sent and "b2b2b2" not in sent  # no person data


def test_a_crash_between_send_and_cursor_sends_nothing_twice_and_loses_nothing(
        tmp_path: Path) -> None:
    store, file = MemoryStore(), tmp_path / "n.jsonl"
    walk(region(store))
    first = NotificationTailer(HOME, region(store).node.app)
    batch = first.step(T0)
    assert batch is not None and len(batch.items) == 3
    LogNotifier(file).send(batch.items[:2])      # two went out ... and the process died:
    with file.open("a", encoding="utf-8") as torn:  # the third line cut short, no advance
        torn.write('{"notice_id": "150600:9')
    again = NotificationTailer(HOME, region(store).node.app, batch_size=2)
    port = LogNotifier(file)                     # the restarted node
    resent = 0
    while (batch := again.step(T0)) is not None:
        resent += port.send(batch.items)
        again.advance(batch, T0)
    ids = [e["notice_id"] for e in read_sent(file)]
    assert resent == 1 and len(ids) == len(set(ids)) == 3
    assert NotificationTailer(HOME, region(store).node.app).step(T0) is None  # cursor saved
    assert LogNotifier(file).send(NotificationTailer(  # a lost cursor store re-reads all ...
        HOME, region(store).node.app, cursor=MemoryCursor()).step(T0).items) == 0  # type: ignore[union-attr]
