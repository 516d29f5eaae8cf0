"""An applicant withdraws on a page of its own (GOV.UK: one thing per page): a wrong last four
of the ID number is an error summary linked to the field, not a dead end; the right one
withdraws and the case page says so, with the withdrawal in the timeline."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from simulations.workload import draw_applicant
from tests.browser.site import quick_start
from tests.browser.test_applicant_journey import wait_for_status
from tests.browser.test_catalogue_pages import serious


def apply_and_open(page: Any, url: str, applicant: str) -> str:
    """Apply for a pension transfer from 榆林 and open the case page; the case number."""
    page.goto(url + "/apply/b1-7")
    page.get_by_label("居民身份证号码").fill(applicant)
    page.get_by_label("转出地").select_option("610800")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_selector("#case-number")
    number, code = page.inner_text("#case-number"), page.inner_text("#query-code")
    page.goto(url + "/cases")
    page.get_by_label("办件编号").fill(number)
    page.get_by_label("查询码").fill(code)
    page.get_by_role("button", name="查询").click()
    page.wait_for_selector("#status")
    return number


def test_an_applicant_withdraws_on_the_withdrawal_page(browser: Any, nats_server: Any,
                                                       tmp_path: Path, shots: Path) -> None:
    applicant = draw_applicant(random.Random(8)).citizen.number
    with quick_start(nats_server.url, tmp_path, backends=False) as site:
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        number = apply_and_open(page, site.urls["150600"], applicant)
        page.get_by_role("link", name="撤回申请").click()
        assert page.locator("h1").inner_text() == "撤回申请"
        assert number in page.inner_text("main")
        assert serious(page) == []

        page.get_by_role("button", name="确认撤回").click()  # nothing typed
        assert "请输入身份证号码后四位" in page.inner_text(".error-summary")
        wrong = "0000" if applicant[-4:] != "0000" else "1111"
        page.get_by_label("身份证号码后四位").fill(wrong)
        page.get_by_role("button", name="确认撤回").click()
        summary = page.locator(".error-summary")
        assert "身份证号码后四位不正确" in summary.inner_text()
        assert summary.get_by_role("link").get_attribute("href") == "#id_last4"
        assert page.evaluate("document.activeElement.className") == "error-summary"
        assert serious(page) == []
        page.screenshot(path=str(shots / "withdraw-error.png"), full_page=True)

        page.get_by_label("身份证号码后四位").fill(applicant[-4:].lower())  # x or X
        page.get_by_label("撤回原因（可不填）").fill("已在本地重新参保")
        page.get_by_role("button", name="确认撤回").click()
        wait_for_status(page, "已撤回", timeout=20)
        assert "撤回申请" in page.inner_text("#timeline")
        assert page.get_by_role("link", name="撤回申请").count() == 0  # nothing left to withdraw
        assert serious(page) == []
        page.screenshot(path=str(shots / "withdrawn.png"), full_page=True)


def test_the_withdrawal_page_asks_for_the_query_code_first(browser: Any, nats_server: Any,
                                                           tmp_path: Path) -> None:
    with quick_start(nats_server.url, tmp_path, backends=False) as site:
        page = browser.new_page()
        page.goto(site.urls["150600"] + "/cases/150600-20261205-0123456789/withdraw")
        assert page.locator("h1").inner_text() == "查询办件进度"
        assert page.get_by_label("办件编号").input_value() == "150600-20261205-0123456789"
