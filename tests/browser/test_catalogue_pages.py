"""An applicant finds an item and reads its guide on a running node, in a real browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe

from tests.browser.site import quick_start


def serious(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, as readable lines."""
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_start_page_is_chinese_and_finds_the_pension_transfer(
        browser: Any, nats_server: Any, tmp_path: Path, shots: Path) -> None:
    with quick_start(nats_server.url, tmp_path, backends=False) as site:
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        page.goto(site.urls["150600"] + "/")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert "鄂尔多斯市" in page.inner_text("header")
        assert serious(page) == []
        page.get_by_label("查找事项").fill("养老保险")
        page.get_by_role("button", name="查找").click()
        page.get_by_role("link", name="企业职工基本养老保险关系转移接续").click()
        assert page.locator("h1").inner_text() == "企业职工基本养老保险关系转移接续"
        assert "办理时限" in page.inner_text("main")
        assert serious(page) == []
        page.screenshot(path=str(shots / "item-guide.png"), full_page=True)


def test_an_unknown_item_is_a_page_that_says_so(
        browser: Any, nats_server: Any, tmp_path: Path) -> None:
    with quick_start(nats_server.url, tmp_path, backends=False) as site:
        page = browser.new_page()
        answer = page.goto(site.urls["150600"] + "/items/b9-99")
        assert answer is not None and answer.status == 404
        assert "找不到这个事项" in page.inner_text("h1")
