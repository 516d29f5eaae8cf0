"""A test run cleans up after runs that were killed, and never after runs still going."""

from __future__ import annotations

import psycopg
from psycopg import sql

from tests.services.postgres import PostgresService


def schemas(dsn: str, prefix: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) "
                            "ORDER BY 1", (prefix,)).fetchall()
    return [str(row[0]) for row in rows]


def test_a_new_run_drops_the_schemas_of_dead_runs_but_not_of_live_ones(
        postgres_service: PostgresService) -> None:
    dsn = postgres_service.dsn
    live = PostgresService(dsn, "test")  # a concurrent run: it holds its run lock
    dead = "tbt0badc0de_"                # a killed run: its lock died with its connection
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for schema in (f"{dead}1_150600", f"{live.run_prefix}1_150600"):
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))

        newcomer = PostgresService(dsn, "test")
        newcomer.close()

        assert newcomer.swept == [f"{dead}1_150600"]
        assert schemas(dsn, dead) == []
        assert schemas(dsn, live.run_prefix) == [f"{live.run_prefix}1_150600"]
    finally:
        live.close()
    assert schemas(dsn, live.run_prefix) == []
