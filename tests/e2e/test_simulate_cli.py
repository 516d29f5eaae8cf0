"""`tongban simulate` as a user runs it: seed first, reproducible, a report, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REQUIRED = ("seed", "cases", "completed", "rejected", "refused", "withdrawn", "lapsed",
            "needs_attention", "disagreements", "lost", "duplicate_effects",
            "invariant_violations", "trace_hash", "wall_seconds", "cases_per_second",
            "latency_p50_ms", "latency_p99_ms")


def simulate(*args: str, hashseed: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": hashseed, "TZ": "America/Lima" if hashseed == "1"
           else "Asia/Shanghai"}
    return subprocess.run([sys.executable, "-m", "api", "simulate", *args], capture_output=True,
                          text=True, env=env, timeout=300, check=False)


def last_json(result: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_one_seed_gives_one_trace_whatever_the_hash_seed_and_timezone() -> None:
    first = simulate("--seed", "7", "--cases", "40", "--faults", "all", "--json", hashseed="1")
    second = simulate("--seed", "7", "--cases", "40", "--faults", "all", "--json", hashseed="2")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stderr.splitlines()[0] == "seed=7"  # the seed first, beside the JSON
    a, b = last_json(first), last_json(second)
    assert a["trace_hash"] == b["trace_hash"]
    assert {k: a[k] for k in REQUIRED if "wall" not in k and "per_second" not in k} == \
        {k: b[k] for k in REQUIRED if "wall" not in k and "per_second" not in k}


def test_json_output_is_one_json_document_and_the_seed_goes_to_stderr() -> None:
    """`--json` is for programs (`| jq`): stdout holds the summary and nothing else."""
    result = simulate("--seed", "5", "--cases", "10", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["seed"] == 5
    assert "seed=5" in result.stderr.splitlines()


def test_two_seeds_give_two_traces() -> None:
    a = last_json(simulate("--seed", "7", "--cases", "20", "--json"))
    b = last_json(simulate("--seed", "8", "--cases", "20", "--json"))
    assert a["trace_hash"] != b["trace_hash"]


def test_report_directory_is_created_with_the_summary(tmp_path: Path) -> None:
    target = tmp_path / "new" / "dir"
    result = simulate("--seed", "3", "--cases", "25", "--report", str(target))
    assert result.returncode == 0, result.stderr
    summary = json.loads((target / "summary.json").read_text(encoding="utf-8"))
    assert all(key in summary for key in REQUIRED)
    assert summary["cases"] == 25 and summary["seed"] == 3


def test_a_random_seed_is_drawn_and_printed_when_none_is_given() -> None:
    result = simulate("--cases", "5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("seed=")
    int(result.stdout.splitlines()[0].removeprefix("seed="))


def test_bad_arguments_are_refused_with_a_clear_message() -> None:
    for args, needle in ((["--faults", "gremlins"], "unknown fault kind"),
                         (["--regions", "150600"], "at least two"),
                         (["--regions", "15,610800"], "6-digit"),
                         (["--cases", "0"], "--cases")):
        result = simulate(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert needle in result.stderr, (args, result.stderr)


def test_a_fault_list_in_another_order_is_the_same_schedule() -> None:
    """`--faults a,b` and `--faults b,a` name the same faults, so they run the same trace."""
    a = last_json(simulate("--seed", "7", "--cases", "40", "--faults",
                           "funds_short,clock_skew,drop,crash_after_commit", "--json"))
    b = last_json(simulate("--seed", "7", "--cases", "40", "--faults",
                           "crash_after_commit,drop,clock_skew,funds_short,drop", "--json"))
    assert a["trace_hash"] == b["trace_hash"]


def test_node_warnings_are_counted_not_printed_unless_verbose() -> None:
    """A simulation's faults make its nodes log warnings an operator would want (a deadline the
    new calendar moved); in a run of thousands of cases they drown the report, so the run counts
    them and `--verbose` prints them."""
    quiet = simulate("--seed", "1", "--cases", "30", "--faults", "calendar_install")
    loud = simulate("--seed", "1", "--cases", "30", "--faults", "calendar_install", "--verbose")
    assert quiet.returncode == 0 and loud.returncode == 0, quiet.stderr + loud.stderr
    printed = [line for line in loud.stderr.splitlines() if line.startswith("WARNING ")]
    assert any("deadline moved later" in line for line in printed)
    assert "deadline moved later" not in quiet.stderr
    assert f"{len(printed)} node warnings" in quiet.stderr
