"""`tongban catalog`: tables for people, JSON for scripts, exit 2 on bad input."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()
SAMPLE = str(resources.files("domain.catalogue").joinpath("materials.sample.json"))
REQUIRED_KEYS = {"batch", "seq", "name", "scenario", "lead_unit", "co_units", "modes", "process"}


def run(*args: str) -> Any:
    """Invoke `tongban catalog ...` with the operator's environment defaults cleared."""
    return runner.invoke(app, ["catalog", *args],
                         env={"TONGBAN_MATERIALS": None, "TONGBAN_REGION": None})


def run_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_list_prints_a_table_of_all_138_items() -> None:
    result = run("list")
    assert result.exit_code == 0
    assert "138 items" in result.stdout
    for item_id in ("b1-1", "b1-58", "b2-72", "b3-8"):
        assert item_id in result.stdout
    assert "pension_transfer" in result.stdout


def test_list_json_carries_the_entries_without_raw_cells() -> None:
    entries = run_json("list")
    assert len(entries) == 138
    assert all(set(e) >= REQUIRED_KEYS and "raw" not in e for e in entries)
    first = entries[0]
    assert (first["batch"], first["seq"], first["name"]) == (1, 1, "学历公证")
    assert first["co_units"] == ["自治区教育厅"]


def test_list_json_keeps_chinese_text_unescaped() -> None:
    result = run("list", "--batch", "3", "--json")
    assert "新生儿入户" in result.stdout
    assert "\\u" not in result.stdout


def test_list_filters_by_batch_mode_and_process() -> None:
    assert [e["id"] for e in run_json("list", "--batch", "3")] == [f"b3-{n}" for n in range(1, 9)]
    joint = run_json("list", "--mode", "joint")
    assert all("joint" in e["modes"] for e in joint)
    assert {"b1-7", "b2-3", "b2-60"} <= {e["id"] for e in joint}
    moves = run_json("list", "--process", "household_move", "--batch", "2")
    assert [e["id"] for e in moves] == [f"b2-{n}" for n in range(3, 8)]


def test_search_finds_housing_fund_items_as_json_and_as_a_table() -> None:
    found = run_json("search", "公积金")
    assert [e["id"] for e in found] == [
        "b1-25", "b1-26", "b1-27", "b2-43", "b2-44", "b2-45", "b2-46", "b2-47"]
    table = run("search", "户口")
    assert table.exit_code == 0
    assert "b2-3" in table.stdout and "household_move" in table.stdout


def test_search_without_hits_prints_an_empty_list() -> None:
    assert run_json("search", "宠物") == []


def test_show_gives_limits_basis_and_an_unconfigured_materials_guide() -> None:
    result = run("show", "b1-7")
    assert result.exit_code == 0
    for text in ("企业职工基本养老保险关系转移接续", "pension_transfer", "15 working",
                 "contact_letter", "转入地", "not configured"):
        assert text in result.stdout
    shown = run_json("show", "b1-7")
    assert [limit["days"] for limit in shown["limits"]] == [15, 15, 15]
    assert shown["raw"]["name"] == "企业职工基本养老保险关系转移接续"
    assert shown["materials"] == {"item": "b1-7", "configured": False, "message": "not configured"}


def test_show_lists_the_corrections_of_an_entry() -> None:
    result = run("show", "b3-7")
    assert result.exit_code == 0
    assert "correction" in result.stdout and "自治区医保局" in result.stdout
    assert run_json("show", "b3-7")["co_units"] == ["自治区医保局"]


def test_show_accepts_an_exact_item_name() -> None:
    assert run_json("show", "失业保险关系转移接续")["id"] == "b2-16"


def test_show_with_a_materials_file_prints_the_regions_guide() -> None:
    result = run("show", "b1-7", "--materials", SAMPLE)
    assert result.exit_code == 0
    assert "SAMPLE" in result.stdout and "居民身份证" in result.stdout
    guide = run_json("show", "b1-7", "--materials", SAMPLE, "--region", "610800")["materials"]
    assert guide["sample"] is True
    assert [r["region"] for r in guide["regions"]] == ["610800"]
    unconfigured = run_json("show", "b1-1", "--materials", SAMPLE)["materials"]
    assert unconfigured["message"] == "not configured"


def test_the_materials_file_and_region_can_come_from_the_environment() -> None:
    result = runner.invoke(app, ["catalog", "show", "b1-7", "--json"],
                           env={"TONGBAN_MATERIALS": SAMPLE, "TONGBAN_REGION": "150600"})
    assert result.exit_code == 0, result.stderr
    guide = json.loads(result.stdout)["materials"]
    assert [r["region"] for r in guide["regions"]] == ["150600"]


@pytest.mark.parametrize(("args", "message"), [
    (("list", "--batch", "4"), "unknown batch 4"),
    (("list", "--mode", "teleport"), "unknown mode 'teleport'"),
    (("list", "--process", "alchemy"), "unknown process 'alchemy'"),
    (("show", "b9-9"), "unknown item 'b9-9'"),
    (("show", "b1-7", "--region", "15"), "6-digit region code"),
    (("search", "  "), "search text is empty"),
])
def test_bad_arguments_exit_2_with_a_message_on_stderr(args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_unreadable_or_malformed_materials_files_exit_2(tmp_path: Path) -> None:
    missing = run("show", "b1-7", "--materials", str(tmp_path / "none.json"))
    assert missing.exit_code == 2 and "cannot read materials file" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"format": "tongban.materials/1", "regions": {
        "150600": {"name": "鄂尔多斯市", "items": {"b1-7": {"fee_fen": "free"}}}}}),
        encoding="utf-8")
    refused = run("show", "b1-7", "--materials", str(broken))
    assert refused.exit_code == 2
    assert "150600" in refused.stderr and "'fee_fen'" in refused.stderr
