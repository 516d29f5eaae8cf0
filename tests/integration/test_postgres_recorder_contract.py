"""The library's own recorder test cases, run against the recorders our PostgreSQL store builds.

Why: `PostgresStore` configures eventsourcing (schema per region, region NOTIFY channel, small
pool, lock timeout, DB functions off). The shipped cases in `eventsourcing.tests.persistence`
are the library's definition of a correct recorder; running them on our configuration checks
that none of it breaks inserts, notification order, subscriptions or tracking. Views share the
event store's datastore, so the tracking and process cases run on that datastore too.

The throughput cases (`test_performance`, `test_concurrent_*`, 100,000 events) are left out to
keep the suite quick. The module needs `pycryptodome` (the shipped cases import
`eventsourcing.cipher`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import (
    PostgresDatastore,
    PostgresProcessRecorder,
    PostgresTrackingRecorder,
)
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)

from regions.adapters.stores.sql import PostgresStore, RegionChannelRecorder, datastore_of

_regions = itertools.count(1)


def fresh_store_recorder(store: PostgresStore) -> RegionChannelRecorder:
    """The recorder of a new region's event store (empty schema), exactly as a node gets it."""
    recorder = store.open(f"contract{next(_regions)}").recorder
    assert isinstance(recorder, RegionChannelRecorder)
    return recorder


def fresh_view_datastore(store: PostgresStore) -> PostgresDatastore:
    datastore = datastore_of(store.open(f"contract{next(_regions)}"))
    assert isinstance(datastore, PostgresDatastore)
    return datastore


class EventStoreRecorderCase(ApplicationRecorderTestCase[ApplicationRecorder]):
    __test__ = False
    EXPECT_CONTIGUOUS_NOTIFICATION_IDS = False  # a rolled-back insert burns a sequence value
    store: PostgresStore

    def create_recorder(self) -> ApplicationRecorder:
        return fresh_store_recorder(self.store)


class EventStoreNonInterleavingCase(NonInterleavingNotificationIDsBaseCase):
    __test__ = False
    store: PostgresStore

    def create_recorder(self) -> ApplicationRecorder:
        return fresh_store_recorder(self.store)


class ViewTrackingCase(TrackingRecorderTestCase):
    __test__ = False
    store: PostgresStore

    def create_recorder(self) -> PostgresTrackingRecorder:
        recorder = PostgresTrackingRecorder(fresh_view_datastore(self.store),
                                            tracking_table_name="view_tracking")
        recorder.create_table()
        return recorder


class ViewProcessCase(ProcessRecorderTestCase):
    __test__ = False
    store: PostgresStore

    def create_recorder(self) -> PostgresProcessRecorder:
        recorder = PostgresProcessRecorder(fresh_view_datastore(self.store),
                                           events_table_name="view_events",
                                           tracking_table_name="view_tracking")
        recorder.create_table()
        return recorder


CASES: dict[str, tuple[type, str, Callable[..., None]]] = {
    "event store insert/select": (EventStoreRecorderCase, "test_insert_select",
                             EventStoreRecorderCase.test_insert_select),
    "event store subscribe": (EventStoreRecorderCase, "test_insert_select",
                         EventStoreRecorderCase.optional_test_insert_subscribe),
    "event store ids never interleave": (EventStoreNonInterleavingCase, "test",
                                    EventStoreNonInterleavingCase.test),
    "view tracking": (ViewTrackingCase, "test_insert_tracking",
                      ViewTrackingCase.test_insert_tracking),
    "view tracking wait": (ViewTrackingCase, "test_wait", ViewTrackingCase.test_wait),
    "process insert/select": (ViewProcessCase, "test_insert_select",
                              ViewProcessCase.test_insert_select),
    "process has tracking id": (ViewProcessCase, "test_has_tracking_id",
                                ViewProcessCase.test_has_tracking_id),
    "process refuses a lower tracking id": (ViewProcessCase,
                                            "test_raises_when_lower_inserted_later",
                                            ViewProcessCase.test_raises_when_lower_inserted_later),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_our_postgres_recorders_pass_the_librarys_recorder_cases(
        name: str, postgres_store: PostgresStore) -> None:
    case_class, method_name, method = CASES[name]
    case = case_class(method_name)
    case.store = postgres_store
    method(case)
