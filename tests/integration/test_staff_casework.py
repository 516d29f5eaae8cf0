"""A pension transfer through the HTTP API only, on PostgreSQL + NATS, with no back-ends: the
applicant applies at 鄂尔多斯 (转入地), its window staff accept, 榆林's (转出地) department staff
decide, issue the info sheet and remit through their API, 鄂尔多斯's department staff record the
funds received, and the applicant watches the status change at both nodes.

On the way, the rows of the authorisation matrix for the department's operations: no token
401, another region's token 403, a supervisor 403, a window clerk 403 (deciding is the
department's), and a retried command (same Idempotency-Key) is answered, not done twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import time
from pathlib import Path
from typing import Any

import httpx

from domain.protocols import pension
from domain.protocols.transfer_events import ContributionYear
from regions.adapters.stores.sql import PostgresStore
from simulations.workload import draw_applicant
from tests.browser.site import quick_start
from tests.integration.test_staff_api import issue

TIMEOUT = 90.0


def wait_for(url: str, number: str, code: str, wanted: str) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        answer = httpx.get(f"{url}/api/v1/cases/{number}", headers={"X-Query-Code": code})
        if answer.status_code == 200 and answer.json()["status"] == wanted:
            return answer.json()  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.3)


def test_a_pension_transfer_through_staff_apis_on_postgres(
        nats_server: Any, postgres_store: PostgresStore, tmp_path: Path) -> None:
    tokens = tmp_path / "staff.json"
    clerk = issue(tokens, "150600", "window", "W0100")
    ordos_officer = issue(tokens, "150600", "department", "D0200")
    yulin_officer = issue(tokens, "610800", "department", "D0300")
    yulin_supervisor = issue(tokens, "610800", "supervisor", "S0400")
    yulin_clerk = issue(tokens, "610800", "window", "W0500")
    applicant = draw_applicant(random.Random(33)).citizen.number

    def flags(code: str) -> list[str]:
        return ["--store", "postgres", "--dsn", postgres_store.dsn,
                "--schema", postgres_store.schema_for(code)]

    with quick_start(nats_server.url, tmp_path, backends=False, store=flags,
                     env={"TONGBAN_STAFF_TOKENS": str(tokens)}) as site:
        ordos, yulin = site.urls["150600"], site.urls["610800"]

        def staff(url: str, token: str | None, action: str, body: dict[str, Any] | None = None,
                  key: str = "key-00001") -> httpx.Response:
            headers = {"Idempotency-Key": key}
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            answer = httpx.post(f"{url}/api/v1/staff/cases/{number}/{action}", json=body,
                                headers=headers)
            if answer.status_code >= 400:
                assert answer.headers["content-type"].startswith("application/problem+json")
            return answer

        applied = httpx.post(f"{ordos}/api/v1/applications",
                             headers={"Idempotency-Key": "apply-0100"},
                             json={"item_id": "b1-7", "applicant_id": applicant,
                                   "origin": "610800"})
        assert applied.status_code == 201, applied.text
        number, code = applied.json()["case_number"], applied.json()["query_code"]
        assert staff(ordos, clerk, "accept", key="accept-0100").status_code == 200
        wait_for(yulin, number, code, "received")

        # Who may decide at the origin: its department only.
        for token, status in ((None, 401), (ordos_officer, 403), (yulin_supervisor, 403),
                              (yulin_clerk, 403)):
            assert staff(yulin, token, "approve").status_code == status
        approved = staff(yulin, yulin_officer, "approve", key="approve-0100")
        assert approved.status_code == 200, approved.text
        assert staff(yulin, yulin_officer, "approve", key="approve-0100").json() == approved.json()

        years = [ContributionYear(2019, 12, 600_000), ContributionYear(2020, 12, 650_000)]
        sheet = pension.transfer_amount(120_000, years)
        body = {"months": sheet.months,
                "components": [dataclasses.asdict(c) for c in sheet.components],
                # the staff form takes paid years (no `kind`: api.staff_casework's own form)
                "years": [{"year": y.year, "months": y.months,
                           "monthly_base_fen": y.monthly_base_fen} for y in sheet.years]}
        assert staff(yulin, yulin_supervisor, "info-sheet", body).status_code == 403
        bad = staff(yulin, yulin_officer, "info-sheet", {**body, "months": 7}, key="sheet-bad")
        assert bad.status_code in (409, 422) and bad.json()["detail"]
        issued = staff(yulin, yulin_officer, "info-sheet", body, key="sheet-0100")
        assert issued.status_code == 200, issued.text
        remitted = staff(yulin, yulin_officer, "remit-funds",
                         {"amount_fen": sheet.amount_fen, "bank_ref": "BK2026120500017"},
                         key="remit-0100")
        assert remitted.status_code == 200, remitted.text
        wait_for(ordos, number, code, "awaiting_transfer")

        received = {"from_region": "610800", "amount_fen": sheet.amount_fen,
                    "bank_ref": "BK2026120500017",
                    "value_date": dt.date.today().isoformat()}
        assert staff(ordos, clerk, "funds-received", received).status_code == 403
        assert staff(ordos, yulin_officer, "funds-received", received).status_code == 403
        credited = staff(ordos, ordos_officer, "funds-received", received, key="funds-0100")
        assert credited.status_code == 200, credited.text

        done = wait_for(ordos, number, code, "completed")
        assert {step["region"] for step in done["timeline"]} == {"150600", "610800"}
        assert any("办理部门" in step["actor"] for step in done["timeline"])
        assert wait_for(yulin, number, code, "transferred_out")["role"] == "origin"
