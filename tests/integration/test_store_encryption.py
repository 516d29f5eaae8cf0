"""A durable store with a cipher key keeps ciphertext only, reads it back, and rotates keys.

Against SQLite and PostgreSQL: a node with `cipher_key` takes an application through its command
service; the database's rows hold no readable domain content (the masked ID number, the item, the
event type); a node reopened on the same store reads the case back; a node with the new key
first and the old one kept reads the old records and writes new ones; one without the old key
cannot read them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from regions.adapters.stores.sql import PostgresStore, SqliteStore
from regions.core.commands import CommandService
from regions.core.config import RegionConfig
from regions.runtime.bootstrap import Region, build_region
from regions.wire.commands import decode_request
from tests.services.postgres import PostgresService

HERE, ORIGIN = "150600", "610800"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
NUMBER = "150600-20260302-0000000009"
OLD, NEW = (base64.b64encode(bytes([n]) * 32).decode() for n in (1, 2))
REQUEST = json.dumps({
    "command_id": "s-1", "case_id": None, "case_number": NUMBER,
    "process": "pension_transfer",
    "command": {"type": "Submit", "actor": {"kind": "staff", "id": "0451", "region": HERE},
                "case_number": NUMBER, "item_id": "b1-7", "process": "pension_transfer",
                "mode": "joint", "applicant_id": "110101196504157795", "channel": "window",
                "details": {"origins": [ORIGIN]}}}).encode()
AnyStore = SqliteStore | PostgresStore


@pytest.fixture(params=["sqlite", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest,
               ) -> Iterator[Any]:
    made: list[AnyStore] = []
    prefix: list[str] = []

    def make(cipher_key: str) -> AnyStore:
        store: AnyStore
        if kind == "sqlite":
            store = SqliteStore(tmp_path / "stores", cipher_key=cipher_key)
        else:
            service: PostgresService = request.getfixturevalue("postgres_service")
            prefix[:] = prefix or [service.new_prefix()]
            store = PostgresStore(service.dsn, schema_prefix=prefix[0], cipher_key=cipher_key)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
    if made and isinstance(made[0], PostgresStore):
        made[0].drop_all()


def node(store: AnyStore, cipher_key: str) -> Region:
    config = RegionConfig(region=HERE, peers=(ORIGIN,), cipher_key=cipher_key, development=True)
    return build_region(config, clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store)


def raw_rows(store: AnyStore) -> bytes:
    """Every stored event's state as the database holds it."""
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path_for(HERE)) as conn:
            rows = conn.execute("SELECT state FROM stored_events").fetchall()
    else:
        with psycopg.connect(store.dsn) as pg:
            rows = pg.execute(f'SELECT state FROM "{store.schema_for(HERE)}".ledger_events'
                              ).fetchall()
    assert rows
    return b"".join(bytes(row[0]) for row in rows)


def case_id() -> str:
    from domain.values import CaseNumber

    return str(CaseNumber.parse(NUMBER).case_id)


def test_an_encrypted_store_holds_ciphertext_and_reads_it_back(make_store: Any) -> None:
    store = make_store(OLD)
    region = node(store, OLD)
    assert CommandService(region.node).handle(decode_request(REQUEST, "backend:window"), T0).ok
    stored = raw_rows(store)
    for clear in (b"ApplicationSubmitted", b"b1-7", b"1101**********7795", b"pension"):
        assert clear not in stored, clear
    again = node(make_store(OLD), OLD)
    view = again.node.side(case_id())
    assert view is not None and view.state.intake.submitted.item_id == "b1-7"


def test_a_key_rotates_by_putting_the_new_one_first(make_store: Any) -> None:
    region = node(make_store(OLD), OLD)
    assert CommandService(region.node).handle(decode_request(REQUEST, "backend:window"), T0).ok
    rotated = node(make_store(f"{NEW},{OLD}"), f"{NEW},{OLD}")
    accept = json.dumps({"command_id": "a-1", "case_id": case_id(),
                         "command": {"type": "AcceptIntake", "actor": {
                             "kind": "staff", "id": "0451", "region": HERE}}}).encode()
    accepted = CommandService(rotated.node).handle(decode_request(accept, "backend:window"), T0)
    assert accepted.ok, accepted
    # the new records read with the new key alone; the old ones need the old key
    newest = make_store(NEW).open(HERE)
    side = rotated.node.side(case_id())
    assert side is not None
    with pytest.raises(ValueError, match="no key of the ring"):
        newest.repository.get(side.side_id)
