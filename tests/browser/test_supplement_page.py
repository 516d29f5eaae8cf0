"""补正 on pages: a window clerk asks for a missing material on the staff case page (all at
once, 一次性告知), the applicant sees what is missing on the case page, uploads it on the
supplement page — a file of the wrong type or none at all is an error summary by the field —
and the case goes back to the clerk with the material in the timeline."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from simulations.workload import draw_applicant
from tests.browser.site import quick_start
from tests.browser.test_catalogue_pages import serious
from tests.browser.test_withdrawal_page import apply_and_open
from tests.integration.test_staff_api import issue

MISSING = "居民身份证复印件"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def reload_until(page: Any, selector: str, text: str, timeout: float = 20.0) -> None:
    """The views follow a commit a moment later: reload until `text` shows."""
    deadline = time.monotonic() + timeout
    while text not in page.inner_text(selector):
        assert time.monotonic() < deadline, page.inner_text("main")
        time.sleep(0.5)
        page.reload()


def test_an_applicant_uploads_the_material_a_clerk_asked_for(
        browser: Any, nats_server: Any, tmp_path: Path, shots: Path) -> None:
    tokens = tmp_path / "staff.json"
    clerk_token = issue(tokens, "150600", "window", "W0451")
    applicant = draw_applicant(random.Random(21)).citizen.number
    with quick_start(nats_server.url, tmp_path, backends=False,
                     env={"TONGBAN_STAFF_TOKENS": str(tokens)}) as site:
        url = site.urls["150600"]
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        number = apply_and_open(page, url, applicant)
        assert page.get_by_role("link", name="上传补正材料").count() == 0  # nothing asked yet

        clerk = browser.new_page(viewport={"width": 1024, "height": 800})
        clerk.goto(url + "/staff")
        clerk.get_by_label("工作人员令牌").fill(clerk_token)
        clerk.get_by_role("button", name="登录").click()
        clerk.get_by_role("link", name=f"办理 {number}").click()
        clerk.get_by_role("button", name="要求补正").click()  # nothing listed
        assert "请列出缺少的材料" in clerk.inner_text("#outcome")
        clerk.get_by_label("缺少的材料").fill(MISSING)
        clerk.get_by_label("补正说明（可不填）").fill("复印件需正反面")
        clerk.get_by_role("button", name="要求补正").click()
        reload_until(clerk, "h1", "需要补正材料")
        assert serious(clerk) == []

        reload_until(page, "#next-action", MISSING)
        page.get_by_role("link", name="上传补正材料").click()
        assert page.locator("h1").inner_text() == "补正材料"
        assert serious(page) == []

        page.get_by_role("button", name="提交补正材料").click()  # no file chosen
        assert f"请选择{MISSING}的文件" in page.inner_text(".error-summary")
        page.get_by_label(MISSING).set_input_files(
            {"name": "身份证.txt", "mimeType": "text/plain", "buffer": b"not a scan"})
        page.get_by_role("button", name="提交补正材料").click()
        assert "PDF" in page.inner_text(".error-summary")  # says which types are taken
        assert serious(page) == []
        page.screenshot(path=str(shots / "supplement-error.png"), full_page=True)

        page.get_by_label(MISSING).set_input_files(
            {"name": "身份证.pdf", "mimeType": "application/pdf", "buffer": PDF})
        page.get_by_role("button", name="提交补正材料").click()
        assert "已收到您的补正材料" in page.inner_text("main")
        reload_until(page, "#timeline", "补正材料 申请人")
        assert page.get_by_role("link", name="上传补正材料").count() == 0

        clerk.reload()
        reload_until(clerk, ".timeline", "补正材料")
        assert clerk.get_by_role("button", name="受理", exact=True).count() == 1
