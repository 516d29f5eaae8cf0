"""咨询 / 投诉 / 建议 over HTTP on a running node (issue 13), the complaints supervisors see
(issue 12), and who may do what (the authorisation matrix of `api.consultations`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.browser.site import quick_start
from tests.integration.test_applicant_actions import issue


def test_complain_reply_and_supervise(nats_server: Any, tmp_path: Path) -> None:
    tokens = tmp_path / "staff.json"
    window = issue(tokens, "150600", "window", "W0451")
    department = issue(tokens, "150600", "department", "D0733")
    supervisor = issue(tokens, "150600", "supervisor", "S0001")
    other = issue(tokens, "610800", "department", "D9999")
    with quick_start(nats_server.url, tmp_path, backends=False,
                     env={"TONGBAN_STAFF_TOKENS": str(tokens)}) as site:
        url = site.urls["150600"]
        body = {"kind": "complain", "subject": "转移办理太慢", "text": "一个月仍未办结"}
        first = httpx.post(f"{url}/api/v1/consultations", json=body,
                           headers={"Idempotency-Key": "complain-01"})
        assert first.status_code == 201, first.text
        again = httpx.post(f"{url}/api/v1/consultations", json=body,
                           headers={"Idempotency-Key": "complain-01"})
        assert again.json() == first.json()  # a double submit opens one
        number, code = first.json()["number"], first.json()["query_code"]
        consult = httpx.post(f"{url}/api/v1/consultations", headers={"Idempotency-Key":
                                                                      "consult-01"},
                             json={"kind": "consult", "subject": "材料", "text": "要带什么？"})
        assert consult.status_code == 201
        assert httpx.post(f"{url}/api/v1/consultations", json={**body, "kind": "praise"},
                          headers={"Idempotency-Key": "bad-kind-01"}).status_code == 422

        def staff(method: str, path: str, token: str | None, **kw: Any) -> httpx.Response:
            headers = {"Idempotency-Key": "reply-0001"}
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            answer = httpx.request(method, f"{url}/api/v1{path}", headers=headers, **kw)
            assert answer.headers["content-type"].startswith(
                "application/problem+json" if answer.status_code >= 400 else "application/json")
            return answer

        reply = ("POST", f"/staff/consultations/{number}/reply", {"json": {"reply": "已督促办理"}})
        reads = [("GET", "/staff/consultations", {})]
        supervision = [("GET", "/supervision/complaints", {})]
        for method, path, kw in [*reads, reply, *supervision]:
            assert staff(method, path, None, **kw).status_code == 401
            assert staff(method, path, "tbs_not-a-token", **kw).status_code == 401
            assert staff(method, path, other, **kw).status_code == 403
        for token in (window, department, supervisor):
            assert staff("GET", "/staff/consultations", token).status_code == 200
        for token in (window, department):
            assert staff("GET", "/supervision/complaints", token).status_code == 403
        assert staff(*reply[:2], supervisor, **reply[2]).status_code == 403

        queue = staff("GET", "/staff/consultations", window).json()
        assert {row["number"] for row in queue} == {number, consult.json()["number"]}
        assert all(row["reply_due"] and row["status"] == "open" for row in queue)
        watched = staff("GET", "/supervision/complaints", supervisor).json()
        assert (watched["total"], watched["open"], watched["overdue"]) == (1, 1, 0)
        assert watched["complaints"][0]["number"] == number
        assert watched["complaints"][0]["reply_due"] > watched["complaints"][0]["opened_at"]

        answered = staff(*reply[:2], window, **reply[2])
        assert answered.status_code == 200 and answered.json()["status"] == "replied"
        assert staff(*reply[:2], window, **reply[2]).json() == answered.json()  # a retry
        seen = httpx.get(f"{url}/api/v1/consultations/{number}", headers={"X-Query-Code": code})
        assert seen.status_code == 200, seen.text
        assert (seen.json()["status"], seen.json()["reply"]) == ("replied", "已督促办理")
        wrong = httpx.get(f"{url}/api/v1/consultations/{number}",
                          headers={"X-Query-Code": "0" * 10})
        assert wrong.status_code == 403
        assert staff("GET", "/supervision/complaints?state=open", supervisor).json()[
            "complaints"] == []
