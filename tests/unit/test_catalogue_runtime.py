"""The catalogue and the runtime agree (issue 15 item 8): every item runs in every mode the
catalogue lists for it, `tongban catalog` says so, and a poor rating's follow-up has a deadline."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from api.cli import app as cli
from domain.catalogue import load_catalogue
from domain.protocols import PROTOCOLS
from domain.protocols.details import BY_PROTOCOL


def modes_run(process: str) -> set[str]:
    spec = PROTOCOLS.get(process)
    return set(BY_PROTOCOL.get(spec.module, {})) if spec is not None else set()


def test_every_catalogue_item_runs_in_every_mode_it_lists() -> None:
    missing = [f"{item.id} {item.process} {mode}" for item in load_catalogue().items
               for mode in item.modes if mode not in modes_run(item.process)]
    assert missing == []


def test_the_simulator_can_start_a_case_of_every_item_in_every_mode() -> None:
    from simulations.workload import BUILDERS, runnable

    items = load_catalogue().items
    assert sorted({i.process for i in items} - set(BUILDERS)) == []
    assert [i.id for i in items if not runnable(i)] == []


def test_catalog_list_shows_the_process_each_item_runs_and_whether_it_is_runnable() -> None:
    result = CliRunner().invoke(cli, ["catalog", "list", "--json"],
                                env={"TONGBAN_MATERIALS": None, "TONGBAN_REGION": None})
    assert result.exit_code == 0, result.stderr
    entries = json.loads(result.stdout)
    assert len(entries) == 138
    for entry in entries:
        assert entry["runs"]["process"] == entry["process"]
        assert entry["runs"]["modes"] == entry["modes"]
        assert entry["runs"]["runnable"] is True, entry["id"]
    table = CliRunner().invoke(cli, ["catalog", "list"],
                               env={"TONGBAN_MATERIALS": None, "TONGBAN_REGION": None})
    assert "138 of 138 runnable" in table.stdout


def test_catalog_show_names_the_competent_level_of_a_proxy_item() -> None:
    env = {"TONGBAN_MATERIALS": None, "TONGBAN_REGION": None}
    shown = CliRunner().invoke(cli, ["catalog", "show", "b1-55", "--json"], env=env)
    assert json.loads(shown.stdout)["level"] == "province"
    table = CliRunner().invoke(cli, ["catalog", "show", "b2-43"], env=env)
    assert "prefecture" in table.stdout
