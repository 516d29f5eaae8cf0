"""A subscription to the event store's notifications misses nothing committed after `subscribe`
returns (the library's recorder contract, `optional_test_insert_subscribe`).

Why: eventsourcing 9.5's `PostgresSubscription` starts a thread that takes a pooled connection
and runs LISTEN, and returns without waiting for it. A row inserted after `subscribe` returned
but before that LISTEN ran notifies no one, and the subscription waits for a notification that
never comes: the contract case hung for 300 s in the merge train's gate at 20:26 UTC
(2026-12-06), two cores at load ~10, where a thread can wait that long for its turn.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.persistence import Notification, StoredEvent

from regions.adapters.stores.sql import RegionChannelRecorder
from tests.services.postgres import PostgresService

LISTEN_DELAY_S = 1.5


@pytest.fixture
def recorder(postgres_service: PostgresService) -> Iterator[RegionChannelRecorder]:
    store = postgres_service.store()
    try:
        opened = store.open("subscribe").recorder
        assert isinstance(opened, RegionChannelRecorder)
        yield opened
    finally:
        store.close()
        store.drop_all()


def _slow_listen_thread(recorder: RegionChannelRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    """The LISTEN thread's connection comes late, as on a busy machine."""
    real = recorder.datastore.get_connection

    def late() -> Any:
        if "(_listen)" in threading.current_thread().name:
            time.sleep(LISTEN_DELAY_S)
        return real()

    monkeypatch.setattr(recorder.datastore, "get_connection", late)


def _event() -> StoredEvent:
    return StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic="t", state=b"{}")


def test_a_row_inserted_right_after_subscribe_returns_is_received(
        recorder: RegionChannelRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder.insert_events([_event()])
    start = recorder.max_notification_id()
    _slow_listen_thread(recorder, monkeypatch)
    received: list[Notification] = []
    with recorder.subscribe(gt=start) as subscription:
        time.sleep(0.5)  # the subscription's first read has found nothing by now
        inserted = _event()
        recorder.insert_events([inserted])
        reader = threading.Thread(target=lambda: received.append(next(subscription)),
                                  daemon=True)
        reader.start()
        reader.join(LISTEN_DELAY_S + 5)
    assert [n.originator_id for n in received] == [inserted.originator_id]
