"""`tongban bench --quick --json` on real services: one JSON line last.

Its wall time is not asserted: it takes ~30 s on a quiet 2-core machine and twice that when the
machine is shared (a timed test fails on load, not on the code); the subprocess's timeout only
catches a bench that hangs."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

import psycopg
import pytest

NUMBERS = ("cases_per_second", "latency_p50_ms", "latency_p99_ms",
           "bare_pipeline_cases_per_second", "ratio_to_bare_pipeline")
RATIOS = ("cases_per_second/pg_commits_per_second",
          "event_rows_per_second/es_batched_events_per_second",
          "published_per_second/js_publish_per_second",
          "consumed_per_second/js_fetch_ack_per_second")


def bench_schemas(dsn: str) -> set[str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tbb%'")
        return {str(row[0]) for row in rows.fetchall()}


@pytest.mark.timeout(330)
def test_the_quick_bench_runs_on_real_services_and_ends_with_its_figures_as_json(
        postgres_dsn: str) -> None:
    before = bench_schemas(postgres_dsn)
    result = subprocess.run(
        [sys.executable, "-m", "api", "bench", "--quick", "--json", "--cases", "300"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "TONGBAN_DSN": postgres_dsn})
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for key in NUMBERS:
        assert isinstance(figures[key], (int, float)) and figures[key] > 0, (key, figures[key])
    assert figures["latency_p50_ms"] <= figures["latency_p99_ms"]
    assert all(isinstance(figures["ratios"][key], float) and figures["ratios"][key] > 0
               for key in RATIOS), figures["ratios"]
    assert figures["phases"]["burst"]["completed"] >= 1
    assert figures["bare_pipeline"]["cases"] == 300  # the bound runs the burst's case count
    # bursts between bare rounds: each figure its rounds' median, the ratio the pairs' median
    pairs, bare_rounds = figures["burst_rounds"], figures["bare_pipeline"]["rounds"]
    assert len(bare_rounds) == len(pairs) + 1 >= 4
    assert all(r["cases"] == 300 for r in bare_rounds)
    assert figures["cases_per_second"] == statistics.median_high(
        p["product"]["cases_per_second"] for p in pairs)
    assert figures["bare_pipeline_cases_per_second"] == statistics.median_high(
        r["cases_per_second"] for r in bare_rounds)
    assert figures["ratio_to_bare_pipeline"] == pytest.approx(
        statistics.median(p["ratio"] for p in pairs), abs=1e-4)
    low, high = figures["ratio_to_bare_pipeline_range"]
    assert low <= figures["ratio_to_bare_pipeline"] <= high
    assert all(p[side]["other_cores_busy"] >= 0 for p in pairs for side in ("product", "bare"))
    assert figures["cpu_ratio_to_bare_pipeline"] > 0
    assert 0 <= figures["other_cores_busy"] <= os.cpu_count()  # what to read the rates by
    assert set(figures["processes"]) >= {"origin", "destination", "nats-server"}
    assert all(n > 0 for n in figures["views_applied"].values())  # the views ran: part of it
    assert "raw bounds" not in result.stdout  # with --json, the tables stay off stdout
    assert "PostgreSQL" in result.stderr  # progress goes to stderr
    prefix = next(line.split("schema prefix ")[1].strip() for line in result.stderr.splitlines()
                  if "schema prefix" in line)
    assert not {s for s in bench_schemas(postgres_dsn) - before if s.startswith(prefix)}
