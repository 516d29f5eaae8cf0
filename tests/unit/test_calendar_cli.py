"""`tongban calendar`: due dates and coverage for operators; exit 2 and one line on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()
NOTICE_2027 = {
    "year": 2027,
    "source": "test: a hypothetical 2027 notice",
    "holidays": ["2027-01-01", "2027-01-02", "2027-01-03"],
    "workdays": [],
}


def run(*args: str, env: dict[str, str | None] | None = None) -> Any:
    """Invoke `tongban calendar ...` without the node's configured holiday files."""
    return runner.invoke(app, ["calendar", *args], env={"TONGBAN_HOLIDAY_FILES": None, **(env or {})})


def run_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def notice(tmp_path: Path) -> Path:
    path = tmp_path / "cn-2027.json"
    path.write_text(json.dumps(NOTICE_2027), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- due


def test_due_from_21_december_2026_without_a_holiday_file_is_13_january_or_later() -> None:
    result = run("due", "--from", "2026-12-21", "--working-days", "15")
    assert result.exit_code == 0
    assert "due date:     2027-01-14" in result.stdout
    assert "provisional:  yes" in result.stdout
    assert "chinesecalendar-1.11.0+fallback" in result.stdout
    assert "no official holiday data from 2026-12-30" in result.stderr


def test_due_from_28_january_2027_without_a_holiday_file_is_23_february_or_later() -> None:
    data = run_json("due", "--from", "2027-01-28", "--working-days", "15")
    assert data["due_date"] >= "2027-02-23"
    assert data["provisional"] is True
    assert data["calendar_version"] == "chinesecalendar-1.11.0+fallback"


def test_due_inside_official_data_is_not_provisional() -> None:
    data = run_json("due", "--from", "2025-09-30", "--working-days", "5")
    assert data == {
        "from": "2025-09-30",
        "working_days": 5,
        "due_date": "2025-10-14",
        "due_at": "2025-10-14T16:00:00+00:00",
        "provisional": False,
        "fallback_from": None,
        "calendar_version": "chinesecalendar-1.11.0",
        "warning": "",
    }


def test_due_with_the_official_schedule_installed_is_not_provisional(notice: Path) -> None:
    data = run_json("due", "--from", "2026-12-21", "--working-days", "15",
                    "--holidays", str(notice))
    assert data["due_date"] == "2027-01-12"
    assert data["provisional"] is False
    assert data["calendar_version"].startswith("chinesecalendar-1.11.0+cn-2027.json@")


def test_due_reads_the_nodes_holiday_files_setting_without_the_option(notice: Path) -> None:
    result = run("due", "--from", "2026-12-21", "--working-days", "15", "--json",
                 env={"TONGBAN_HOLIDAY_FILES": str(notice)})
    assert json.loads(result.stdout)["provisional"] is False


# --------------------------------------------------------------------------- status


def test_status_names_the_official_years_the_fallback_and_warns_of_the_gap() -> None:
    result = run("status", "--today", "2026-12-04")
    assert result.exit_code == 0
    assert "2004–2026  official: chinesecalendar-1.11.0" in result.stdout
    assert "2027 on  fallback" in result.stdout
    assert "35 days without official data" in result.stdout
    assert result.stderr.startswith("warning: ") and "from 2026-12-30" in result.stderr


def test_status_json_lists_each_holiday_file_and_no_warning_when_covered(notice: Path) -> None:
    data = run_json("status", "--today", "2026-12-04", "--holidays", str(notice))
    years = [(span["from"], span["to"], span["source"]) for span in data["years"]]
    assert years[0] == (2004, 2026, "chinesecalendar")
    assert years[1][:2] == (2027, 2027) and years[1][2].startswith("cn-2027.json@")
    assert data["years"][1]["origin"] == "test: a hypothetical 2027 notice"
    assert years[2] == (2028, None, "fallback")
    assert data["horizon"]["days_without_official_data"] == 0
    assert data["warning"] == ""


def test_status_without_today_uses_the_current_day() -> None:
    data = run_json("status")
    assert data["horizon"]["first"] > data["today"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("due", "--from", "2027-02-30", "--working-days", "5"), "not a YYYY-MM-DD date"),
        (("due", "--from", "21/12/2026", "--working-days", "5"), "not a YYYY-MM-DD date"),
        (("due", "--from", "2026-12-21", "--working-days", "-1"), "must be 0 or more"),
        (("due", "--from", "2026-12-21", "--working-days", "ten"), "not a whole number"),
        (("due", "--from", "2026-12-21", "--working-days", "5", "--holidays", "/no/such.json"),
         "cannot read holiday file"),
        (("status", "--today", "tomorrow"), "not a YYYY-MM-DD date"),
        (("due", "--from", "2099-12-01", "--working-days", "40"), "1900–2099"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(args: tuple[str, ...], complaint: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and complaint in result.stderr
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a traceback


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("{year: 2027", "not valid JSON"),
        (json.dumps({**NOTICE_2027, "year": 2026}), "already covers"),
        (json.dumps({**NOTICE_2027, "holidays": ["2027-1-1"]}), "YYYY-MM-DD"),
        (json.dumps({**NOTICE_2027, "workdays": ["2027-01-04"]}), "already is a weekday"),
    ],
)
def test_a_malformed_holiday_file_is_one_line_naming_the_file_and_exit_2(
    tmp_path: Path, content: str, complaint: str
) -> None:
    path = tmp_path / "cn-2027.json"
    path.write_text(content, encoding="utf-8")
    for args in (("due", "--from", "2026-12-21", "--working-days", "5"), ("status",)):
        result = run(*args, "--holidays", str(path))
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1
        assert str(path) in result.stderr and complaint in result.stderr


def test_two_files_for_one_year_are_refused(notice: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**NOTICE_2027, "holidays": ["2027-01-01"]}), encoding="utf-8")
    result = run("status", "--holidays", str(notice), "--holidays", str(other))
    assert result.exit_code == 2 and "two holiday files" in result.stderr
