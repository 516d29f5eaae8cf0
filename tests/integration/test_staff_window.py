"""异地代收代办 through the staff API only, on two running nodes over NATS: the window at 150600
registers an application for 610800 and forwards it with the originals posted, the department
at 610800 confirms the originals, accepts, approves and posts the result, the window hands it
over — and the applicant is told it is completed. Beside it, the proxy operations' part of the
authorisation matrix: exactly who is refused."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from simulations.workload import draw_applicant
from tests.browser.site import quick_start
from tests.integration.test_staff_api import issue

HOME, AWAY = "150600", "610800"


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never: {what}")


def test_a_proxy_case_walked_through_the_staff_api_only(nats_server: Any,
                                                         tmp_path: Path) -> None:
    tokens = tmp_path / "staff.json"
    window = issue(tokens, HOME, "window", "W0451")
    home_department = issue(tokens, HOME, "department", "D0733")
    supervisor = issue(tokens, HOME, "supervisor", "S0001")
    handler = issue(tokens, AWAY, "department", "D9001")
    away_window = issue(tokens, AWAY, "window", "W9001")
    with quick_start(nats_server.url, tmp_path, backends=False,
                     env={"TONGBAN_STAFF_TOKENS": str(tokens)}) as site:
        home, away = site.urls[HOME], site.urls[AWAY]

        def post(url: str, path: str, token: str | None, body: Any = None,
                 key: str = "key-0001") -> httpx.Response:
            headers = {"Idempotency-Key": key}
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            answer = httpx.post(f"{url}/api/v1/staff{path}", headers=headers, json=body,
                                timeout=30)
            assert answer.status_code < 500, answer.text
            assert answer.headers["content-type"].startswith(
                "application/problem+json" if answer.status_code >= 400
                else "application/json"), answer.text
            return answer

        def status(url: str, token: str, number: str) -> str:
            answer = httpx.get(f"{url}/api/v1/staff/cases/{number}",
                               headers={"Authorization": f"Bearer {token}"}, timeout=30)
            return str(answer.json()["status"]) if answer.status_code == 200 else ""

        person = draw_applicant(random.Random(11)).citizen.number
        application = {"item_id": "b2-43", "applicant_id": person, "handling_region": AWAY}
        for token, expected in ((None, 401), ("tbs_nonsense", 401), (handler, 403),
                                (home_department, 403), (supervisor, 403)):
            assert post(home, "/proxy-applications", token, application).status_code == expected
        refused = post(home, "/proxy-applications", window,
                       {**application, "applicant_id": "110101190001011234"})
        assert refused.status_code == 422 and refused.json()["field"] == "applicant_id"

        registered = post(home, "/proxy-applications", window, application, key="reg-0001")
        assert registered.status_code == 201, registered.text
        number = registered.json()["case_number"]
        again = post(home, "/proxy-applications", window, application, key="reg-0001")
        assert again.json()["case_number"] == number  # a double click registers one case

        forwarding = {"identity_verified": True, "originals_tracking_no": "EMS1234567890"}
        for token in (home_department, supervisor, handler):
            assert post(home, f"/cases/{number}/forward", token, forwarding).status_code == 403
        forwarded = post(home, f"/cases/{number}/forward", window, forwarding, key="fwd-0001")
        assert forwarded.status_code == 200, forwarded.text
        assert forwarded.json()["status"] == "forwarded"

        wait_for(lambda: status(away, handler, number) == "submitted", "610800 has the case")
        early = post(away, f"/cases/{number}/accept", handler, key="acc-0000")
        assert early.status_code in (409, 422) and early.json()["code"] == \
            "originals_not_received", early.text
        originals = {"tracking_no": "EMS1234567890"}
        assert post(away, f"/cases/{number}/confirm-originals", away_window,
                    originals).status_code == 403
        for step, body in (("confirm-originals", originals), ("accept", None),
                           ("approve-application", None)):
            done = post(away, f"/cases/{number}/{step}", handler, body, key=f"{step}-01")
            assert done.status_code == 200, (step, done.text)
        sent = post(away, f"/cases/{number}/send-result", handler,
                    {"channel": "post", "tracking_no": "EMS9876543210"}, key="send-0001")
        assert sent.status_code == 200, sent.text
        assert post(home, f"/cases/{number}/approve-application", home_department,
                    key="x-000001").json()["code"] == "handled_elsewhere"

        wait_for(lambda: status(home, window, number) == "result_received",
                 "the result reached the window")
        assert post(home, f"/cases/{number}/hand-over", home_department,
                    {"channel": "window"}).status_code == 403
        handed = post(home, f"/cases/{number}/hand-over", window, {"channel": "window"},
                      key="hand-0001")
        assert handed.status_code == 200 and handed.json()["status"] == "completed", handed.text
        wait_for(lambda: status(away, handler, number) == "completed", "610800 completed")

        notices = tmp_path / "notifications" / f"{HOME}.jsonl"

        def told() -> list[str]:
            if not notices.exists():
                return []
            return [e["kind"] for e in map(json.loads, notices.read_text().splitlines())
                    if e["case_number"] == number]
        wait_for(lambda: told() == ["decided", "completed"], "the applicant told, once each")
        assert not (tmp_path / "notifications" / f"{AWAY}.jsonl").exists()  # not the handler
