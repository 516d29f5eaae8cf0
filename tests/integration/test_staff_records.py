"""Unmasked personal data on the staff API: a document scanned at the window is read only by
the roles that handle the case, only with a purpose, and every read is in the region's audit log
— which supervisors and the operator (`tongban audit list`) read and the readers cannot."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from simulations.workload import draw_applicant
from tests.browser.site import ROOT, quick_start
from tests.integration.test_staff_api import issue

HOME, AWAY = "150600", "610800"
SCAN = b"%PDF-1.4\n% an ID card scan\n"


def test_every_unmasked_read_is_audit_logged(nats_server: Any, tmp_path: Path) -> None:
    tokens = tmp_path / "staff.json"
    window = issue(tokens, HOME, "window", "W0451")
    department = issue(tokens, HOME, "department", "D0733")
    supervisor = issue(tokens, HOME, "supervisor", "S0001")
    other = issue(tokens, AWAY, "department", "D9001")
    with quick_start(nats_server.url, tmp_path, backends=False,
                     env={"TONGBAN_STAFF_TOKENS": str(tokens)}) as site:
        url = f"{site.urls[HOME]}/api/v1/staff"

        def auth(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}", "Idempotency-Key": "key-00001"}

        assert httpx.post(f"{url}/materials", params={"title": "居民身份证"}, content=SCAN,
                          headers={**auth(supervisor), "Content-Type": "application/pdf"}
                          ).status_code == 403
        scanned = httpx.post(f"{url}/materials", params={"title": "居民身份证", "kind": "身份证"},
                             content=SCAN, headers={**auth(window),
                                                    "Content-Type": "application/pdf"})
        assert scanned.status_code == 201, scanned.text
        ref = scanned.json()
        registered = httpx.post(f"{url}/proxy-applications", headers=auth(window), json={
            "item_id": "b2-43", "handling_region": AWAY, "materials": [ref],
            "applicant_id": draw_applicant(random.Random(5)).citizen.number})
        assert registered.status_code == 201, registered.text
        number = registered.json()["case_number"]

        listed = httpx.get(f"{url}/cases/{number}/materials", headers=auth(supervisor))
        assert listed.status_code == 200 and [d["title"] for d in listed.json()] == ["居民身份证"]
        assert "sha256" not in listed.json()[0]
        document = f"{url}/cases/{number}/materials/{ref['doc_id']}"
        assert httpx.get(document, headers=auth(supervisor),
                         params={"purpose": "核对"}).status_code == 403
        assert httpx.get(document, headers=auth(other), params={"purpose": "核对"}).status_code \
            == 403
        assert httpx.get(document, headers=auth(department)).status_code == 422  # no purpose
        assert httpx.get(f"{url}/audit", headers=auth(supervisor)).json() == []
        read = httpx.get(document, headers=auth(department), params={"purpose": "核对身份"})
        assert read.status_code == 200 and read.content == SCAN

        for token in (window, department, other):
            assert httpx.get(f"{url}/audit", headers=auth(token)).status_code == 403
        [entry] = httpx.get(f"{url}/audit", headers=auth(supervisor)).json()
        assert (entry["staff_id"], entry["role"], entry["case_number"], entry["purpose"]) == (
            "D0733", "department", number, "核对身份")
        assert entry["field"].startswith(f"materials/{ref['doc_id']}")

        listed_cli = subprocess.run(
            [sys.executable, "-m", "api", "audit", "list", "--region", HOME, "--store", "sqlite",
             "--sqlite-dir", str(tmp_path / "data")], capture_output=True, text=True, cwd=ROOT,
            timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
                             "TONGBAN_DEVELOPMENT": "true"})
        assert listed_cli.returncode == 0, listed_cli.stderr
        assert f"D0733 (department)  {number}" in listed_cli.stdout
