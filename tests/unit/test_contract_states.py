"""State tables in asyncapi.yaml, generated from the deciders (issue 18, finding 3): which
command each role may send in each status, where it leads, the steps the node then takes by
itself, what a counterpart's event does on arrival — for each transfer process."""

from __future__ import annotations

from typing import Any

import yaml

from domain.protocols import PROTOCOLS
from regions.contract.asyncapi import DEFAULT_PATH
from regions.core.commands import ERRORS


def document() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    return found


def tables() -> dict[str, Any]:
    found: dict[str, Any] = document()["operations"]["sendCommand"]["x-state-tables"]
    return found


def table_of(process: str) -> Any:
    """The one-origin table of `process` (processes that behave alike share one, titled with
    all their names: the pension items with the same limits)."""
    return next(roles for title, roles in tables().items()
                if process in title.split(", ") and "(" not in title)


TRANSFERS = ("housing_fund_transfer", "medical_transfer", "pension_transfer",
             "unemployment_transfer", "resident_pension_transfer", "veteran_pension_transfer")


def test_every_process_and_mode_has_a_table_with_a_row_per_role() -> None:
    titles = " ".join(tables())
    for process in PROTOCOLS:
        assert process in titles, process
    for process in TRANSFERS:
        assert set(table_of(process)) == {"destination", "origin"}, process
    assert set(tables()["household_move"]) == {"destination", "origin"}
    proxy = next(roles for title, roles in tables().items() if title.endswith("(proxy)"))
    assert set(proxy) == {"receiving", "handling"}


def test_the_pension_table_states_what_a_back_end_learnt_by_refusal() -> None:
    destination = table_of("pension_transfer")["destination"]
    origin = table_of("pension_transfer")["origin"]
    assert destination["submitted"]["AcceptIntake"] == (
        "→ awaiting_transfer (then SendContactLetters)")
    assert "→ completed (then Reconcile)" in (  # the last match completes (issue 17, rows)
        destination["awaiting_transfer"]["RecordFundsReceived"])
    assert destination["submitted"]["RecordFundsReceived"] == "`funds_not_expected`"
    assert destination["completed"]["Withdraw"] == "`case_closed`"
    assert origin["received"]["IssueInfoSheet"] == "`not_approved`"
    assert origin["(none)"]["← ContactLetterIssued"] == "→ received"
    assert "pension_transfer" in document()["operations"]["sendCommand"]["description"]


def test_every_code_and_status_in_the_tables_is_one_the_document_defines() -> None:
    statuses = set(document()["components"]["schemas"]["Outcome"]["properties"]["status"]
                   ["enum"])
    for roles in tables().values():
        for by_status in roles.values():
            assert set(by_status) - {"(none)"} <= statuses
            for cells in by_status.values():
                for text in cells.values():
                    for part in text.split(" or "):
                        if part.startswith("`"):
                            assert part.strip("`") in ERRORS, part
                        elif part.startswith("→ "):
                            assert part[2:].split(" (")[0] in statuses, part
                        else:
                            assert part == "ok, nothing to do", part


def test_a_scheme_of_several_origins_shows_the_hold_then_proceed_phase() -> None:
    two = tables()["pension_transfer (two origins)"]
    assert "→ awaiting_transfer (then InstructProceed)" in (
        two["destination"]["awaiting_holds"]["← TransferOutHeld"])
    assert two["origin"]["received"]["ApproveTransferOut"] == "→ held"
    assert two["origin"]["held"]["IssueInfoSheet"] == "`awaiting_instruction`"
    assert two["origin"]["held"]["← ProceedInstructed"] == "→ approved"
    assert "medical_transfer (two origins)" not in tables()  # one origin only
