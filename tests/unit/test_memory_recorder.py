"""The memory store's recorder (`regions.adapters.stores.memory.MemoryRecorder`) answers as
eventsourcing's POPO recorder does: the same notification ids, the same rows and notifications
for every selection, the same `IntegrityError`s — it only trims Python per row."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder

from regions.adapters.stores.memory import MemoryRecorder

TOPICS = ("a:One", "a:Two", "b:Three")


def _row(stream: uuid.UUID | str, version: int, topic: str) -> StoredEvent:
    return StoredEvent(originator_id=stream, originator_version=version, topic=topic,
                       state=f"{stream}/{version}".encode())


def _both() -> tuple[POPOApplicationRecorder, MemoryRecorder]:
    return POPOApplicationRecorder(), MemoryRecorder()


def test_writes_and_every_selection_match_the_library() -> None:
    rng = random.Random(17)
    library, ours = _both()
    streams = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(6)]
    versions = dict.fromkeys(streams, 0)
    for _ in range(60):
        batch = []
        for stream in rng.sample(streams, rng.randint(1, 3)):
            for _ in range(rng.randint(1, 3)):
                versions[stream] += 1
                batch.append(_row(stream, versions[stream], rng.choice(TOPICS)))
        assert ours.insert_events(batch) == library.insert_events(batch)
    assert ours.max_notification_id() == library.max_notification_id()
    for start in (None, -3, 0, 1, 2, 7, 40, 500):
        for limit in (-1, 0, 1, 5, 1000):
            for stop in (None, 0, 3, 90, 1000):
                for topics in ((), ("a:Two",), ("b:Three", "a:One"), ("a:Two", "a:Two"),
                               ("a:nothing",), ("a:nothing", "a:One")):
                    for inclusive in (True, False):
                        kwargs: dict[str, Any] = {
                            "stop": stop, "topics": topics, "inclusive_of_start": inclusive}
                        assert ours.select_notifications(start, limit, **kwargs) == \
                            library.select_notifications(start, limit, **kwargs)
    for stream in [*streams, uuid.uuid4()]:
        for key in (stream, str(stream)):
            for gt in (None, 0, 2):
                for lte in (None, 1, 4):
                    for desc in (False, True):
                        for most in (None, 1, 2):
                            options: dict[str, Any] = {"gt": gt, "lte": lte, "desc": desc,
                                                       "limit": most}
                            assert ours.select_events(key, **options) == \
                                library.select_events(key, **options)


def test_a_version_written_twice_is_refused_and_nothing_of_the_batch_is_kept() -> None:
    stream = uuid.uuid4()
    for recorder in _both():
        recorder.insert_events([_row(stream, 1, "a:One")])
        with pytest.raises(IntegrityError):
            recorder.insert_events([_row(stream, 2, "a:One"), _row(stream, 1, "a:One")])
        with pytest.raises(IntegrityError):
            recorder.insert_events([_row(stream, 2, "a:One"), _row(stream, 2, "a:Two")])
        # the same stream named by its string is the same stream
        with pytest.raises(IntegrityError):
            recorder.insert_events([_row(str(stream), 1, "a:One")])
        assert recorder.max_notification_id() == 1
        assert [s.originator_version for s in recorder.select_events(stream)] == [1]


def test_an_id_that_is_no_uuid_is_a_stream_of_its_own() -> None:
    library, ours = _both()
    for recorder in (library, ours):
        recorder.insert_events([_row("not-a-uuid", 1, "a:One")])
    assert ours.select_events("not-a-uuid") == library.select_events("not-a-uuid")
    assert ours.select_events(uuid.uuid4()) == []
