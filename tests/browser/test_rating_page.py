"""好差评 on a page: once the pension transfer is completed, the applicant rates 鄂尔多斯's
handling poorly with a comment; the case page shows the rating in the timeline, a second rating
of the same region is refused with an error summary, and the supervisor's dashboard counts the
rating for anyone, and — signed in as a supervisor, not as a clerk — lists the 差评 with its
follow-up (整改中) by case number."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from simulations.workload import draw_applicant
from tests.browser.site import quick_start
from tests.browser.test_applicant_journey import wait_for_status
from tests.browser.test_catalogue_pages import serious
from tests.browser.test_withdrawal_page import apply_and_open
from tests.integration.test_staff_api import issue


def test_an_applicant_rates_a_completed_transfer_and_the_supervisor_sees_it(
        browser: Any, nats_server: Any, tmp_path: Path, shots: Path) -> None:
    applicant = draw_applicant(random.Random(11)).citizen.number
    tokens = tmp_path / "staff.json"
    clerk = issue(tokens, "150600", "window", "W0451")
    supervisor = issue(tokens, "150600", "supervisor", "S0007")
    with quick_start(nats_server.url, tmp_path,
                     env={"TONGBAN_STAFF_TOKENS": str(tokens)}) as site:
        url = site.urls["150600"]
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        number = apply_and_open(page, url, applicant)
        # no rating link before the end (one read of a static page: the back-ends may already
        # have completed the case by the time it loads, as under load in CI)
        if page.inner_text("#status") != "已办结":
            assert page.get_by_role("link", name="评价办理情况").count() == 0
        wait_for_status(page, "已办结")

        page.get_by_role("link", name="评价办理情况").click()
        assert page.locator("h1").inner_text() == "评价办理情况"
        assert serious(page) == []
        page.get_by_role("button", name="提交评价").click()  # no score chosen
        assert "请选择评价" in page.inner_text(".error-summary")
        page.get_by_label("不满意", exact=True).check()
        page.get_by_label("您的意见（可不填）").fill("材料要求没有一次说清楚")
        page.screenshot(path=str(shots / "rating.png"), full_page=True)
        page.get_by_role("button", name="提交评价").click()

        page.wait_for_selector("#timeline")
        assert "感谢您的评价" in page.inner_text("main")
        deadline = time.monotonic() + 20  # the views follow the commit a moment later
        while "评价" not in page.inner_text("#timeline"):
            assert time.monotonic() < deadline, page.inner_text("main")
            time.sleep(0.5)
            page.reload()

        page.goto(f"{url}/cases/{number}/rate")  # again, the same region
        page.get_by_label("非常满意").check()
        page.get_by_role("button", name="提交评价").click()
        assert "已经评价过" in page.inner_text(".error-summary")
        assert serious(page) == []

        board = browser.new_page(viewport={"width": 1280, "height": 900})
        board.goto(url + "/supervision")  # anyone: figures, no case numbers
        assert board.inner_text("#rating-count") == "1"
        assert board.inner_text("#rating-average") == "2.0"
        assert number not in board.content()
        assert serious(board) == []

        board.get_by_role("link", name="监督人员登录").click()
        board.get_by_label("工作人员令牌").fill(clerk)  # a window clerk is no supervisor
        board.get_by_role("button", name="登录").click()
        answer = board.goto(url + "/staff/supervision")
        assert answer is not None and answer.status == 403
        board.goto(url + "/staff")
        board.get_by_role("button", name="退出登录").click()
        board.get_by_label("工作人员令牌").fill(supervisor)
        board.get_by_role("button", name="登录").click()  # a supervisor lands on the details
        poor = board.inner_text("#poor-ratings")
        assert number in poor and "整改中" in poor
        assert "没有两地不一致" in board.inner_text("#joint-issues")
        assert serious(board) == []
        board.screenshot(path=str(shots / "supervision-ratings.png"), full_page=True)
