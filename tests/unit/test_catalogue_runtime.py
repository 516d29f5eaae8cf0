"""The catalogue and the runtime agree (issue 15 item 8): every item runs in every mode the
catalogue lists for it, `tongban catalog` says so, and a poor rating's follow-up has a deadline."""

from __future__ import annotations

import json

import pytest
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


def test_every_item_is_refused_under_any_other_process_or_mode_naming_what_it_allows() -> None:
    """Issue 15 item 8 as a rule over the whole catalogue, not examples: each of the 138 items
    is admitted only with its own process and in a mode it lists; anything else is refused
    with a code and field, and the message names the item and what it allows (b1-7 as a
    `registration`, b1-26 online...)."""
    from domain.catalogue.model import MODES
    from domain.kernel import Actor
    from domain.protocols.intake import Submit
    from regions.core.admission import check_item
    from regions.core.errors import InvalidRequest

    catalogue = load_catalogue()
    processes = sorted({i.process for i in catalogue.items})
    wrong: list[str] = []

    def submit(item_id: str, process: str, mode: str) -> Submit:
        return Submit(actor=Actor("staff", "w-1", "150600"), case_number="", item_id=item_id,
                      process=process, mode=mode, person_key="", applicant_masked="",
                      channel="window")

    for item in catalogue.items:
        for mode in item.modes:
            assert check_item(submit(item.id, item.process, mode), catalogue) == item
        for process in processes:
            if process == item.process:
                continue
            try:
                check_item(submit(item.id, process, item.modes[0]), catalogue)
                wrong.append(f"{item.id} admitted as {process}")
            except InvalidRequest as refused:
                assert (refused.code, refused.field) == ("item_process_mismatch",
                                                         "command.item_id")
                assert item.id in str(refused) and item.process in str(refused)
        for mode in set(MODES) - set(item.modes):
            try:
                check_item(submit(item.id, item.process, mode), catalogue)
                wrong.append(f"{item.id} admitted in mode {mode}")
            except InvalidRequest as refused:
                assert (refused.code, refused.field) == ("invalid_mode", "command.mode")
                assert item.id in str(refused)
                assert all(m in str(refused) for m in item.modes)
    assert wrong == []
    with pytest.raises(InvalidRequest) as made_up:
        check_item(submit("b1-999", "pension_transfer", "online"), catalogue)
    assert (made_up.value.code, made_up.value.field) == ("unknown_item", "command.item_id")


def test_no_item_of_the_plan_is_a_housing_fund_transfer_and_the_docs_say_so() -> None:
    """Issue 15 item 8 asks for a housing-fund transfer item 'if the catalogue has one (else
    say why not)': the plan's housing-fund items are queries, certificates, withdrawals,
    accounts and loans; the protocol stays for the reference's §2d-1 but runs no item."""
    from pathlib import Path

    fund = [i for i in load_catalogue().items if "公积金" in i.name]
    assert len(fund) >= 8 and not [i.id for i in fund if i.process == "housing_fund_transfer"]
    assert not [i.id for i in load_catalogue().items if "公积金" in i.name and "转移" in i.name]
    docs = (Path(__file__).parents[2] / "docs" / "catalogue.md").read_text(encoding="utf-8")
    assert "No item of the plan is a 住房公积金异地转移接续" in docs
