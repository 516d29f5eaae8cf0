"""A window clerk signs in with a staff token, finds the new application in the queue and
accepts it; a wrong token is refused with an error summary. The department escalates a
transfer that needs attention from its case page (督办) and is told why it cannot close it."""

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
from simulations.workload import draw_applicant
from tests.browser.site import quick_start
from tests.browser.test_catalogue_pages import serious
from tests.integration.test_staff_api import issue
from tests.integration.test_staff_casework import wait_for


def test_a_clerk_accepts_an_application_from_the_queue(
        browser: Any, nats_server: Any, tmp_path: Path, shots: Path) -> None:
    tokens = tmp_path / "staff.json"
    clerk = issue(tokens, "150600", "window", "W0451")
    stranger = issue(tokens, "610800", "window", "W9999")
    with quick_start(nats_server.url, tmp_path, backends=False,
                     env={"TONGBAN_STAFF_TOKENS": str(tokens)}) as site:
        url = site.urls["150600"]
        number = httpx.post(f"{url}/api/v1/applications",
                            headers={"Idempotency-Key": "apply-0002"},
                            json={"item_id": "b1-7", "origin": "610800", "applicant_id":
                                  draw_applicant(random.Random(4)).citizen.number}
                            ).json()["case_number"]
        page = browser.new_page(viewport={"width": 1024, "height": 800})
        page.goto(url + "/staff")
        page.get_by_label("工作人员令牌").fill(stranger)  # 榆林's token at 鄂尔多斯
        page.get_by_role("button", name="登录").click()
        assert "令牌无效" in page.inner_text(".error-summary")
        assert serious(page) == []

        page.get_by_label("工作人员令牌").fill(clerk)
        page.get_by_role("button", name="登录").click()
        assert number in page.inner_text("#queue")
        assert serious(page) == []
        page.screenshot(path=str(shots / "staff-queue.png"), full_page=True)
        page.get_by_role("link", name=f"办理 {number}").click()
        page.get_by_role("button", name="受理", exact=True).click()
        deadline = time.monotonic() + 20  # the views follow the commit a moment later
        while "已受理" not in page.inner_text("h1"):
            assert time.monotonic() < deadline, page.inner_text("main")
            time.sleep(0.5)
            page.reload()
        assert "工作人员 收件窗口" in page.inner_text(".timeline")
        assert serious(page) == []



def test_the_department_escalates_a_transfer_that_needs_attention_and_cannot_close_it_over_money(
        browser: Any, nats_server: Any, tmp_path: Path, shots: Path) -> None:
    """More money came than the sheet states: the case page offers 督办 and 结案; the escalation
    is recorded with its reason and shown, and closing is refused (money is never closed
    away) with the reason on the page."""
    tokens = tmp_path / "staff.json"
    clerk = issue(tokens, "150600", "window", "W0452")
    officer = issue(tokens, "150600", "department", "D0452")
    yulin = issue(tokens, "610800", "department", "D0453")
    with quick_start(nats_server.url, tmp_path, backends=False,
                     env={"TONGBAN_STAFF_TOKENS": str(tokens)}) as site:
        url, origin = site.urls["150600"], site.urls["610800"]
        applied = httpx.post(f"{url}/api/v1/applications",
                             headers={"Idempotency-Key": "apply-0452"},
                             json={"item_id": "b1-7", "origin": "610800", "applicant_id":
                                   draw_applicant(random.Random(5)).citizen.number}).json()
        number, code = applied["case_number"], applied["query_code"]

        def step(at: str, token: str, action: str, body: dict[str, Any] | None = None) -> None:
            answer = httpx.post(f"{at}/api/v1/staff/cases/{number}/{action}", json=body,
                                headers={"Authorization": f"Bearer {token}",
                                         "Idempotency-Key": f"page-{action}"})
            assert answer.status_code == 200, answer.text

        step(url, clerk, "accept")
        wait_for(origin, number, code, "received")
        step(origin, yulin, "approve")
        sheet = pension.transfer_amount(120_000, [ContributionYear(2019, 12, 600_000)])
        step(origin, yulin, "info-sheet", {
            "months": sheet.months, "components": [dataclasses.asdict(c)
                                                   for c in sheet.components],
            "years": [dataclasses.asdict(y) for y in sheet.years]})
        wait_for(url, number, code, "awaiting_transfer")
        step(url, officer, "funds-received", {
            "from_region": "610800", "amount_fen": sheet.amount_fen + 100,
            "bank_ref": "BK0452", "value_date": dt.date.today().isoformat()})
        wait_for(url, number, code, "needs_attention")

        page = browser.new_page(viewport={"width": 1024, "height": 900})
        page.goto(url + "/staff")
        page.get_by_label("工作人员令牌").fill(officer)
        page.get_by_role("button", name="登录").click()
        page.goto(f"{url}/staff/cases/{number}")
        page.get_by_label("督办理由").fill("转出地多转资金，请督办核实")
        page.get_by_role("button", name="提请督办").click()
        deadline = time.monotonic() + 20  # the views follow the commit a moment later
        while not page.locator("#escalated").count():
            assert time.monotonic() < deadline, page.inner_text("main")
            time.sleep(0.5)
            page.reload()
        assert page.inner_text("#escalated") == "转出地多转资金，请督办核实"
        assert serious(page) == []
        page.screenshot(path=str(shots / "staff-case-attention.png"), full_page=True)
        page.get_by_label("结案理由").fill("账目不符，结案")
        page.get_by_role("button", name="结案").click()
        assert "未能办理" in page.inner_text("#outcome")
        assert "already transferred" in page.inner_text("#outcome")
        assert serious(page) == []
