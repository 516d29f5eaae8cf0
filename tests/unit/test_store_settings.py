"""How the stores configure eventsourcing: pure mapping rules, checked without a database."""

from __future__ import annotations

from pathlib import Path

import pytest
from eventsourcing.utils import Environment

from regions.adapters.stores.memory import MemoryStore
from regions.adapters.stores.setup import store_for
from regions.adapters.stores.sql import (
    ConnectionTarget,
    PostgresStore,
    SqliteStore,
    StoreConfigError,
    parse_dsn,
    postgres_settings,
    region_channel,
)
from regions.core.config import RegionConfig
from regions.core.store import EventStore

TARGET = ConnectionTarget(host="127.0.0.1", port=5432, dbname="test", user="postgres", password="")


def settings(**overrides: object) -> dict[str, str]:
    args: dict[str, object] = {"schema": "tb_150600", "pool_size": 2, "max_overflow": 3,
                               "lock_timeout_s": 5, "connect_timeout_s": 10, **overrides}
    return postgres_settings(TARGET, **args)  # type: ignore[arg-type]


def as_library_sees_it(process_env: dict[str, str], given: dict[str, str]) -> Environment:
    """The merge `Application.construct_env` does: class env < os.environ < constructor env."""
    return Environment(EventStore.name, {**process_env, **given})


def test_a_libpq_url_and_a_keyword_dsn_name_the_same_server() -> None:
    url = parse_dsn("postgresql://postgres:secret@db.example:5433/ledger?connect_timeout=4")
    keywords = parse_dsn("host=db.example port=5433 dbname=ledger user=postgres "
                         "password=secret connect_timeout=4")

    assert url == keywords == {"host": "db.example", "port": "5433", "dbname": "ledger",
                               "user": "postgres", "password": "secret", "connect_timeout": "4"}


def test_dsn_parameters_the_librarys_pool_would_drop_are_refused() -> None:
    with pytest.raises(StoreConfigError, match="sslmode") as refused:
        parse_dsn("postgresql://postgres@db.example/ledger?sslmode=require")

    assert refused.value.code == "invalid_store_config"


def test_a_malformed_dsn_is_refused_with_the_store_error() -> None:
    with pytest.raises(StoreConfigError):
        parse_dsn("host=db.example dbname")
    with pytest.raises(StoreConfigError, match="connect_timeout"):
        parse_dsn("host=db.example connect_timeout=soon")


def test_the_dsns_connect_timeout_is_the_one_the_store_uses_and_zero_is_refused() -> None:
    assert PostgresStore("postgresql://postgres@h/test?connect_timeout=4").connect_timeout_s == 4
    assert PostgresStore("postgresql://postgres@h/test").connect_timeout_s == 10
    with pytest.raises(StoreConfigError, match="connect timeout"):
        PostgresStore("postgresql://postgres@h/test?connect_timeout=0")  # libpq: wait forever


def test_the_ledger_always_gets_small_pools_a_lock_timeout_and_no_db_functions() -> None:
    env = as_library_sees_it(
        {"POSTGRES_ENABLE_DB_FUNCTIONS": "y", "LEDGER_POSTGRES_ENABLE_DB_FUNCTIONS": "y",
         "POSTGRES_POOL_SIZE": "20", "APPLICATION_RECORDER_TOPIC": "elsewhere:Recorder"},
        settings())

    assert env.get("POSTGRES_ENABLE_DB_FUNCTIONS") == "n"
    assert (env.get("POSTGRES_POOL_SIZE"), env.get("POSTGRES_MAX_OVERFLOW")) == ("2", "3")
    assert env.get("POSTGRES_LOCK_TIMEOUT") == "5"
    assert env.get("POSTGRES_SCHEMA") == "tb_150600"
    assert env.get("APPLICATION_RECORDER_TOPIC") == "regions.adapters.stores.sql:RegionChannelRecorder"
    assert (env.get("POSTGRES_HOST"), env.get("POSTGRES_PORT"), env.get("POSTGRES_PASSWORD")) == (
        "127.0.0.1", "5432", "")


@pytest.mark.parametrize("bad", [{"pool_size": 0}, {"max_overflow": -1}, {"lock_timeout_s": 0},
                                 {"connect_timeout_s": 0}])
def test_pool_and_timeout_settings_that_would_hang_or_starve_are_refused(
        bad: dict[str, int]) -> None:
    with pytest.raises(StoreConfigError):
        settings(**bad)


def test_each_region_notifies_on_its_own_channel_within_the_identifier_limit() -> None:
    assert region_channel("tb_150600") == "tb_150600_ledger_events"
    assert region_channel("tb_150600") != region_channel("tb_610800")
    with pytest.raises(StoreConfigError, match="too long"):
        settings(schema="s" * 50)


@pytest.mark.parametrize("region", ["../etc", "150600.sqlite", "Region", "", "x" * 41, "a-b"])
def test_region_names_that_are_not_safe_file_or_schema_names_are_refused(region: str) -> None:
    with pytest.raises(StoreConfigError):
        SqliteStore("/nonexistent").path_for(region)
    with pytest.raises(StoreConfigError):
        PostgresStore("postgresql://postgres@127.0.0.1/test").schema_for(region)


def test_each_sqlite_region_gets_its_own_file_because_table_names_ignore_the_app(
        tmp_path: Path) -> None:
    store = SqliteStore(tmp_path, lock_timeout_s=7)
    here, there = store.settings_for("150600"), store.settings_for("610800")

    assert here["LEDGER_SQLITE_DBNAME"] == str(tmp_path / "150600.sqlite")
    assert there["LEDGER_SQLITE_DBNAME"] == str(tmp_path / "610800.sqlite")
    assert as_library_sees_it({"SQLITE_LOCK_TIMEOUT": "0"}, here).get("SQLITE_LOCK_TIMEOUT") == "7"


def test_postgres_schema_names_come_from_the_prefix_unless_one_is_configured() -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1/test", schema_prefix="tb_",
                          schema_names={"150100": "huhhot"})

    assert store.schema_for("150600") == "tb_150600"
    assert store.schema_for("150100") == "huhhot"
    with pytest.raises(StoreConfigError):
        PostgresStore("postgresql://postgres@127.0.0.1/test", schema_prefix="Tb-")


def test_node_settings_choose_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TONGBAN_DSN", "TONGBAN_SCHEMA", "TONGBAN_SQLITE_DIR", "TONGBAN_STORE"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(store_for(RegionConfig(region="150600")), MemoryStore)
    sqlite = store_for(RegionConfig(region="150600", store="sqlite", sqlite_dir=Path("/d")))
    assert isinstance(sqlite, SqliteStore) and sqlite.directory == Path("/d")
    postgres = store_for(RegionConfig(region="150600", store="postgres",
                                      dsn="postgresql://postgres@127.0.0.1/test"))
    assert isinstance(postgres, PostgresStore) and postgres.schema_for("150600") == "tb_150600"
    with pytest.raises(StoreConfigError, match="dsn"):
        store_for(RegionConfig(region="150600", store="postgres"))
