"""A window clerk signs in with a staff token, finds the new application in the queue and
accepts it; a wrong token is refused with an error summary."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import httpx

from simulations.workload import draw_applicant
from tests.browser.site import quick_start
from tests.browser.test_catalogue_pages import serious
from tests.integration.test_staff_api import issue


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

