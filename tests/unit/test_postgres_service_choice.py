"""Which PostgreSQL the integration tests pick, and when a missing one fails instead of skipping."""

from __future__ import annotations

from tests.services.postgres import MACHINE_DSN, must_not_skip, named_dsns


def test_the_test_dsn_comes_before_the_node_dsn_and_the_machines_server_comes_last() -> None:
    both = {"TONGBAN_TEST_DSN": "postgresql://t@h/test", "TONGBAN_DSN": "postgresql://n@h/db"}

    assert named_dsns(both) == ["postgresql://t@h/test", MACHINE_DSN]
    assert named_dsns({"TONGBAN_DSN": "postgresql://n@h/db"}) == ["postgresql://n@h/db",
                                                                  MACHINE_DSN]
    assert named_dsns({}) == [MACHINE_DSN]


def test_embedded_as_the_test_dsn_goes_straight_to_a_throwaway_server() -> None:
    assert named_dsns({"TONGBAN_TEST_DSN": "embedded", "TONGBAN_DSN": "postgresql://n@h/db"}) == []


def test_a_missing_postgres_fails_the_run_only_in_ci() -> None:
    assert must_not_skip({"CI": "true"}) and must_not_skip({"CI": "1"})
    assert not must_not_skip({}) and not must_not_skip({"CI": "false"})
