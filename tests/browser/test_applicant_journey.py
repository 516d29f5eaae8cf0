"""An applicant applies for a pension transfer at 鄂尔多斯 from 榆林 on the page, the example
back-ends of both regions move it on, and the applicant watches it complete — at either node —
with both regions' steps in one timeline; a supervisor sees it counted."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from simulations.workload import draw_applicant
from tests.browser.site import quick_start
from tests.browser.test_catalogue_pages import serious

COMPLETION_TIMEOUT = 90.0


def citizen_id(seed: int = 5) -> str:
    """A checksum-valid 居民身份证号 (drawn as the simulator draws applicants)."""
    return draw_applicant(random.Random(seed)).citizen.number


def wait_for_status(page: Any, wanted: str, timeout: float = COMPLETION_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while page.inner_text("#status") != wanted:
        if time.monotonic() > deadline:
            raise AssertionError(f"status still {page.inner_text('#status')!r}:\n"
                                 f"{page.inner_text('main')}")
        time.sleep(1.0)
        page.reload()


def test_an_applicant_follows_a_pension_transfer_to_completion(
        browser: Any, nats_server: Any, tmp_path: Path, shots: Path) -> None:
    with quick_start(nats_server.url, tmp_path) as site:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(site.urls["150600"] + "/items/b1-7")
        page.get_by_role("link", name="在线申请").click()
        assert serious(page) == []

        page.get_by_role("button", name="提交申请").click()  # nothing filled in
        assert "请修改以下问题" in page.inner_text(".error-summary")
        assert page.evaluate("document.activeElement.className") == "error-summary"

        page.get_by_label("居民身份证号码").fill(citizen_id())
        page.get_by_label("转出地").select_option("610800")
        page.get_by_role("button", name="提交申请").click()
        page.wait_for_selector("#case-number")  # count() would not wait for the navigation
        number = page.inner_text("#case-number")
        code = page.inner_text("#query-code")
        assert number.startswith("150600-") and len(code) == 10

        page.get_by_role("link", name="查看办件进度").click()  # no cookie yet: asks for the code
        page.get_by_label("办件编号").fill(number)
        page.get_by_label("查询码").fill("WRONGCODE0")
        page.get_by_role("button", name="查询").click()
        assert "办件编号或查询码不正确" in page.inner_text(".error-summary")
        page.get_by_label("查询码").fill(code.lower())  # people type lower case
        page.get_by_role("button", name="查询").click()

        wait_for_status(page, "已办结")
        timeline = page.inner_text("#timeline")
        assert "鄂尔多斯市" in timeline and "榆林市" in timeline
        assert "提交申请" in timeline and "资金到账" in timeline
        assert citizen_id() not in page.content()  # masked only
        assert serious(page) == []
        page.screenshot(path=str(shots / "case-page.png"), full_page=True)

        # 榆林's node answers for the same case (it holds the other side).
        other = browser.new_page()
        other.goto(site.urls["610800"] + "/cases")
        other.get_by_label("办件编号").fill(number)
        other.get_by_label("查询码").fill(code)
        other.get_by_role("button", name="查询").click()
        wait_for_status(other, "已办理转出")
        assert "鄂尔多斯市" in other.inner_text("#timeline")

        board = browser.new_page(viewport={"width": 1280, "height": 900})
        board.goto(site.urls["150600"] + "/supervision")
        assert int(board.inner_text("#completed")) >= 1
        assert board.locator("svg[role=img]").count() == 2
        assert "b1-7" in board.inner_text("#quarterly")
        # The completed transfer's money matched what 榆林 stated: reconciled, no disagreement.
        assert board.inner_text("#rec-matched").startswith("1")
        assert board.inner_text("#rec-mismatched") == "0"
        assert serious(board) == []
        board.screenshot(path=str(shots / "supervision.png"), full_page=True)
        board.set_viewport_size({"width": 390, "height": 844})  # a supervisor's phone
        assert serious(board) == []
