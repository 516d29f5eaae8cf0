"""Supervisors read the joint cases' agreement and the quarter's reconciliation over HTTP, from
the node's view tables: only with a supervisor token of the node's own region, read-only."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import httpx

from projections.report import quarter_of
from simulations.workload import draw_applicant
from tests.browser.site import quick_start
from tests.integration.test_http_api import wait_status
from tests.integration.test_staff_api import issue


def test_supervisors_read_agreement_and_reconciliation(nats_server: Any, tmp_path: Path) -> None:
    tokens = tmp_path / "staff.json"
    supervisor = issue(tokens, "150600", "supervisor", "S0001")
    window = issue(tokens, "150600", "window", "W0001")
    other = issue(tokens, "610800", "supervisor", "S0002")
    with quick_start(nats_server.url, tmp_path,
                     env={"TONGBAN_STAFF_TOKENS": str(tokens)}) as site:
        ordos = site.urls["150600"]
        body = {"item_id": "b1-7", "origin": "610800",
                "applicant_id": draw_applicant(random.Random(17)).citizen.number}
        applied = httpx.post(f"{ordos}/api/v1/applications", json=body,
                             headers={"Idempotency-Key": "apply-0017"}).json()
        number, code = applied["case_number"], applied["query_code"]
        wait_status(ordos, number, code, "completed")

        def get(path: str, token: str | None, **params: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return httpx.get(f"{ordos}/api/v1/supervision{path}", headers=headers,
                             params=params)

        quarter = quarter_of(dt.datetime.now(dt.UTC))
        for path, params in (("/joint-cases", {}), (f"/joint-cases/{number}", {}),
                             ("/reconciliation", {"quarter": quarter}),
                             ("/report", {"quarter": quarter})):
            assert get(path, None, **params).status_code == 401
            assert get(path, window, **params).status_code == 403  # supervisors only
            assert get(path, other, **params).status_code == 403  # another region's
        listed = get("/joint-cases", supervisor).json()
        mine = next(row for row in listed if row["case_number"] == number)
        assert mine["role"] == "destination" and mine["peers"] == ["610800"]
        assert mine["state"] in ("agreed", "running") and mine["disagreements"] == []
        assert all(r["state"] == "disagreed" for r in get("/joint-cases", supervisor,
                                                         state="disagreed").json())
        case = get(f"/joint-cases/{number}", supervisor).json()
        assert case["case_number"] == number and case["disagreements"] == []
        side = case["sides"][0]
        assert side["region"] == "150600" and side["amount_received"] == side["amount_stated"] > 0
        assert dict(side["milestones"])["completed"] is not None
        assert ["completed", "transferred_out"] in case["allowed_pairs"]
        assert get("/joint-cases/150600-20000101-NOSUCHCASE", supervisor).status_code == 404
        rec = get("/reconciliation", supervisor, quarter=quarter).json()
        assert rec["region"] == "150600" and rec["received"] >= 1 and rec["mismatched"] == []
        assert rec["received_fen"] == rec["stated_fen"] > 0
        assert get("/reconciliation", supervisor, quarter="2026Q9").status_code == 422
        report = get("/report", supervisor, quarter=quarter).json()
        [row] = [r for r in report["rows"] if r["item"] == "b1-7" and r["role"] == "destination"]
        assert report["period"] == quarter and row["received"] >= 1 and row["completed"] >= 1
        assert get("/report", window, quarter=quarter).status_code == 403
