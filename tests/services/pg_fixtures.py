"""pytest plugin: PostgreSQL fixtures for integration tests (`pytest_plugins` lists this module).

- `postgres_service` (session): the run's server and schema prefix (see `tests/services/postgres`);
  skipped when no server can be had, except with `CI=true`, where that fails the run.
- `postgres_dsn` (session): its DSN, for tests that build their own stores.
- `postgres_store` (function): a `PostgresStore` under a prefix of its own, every schema it
  created dropped afterwards, so tests never see each other's regions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from regions.adapters.stores.sql import PostgresStore
from tests.services.postgres import PostgresService, PostgresUnavailable, acquire, must_not_skip


@pytest.fixture(scope="session")
def postgres_service() -> Iterator[PostgresService]:
    try:
        service = acquire()
    except PostgresUnavailable as exc:
        if must_not_skip(os.environ):
            pytest.fail(f"PostgreSQL is required with CI=true: {exc}", pytrace=False)
        pytest.skip(f"no PostgreSQL: {exc}")
    try:
        yield service
    finally:
        service.close()


@pytest.fixture(scope="session")
def postgres_dsn(postgres_service: PostgresService) -> str:
    return postgres_service.dsn


@pytest.fixture
def postgres_store(postgres_service: PostgresService) -> Iterator[PostgresStore]:
    store = postgres_service.store()
    try:
        yield store
    finally:
        store.close()
        store.drop_all()
