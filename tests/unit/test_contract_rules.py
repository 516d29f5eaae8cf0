"""The rules a back-end needs stand in asyncapi.yaml itself (issue 18, findings 2, 5, 6, 13):
the info sheet of each scheme, what `person_key` keys, where the destination's bank notice
comes from and that its reference is unique, and the catalogue's items with their processes
and modes — each generated from the code that enforces it, so the text cannot drift.
"""

from __future__ import annotations

from typing import Any

import yaml

from domain.catalogue import load_catalogue
from domain.protocols import housing_fund, medical, pension, pension_items, unemployment
from regions.contract.asyncapi import DEFAULT_PATH


def schemas() -> dict[str, Any]:
    document = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    found: dict[str, Any] = document["components"]["schemas"]
    return found


def test_the_info_sheet_states_each_schemes_components_and_the_pension_rule() -> None:
    text = schemas()["InfoSheet"]["description"]
    for module in (pension, unemployment, medical, housing_fund):
        assert module.PROCESS in text, module.PROCESS
        for name in module.COMPONENTS:
            assert f"`{name}`" in text, name
    assert "1998" in text and "12 %" in text and "half-up" in text and "each year" in text
    for item in pension_items.ITEMS:  # each pension item its own rule (issue 15, item 1)
        assert f"| `{item.process}` ({item.item_id}) | exactly" in text, item.item_id
        for name in (*item.rule.components, *item.rule.memo):
            assert f"`{name}`" in text, name
    assert "2014-10" in text and "8 %" in text and "`details.agency`" in text
    year = schemas()["ContributionYear"]["description"]
    assert "deemed" in year and "1 to 12" in year


def test_person_key_is_described_wherever_it_appears() -> None:
    for name, schema in schemas().items():
        key = schema.get("properties", {}).get("person_key")
        if key is not None:
            assert "register" in key.get("description", ""), name


def test_the_bank_notice_and_its_unique_reference_are_stated() -> None:
    text = schemas()["RecordFundsReceived"]["description"]
    assert "bank" in text and "`duplicate_bank_ref`" in text
    assert "`bank_ref`" in schemas()["RemitFunds"]["description"]


def test_every_catalogue_item_is_listed_with_its_process_and_modes() -> None:
    item_id = schemas()["Submit"]["properties"]["item_id"]
    items = load_catalogue().items
    for item in items:
        assert f"| `{item.id}` | {item.name} | `{item.process}` | {', '.join(item.modes)} |" in (
            item_id["description"]), item.id


def test_every_error_code_is_machine_readable_with_its_field() -> None:
    from regions.core.commands import ERRORS

    codes = schemas()["CommandError"]["properties"]["code"]["x-codes"]
    assert set(codes) == set(ERRORS)
    for code, entry in ERRORS.items():
        assert codes[code] == {"meaning": entry.meaning, "field": entry.field,
                               "kind": entry.kind, "status": entry.status}, code


def test_who_may_act_and_the_applications_fields_state_their_rules() -> None:
    from regions.core.authority import SYSTEM_COMMANDS

    actor = schemas()["Actor"]["description"]
    for code in ("forbidden_actor", "wrong_region", "invalid_region"):
        assert f"`{code}`" in actor, code
    submit = schemas()["Submit"]["properties"]
    assert "`invalid_mode`" in submit["mode"]["description"]
    assert "`item_process_mismatch`" in submit["process"]["description"]
    assert "`case_exists`" in submit["case_number"]["description"]
    document = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    text = document["operations"]["sendCommand"]["description"]
    for command in SYSTEM_COMMANDS:
        assert f"`{command.__name__}`" in text, command
