"""A register entry the store had none of is remembered as absent until this node writes it, and
forgotten when a unit of work that relied on it fails (`regions.core.caches.Caches`)."""

from __future__ import annotations

import datetime as dt
import uuid

from domain import registers
from regions.adapters.stores.memory import MemoryStore
from regions.core.caches import Caches
from regions.core.store import Stream
from regions.core.unit_of_work import UnitOfWork

NOW = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)


def _caches() -> Caches:
    return Caches("150600", MemoryStore().open("150600"), {}, registers, size=10)


def test_an_absent_entry_is_remembered_until_written() -> None:
    caches, rid = _caches(), uuid.uuid4()
    assert not caches.absent(rid)
    caches.no_register(rid)
    assert caches.absent(rid)
    caches.forget_absent()  # the end of a unit of work: still known absent
    assert caches.absent(rid)
    uow = UnitOfWork(NOW)
    uow.registers[rid] = Stream.open(rid, "register", {}, "RelationshipOpened", 1, {}, NOW)
    uow.register_states[rid] = "entry"
    caches.committed(uow)
    assert not caches.absent(rid)
    assert caches.register(rid) == (1, "entry")


def test_a_failed_unit_forgets_what_it_decided_on() -> None:
    caches, rid = _caches(), uuid.uuid4()
    caches.no_register(rid)
    uow = UnitOfWork(NOW)
    uow.register_states[rid] = None  # decided on the entry as absent, wrote nothing of it
    caches.dropped(uow)
    assert not caches.absent(rid)


def test_a_crash_forgets_it() -> None:
    caches, rid = _caches(), uuid.uuid4()
    caches.no_register(rid)
    caches.clear()
    assert not caches.absent(rid)
