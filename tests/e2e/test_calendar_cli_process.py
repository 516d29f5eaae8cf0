"""`tongban calendar` run as a process with no holiday file (issue 15's acceptance): the due dates
past the package's data are never earlier than the official schedule can make them."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def calendar(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TONGBAN_HOLIDAY_FILES"}
    return subprocess.run([sys.executable, "-m", "api", "calendar", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def due(start: str) -> dict:
    result = calendar("due", "--from", start, "--working-days", "15", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_fifteen_working_days_from_21_december_2026_end_on_13_january_or_later() -> None:
    data = due("2026-12-21")  # 元旦 is no working day: 2027-01-12 would be early
    assert data["due_date"] >= "2027-01-13" and data["provisional"] is True


def test_fifteen_working_days_from_28_january_2027_end_on_23_february_or_later() -> None:
    data = due("2027-01-28")  # across 春节
    assert data["due_date"] >= "2027-02-23" and data["provisional"] is True


def test_status_names_the_official_years_and_the_fallback() -> None:
    result = calendar("status", "--today", "2026-12-05", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"from": 2004, "to": 2026, "source": "chinesecalendar", "origin": None} in data["years"]
    assert {"from": 2027, "to": None, "source": "fallback", "origin": None} in data["years"]
    assert data["horizon"]["first_without_official_data"] == "2026-12-30"
    assert "install the year's official schedule" in data["warning"]
