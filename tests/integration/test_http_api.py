"""A pension transfer through the JSON API only: the applicant applies at 鄂尔多斯, the example
back-ends of both regions decide, and the applicant reads the case at both nodes with the query
code; a retried application (same Idempotency-Key) opens nothing twice."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from projections.report import quarter_of
from simulations.workload import draw_applicant
from tests.browser.site import quick_start

TIMEOUT = 90.0


def wait_status(url: str, number: str, code: str, wanted: str) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        answer = httpx.get(f"{url}/api/v1/cases/{number}", headers={"X-Query-Code": code})
        if answer.status_code == 200 and answer.json()["status"] == wanted:
            return answer.json()  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.5)


def test_a_pension_transfer_through_the_api_only(nats_server: Any, tmp_path: Path) -> None:
    applicant = draw_applicant(random.Random(9)).citizen.number
    with quick_start(nats_server.url, tmp_path) as site:
        ordos, yulin = site.urls["150600"], site.urls["610800"]
        body = {"item_id": "b1-7", "applicant_id": applicant, "origin": "610800"}
        first = httpx.post(f"{ordos}/api/v1/applications", json=body,
                           headers={"Idempotency-Key": "apply-0001"})
        assert first.status_code == 201, first.text
        again = httpx.post(f"{ordos}/api/v1/applications", json=body,
                           headers={"Idempotency-Key": "apply-0001"})
        assert again.json()["case_number"] == first.json()["case_number"]
        number, code = first.json()["case_number"], first.json()["query_code"]

        done = wait_status(ordos, number, code, "completed")
        assert done["status_text"] == "已办结" and done["amount_credited"] > 0
        assert {step["region"] for step in done["timeline"]} == {"150600", "610800"}
        assert applicant not in str(done)
        origin = wait_status(yulin, number, code, "transferred_out")
        assert origin["role"] == "origin"

        wrong = httpx.get(f"{yulin}/api/v1/cases/{number}", headers={"X-Query-Code": "X" * 10})
        assert wrong.status_code == 403
        assert wrong.headers["content-type"].startswith("application/problem+json")
        ready = httpx.get(f"{ordos}/readyz").json()["projections"]["cases"]
        assert ready["position"] > 0 and ready["head"] >= ready["position"]
        assert 'tongban_projection_lag_events{view="cases"}' in httpx.get(f"{ordos}/metrics").text
        figures = httpx.get(f"{ordos}/api/v1/supervision").json()
        assert figures["completed"] >= 1
        spec = httpx.get(f"{ordos}/openapi.json").json()
        assert "/api/v1/applications" in spec["paths"] and "/readyz" in spec["paths"]

    # The operator's commands read the same view tables once the nodes are gone.
    flags = ["--region", "150600", "--store", "sqlite", "--sqlite-dir", str(tmp_path / "data")]
    status = json.loads(tongban("projections", "status", *flags, "--json"))["cases"]
    assert status["rows"] >= 1 and status["lag_events"] == 0 and status["position"] > 0
    rebuilt = json.loads(tongban("projections", "rebuild", *flags, "--json"))
    assert rebuilt["position"] == status["position"] and rebuilt["events"] > 0
    report = json.loads(tongban("report", "quarterly", "--quarter",
                                quarter_of(dt.datetime.now(dt.UTC)), "--format", "json", *flags))
    row = next(r for r in report["rows"] if r["item"] == "b1-7")
    assert row["received"] >= 1 and row["completed"] >= 1 and row["role"] == "destination"
    quarter = quarter_of(dt.datetime.now(dt.UTC))
    received = json.loads(tongban("report", "reconciliation", "--quarter", quarter,
                                  "--format", "json", *flags))
    assert received["received"] >= 1 and received["matched"] == received["received"]
    assert received["mismatched"] == [] and received["stated_fen"] == received["received_fen"]
    flags[1] = "610800"
    sent = json.loads(tongban("report", "reconciliation", "--quarter", quarter,
                              "--format", "json", *flags))
    assert sent["sent"] == received["received"] and sent["sent_fen"] == received["received_fen"]


def tongban(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "api", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "TONGBAN_DEVELOPMENT": "true"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_applicant_withdraws_with_the_last_four_of_the_id(nats_server: Any,
                                                              tmp_path: Path) -> None:
    """… and a hostile ID number (a line feed inside, digits of another script, a wrong check
    digit) is a 422 problem naming `applicant_id`, at a running node, never a 500."""
    applicant = draw_applicant(random.Random(21)).citizen.number
    with quick_start(nats_server.url, tmp_path, backends=False) as site:
        ordos = site.urls["150600"]
        applied = httpx.post(f"{ordos}/api/v1/applications",
                             headers={"Idempotency-Key": "apply-0003"},
                             json={"item_id": "b1-7", "applicant_id": applicant,
                                   "origin": "610800"}).json()
        number, code = applied["case_number"], applied["query_code"]

        def withdraw(url: str, last4: str) -> httpx.Response:
            return httpx.post(f"{url}/api/v1/cases/{number}/withdraw",
                              headers={"X-Query-Code": code, "Idempotency-Key": "withdraw-01"},
                              json={"id_last4": last4, "reason": "不再需要"})

        for hostile in ("11010519491231002\nX", "1101051949123100\n2X", "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",
                        "11010519491231002Ｘ" + "x", "x" * 20, "110105194912310021"):
            refused = httpx.post(f"{ordos}/api/v1/applications",
                                 headers={"Idempotency-Key": "apply-hostile"},
                                 json={"item_id": "b1-7", "applicant_id": hostile,
                                       "origin": "610800"})
            assert refused.status_code == 422, (hostile, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["field"] == "applicant_id", refused.text
        wrong = "0000" if not applicant.endswith("0000") else "1111"
        assert withdraw(ordos, wrong).status_code == 403
        done = withdraw(ordos, applicant[-4:].lower())
        assert done.status_code == 200, done.text
        assert wait_status(ordos, number, code, "withdrawn")["terminal"] is True
