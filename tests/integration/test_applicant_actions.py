"""The applicant's own operations over HTTP on two running nodes (issue 13): supplement (补正)
uploads into the region's material store and moves the case on; 好差评 once per case and rated
region, a poor rating opening a follow-up at the rated region — on a pension transfer."""

from __future__ import annotations

import base64
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from simulations.workload import draw_applicant
from tests.browser.site import ROOT, quick_start
from tests.integration.test_http_api import wait_status

PDF = base64.b64encode(b"%PDF-1.4\n% scanned id card\n").decode()


def issue(file: Path, region: str, role: str, staff_id: str) -> str:
    done = subprocess.run([sys.executable, "-m", "api", "staff", "issue-token", "--region",
                           region, "--role", role, "--id", staff_id, "--file", str(file)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def apply(url: str, seed: int, key: str) -> tuple[str, str]:
    applied = httpx.post(f"{url}/api/v1/applications", headers={"Idempotency-Key": key},
                         json={"item_id": "b1-7", "origin": "610800", "applicant_id":
                               draw_applicant(random.Random(seed)).citizen.number})
    assert applied.status_code == 201, applied.text
    return applied.json()["case_number"], applied.json()["query_code"]


def test_supplement_then_rate_a_pension_transfer(nats_server: Any, tmp_path: Path) -> None:
    tokens = tmp_path / "staff.json"
    window = issue(tokens, "150600", "window", "W0451")
    supervisor = issue(tokens, "150600", "supervisor", "S0001")
    other = issue(tokens, "610800", "department", "D9999")
    with quick_start(nats_server.url, tmp_path, env={"TONGBAN_STAFF_TOKENS": str(tokens)}) as site:
        ordos, yulin = site.urls["150600"], site.urls["610800"]
        number, code = apply(ordos, 31, "apply-0031")
        applicant = {"X-Query-Code": code}

        def ask(token: str | None, key: str = "ask-000001") -> httpx.Response:
            headers = {"Idempotency-Key": key}
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            return httpx.post(f"{ordos}/api/v1/staff/cases/{number}/request-supplement",
                              headers=headers, json={"missing_kinds": ["id_card"],
                                                     "note": "身份证复印件不清晰"})

        assert ask(None).status_code == 401
        assert ask("tbs_not-a-token").status_code == 401
        assert ask(other).status_code == 403
        assert ask(supervisor).status_code == 403
        asked = ask(window)
        if asked.status_code != 200:  # the back-end accepted first: this run cannot ask any more
            assert asked.status_code == 409, asked.text
        else:
            assert wait_status(ordos, number, code, "supplement_requested")["supplement"] == [
                "id_card"]

            def upload(key: str, docs: list[dict[str, str]], headers: dict[str, str] = applicant,
                       ) -> httpx.Response:
                return httpx.post(f"{ordos}/api/v1/cases/{number}/supplement",
                                  headers={**headers, "Idempotency-Key": key},
                                  json={"documents": docs})

            doc = {"kind": "id_card", "title": "身份证复印件", "media_type": "application/pdf",
                   "content_base64": PDF}
            assert upload("sup-00001", [doc], {"X-Query-Code": "0" * 10}).status_code == 403
            fake = {**doc, "content_base64": base64.b64encode(b"not a pdf").decode()}
            refused = upload("sup-00002", [fake])
            assert refused.status_code == 422 and refused.json()["code"] == "media_type_mismatch"
            wrong_kind = upload("sup-00003", [{**doc, "kind": "photo"}])
            assert wrong_kind.status_code == 422, wrong_kind.text
            assert wrong_kind.json()["code"] == "supplement_incomplete"
            provided = upload("sup-00004", [doc])
            assert provided.status_code == 200, provided.text
            assert provided.json()["documents"][0]["kind"] == "id_card"
            assert upload("sup-00004", [doc]).json() == provided.json()  # a retry: same answer

        done = wait_status(ordos, number, code, "completed")

        def rate(url: str, key: str, body: dict[str, Any]) -> httpx.Response:
            return httpx.post(f"{url}/api/v1/cases/{number}/rating",
                              headers={**applicant, "Idempotency-Key": key}, json=body)

        assert rate(yulin, "rate-0001", {"score": 5}).json()["code"] == "wrong_region"
        assert rate(ordos, "rate-0002", {"score": 0}).status_code == 422
        poor = rate(ordos, "rate-0003", {"score": 2, "comment": "等太久"})
        assert poor.status_code == 200, poor.text
        again = rate(ordos, "rate-0004", {"score": 5})
        assert again.json()["code"] == "already_rated" and 400 <= again.status_code < 500
        assert rate(ordos, "rate-0005", {"score": 4, "rated_region": "110000"}).status_code == 422
        assert rate(ordos, "rate-0006", {"score": 1, "rated_region": "610800"}).status_code == 200
        assert done["terminal"] is True

        deadline = time.monotonic() + 60
        while True:  # the origin records the rating it was sent, and its own follow-up
            view = httpx.get(f"{yulin}/api/v1/cases/{number}", headers=applicant).json()
            if view.get("follow_up") == "open":
                break
            assert time.monotonic() < deadline, view
            time.sleep(0.5)
        assert view["ratings"] == [1]
        here = httpx.get(f"{ordos}/api/v1/cases/{number}", headers=applicant).json()
        assert (here["ratings"], here["follow_up"]) == ([2], "open")
