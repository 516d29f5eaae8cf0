"""The staff API's authorisation matrix over a running node: every role × endpoint × own or
other region, exactly who is refused; the actor on the event is the token's staff member; a
revoked token stops working at once."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulations.workload import draw_applicant
from tests.browser.site import ROOT, quick_start


def issue(file: Path, region: str, role: str, staff_id: str) -> str:
    done = subprocess.run([sys.executable, "-m", "api", "staff", "issue-token", "--region",
                           region, "--role", role, "--id", staff_id, "--file", str(file)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_who_may_do_what(nats_server: Any, tmp_path: Path) -> None:
    tokens = tmp_path / "staff.json"
    window = issue(tokens, "150600", "window", "W0451")
    department = issue(tokens, "150600", "department", "D0733")
    supervisor = issue(tokens, "150600", "supervisor", "S0001")
    other = issue(tokens, "610800", "department", "D9999")
    assert "tbs_" not in tokens.read_text()  # hashes only
    with quick_start(nats_server.url, tmp_path, backends=False,
                     env={"TONGBAN_STAFF_TOKENS": str(tokens)}) as site:
        url = site.urls["150600"]
        applied = httpx.post(f"{url}/api/v1/applications", headers={"Idempotency-Key": "apply-0001"},
                             json={"item_id": "b1-7", "origin": "610800", "applicant_id":
                                   draw_applicant(random.Random(3)).citizen.number}).json()
        assert "case_number" in applied, applied
        number = applied["case_number"]

        def call(method: str, path: str, token: str | None, key: str = "k-000001") -> int:
            headers = {"Idempotency-Key": key}
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            body = {"reason": "材料不齐"} if path.endswith("reject") else None
            answer = httpx.request(method, f"{url}/api/v1/staff{path}", headers=headers,
                                   json=body)
            assert answer.headers["content-type"].startswith(
                "application/problem+json" if answer.status_code >= 400 else "application/json")
            return answer.status_code

        reads = [("GET", "/queue"), ("GET", f"/cases/{number}")]
        writes = [("POST", f"/cases/{number}/accept"), ("POST", f"/cases/{number}/reject")]
        for method, path in reads + writes:
            assert call(method, path, None) == 401
            assert call(method, path, "tbs_not-a-token") == 401
            assert call(method, path, other) == 403
        for method, path in reads:
            for token in (window, department, supervisor):
                assert call(method, path, token) == 200
        for method, path in writes:
            assert call(method, path, supervisor) == 403
        queue = httpx.get(f"{url}/api/v1/staff/queue",
                          headers={"Authorization": f"Bearer {window}"}).json()
        assert [e["case_number"] for e in queue] == [number]

        assert call("POST", f"/cases/{number}/accept", window, key="accept-01") == 200
        assert call("POST", f"/cases/{number}/accept", window, key="accept-01") == 200  # retry
        refused = call("POST", f"/cases/{number}/reject", department, key="reject-01")
        assert refused not in (200, 401, 403) and refused < 500  # the domain says no

        subprocess.run([sys.executable, "-m", "api", "staff", "revoke", "--region", "150600",
                        "--id", "W0451", "--file", str(tokens)], check=True, cwd=ROOT,
                       capture_output=True, timeout=60)
        assert call("GET", "/queue", window) == 401
        assert call("GET", "/queue", department) == 200


@pytest.mark.parametrize("args", [["--region", "999999", "--role", "window", "--id", "x"],
                                  ["--region", "150600", "--role", "boss", "--id", "x"]])
def test_the_operator_gets_a_clear_error(args: list[str], tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "api", "staff", "issue-token", *args,
                           "--file", str(tmp_path / "t.json")], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "tongban staff issue-token:" in done.stderr
