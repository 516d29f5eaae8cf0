"""Applicant notifications survive a real crash (issue 13): a `tongban node` process SIGKILLed
between recording a 补正 request and sending its notice — before the send, or after the send
but before the notifications cursor moved — tells the applicant exactly once after its restart,
and the notices after the restart go out once too.

The crash is the node's own (`TONGBAN_CRASH_AT`, `regions.runtime.crashpoints`): the process
kills itself with SIGKILL at the planned point of the first batch that holds a notice, so the
window is hit on purpose, not by timing luck.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from regions.adapters.notify_log import read_sent
from regions.runtime.crashpoints import AFTER_NOTIFY_BEFORE_CURSOR, BEFORE_NOTIFY, ENV
from simulations.workload import draw_applicant
from tests.browser.site import Site, quick_start
from tests.integration.test_applicant_actions import PDF
from tests.integration.test_http_api import wait_status
from tests.integration.test_staff_api import issue

HOME = "150600"
TIMEOUT = 60.0


def wait_until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while not (found := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return found


def restart(site: Site, code: str) -> None:
    """The node again, on the same store, port and notifications file, without the crash."""
    [args] = [proc.args for name, proc in site.processes if name == f"node-{code}"]
    assert isinstance(args, list)
    site.env.pop(ENV)
    site.spawn(f"node-{code}-restarted", *map(str, args[3:]))  # after "python -m api"
    site.wait_ready()


@pytest.mark.parametrize("point", [BEFORE_NOTIFY, AFTER_NOTIFY_BEFORE_CURSOR])
def test_a_node_killed_around_the_send_tells_the_applicant_once(
        point: str, nats_server: Any, tmp_path: Path) -> None:
    tokens = tmp_path / "staff.json"
    clerk = issue(tokens, HOME, "window", "W0101")
    sent = tmp_path / "notifications" / f"{HOME}.jsonl"
    person = draw_applicant(random.Random(41)).citizen.number
    with quick_start(nats_server.url, tmp_path, backends=False,
                     env={"TONGBAN_STAFF_TOKENS": str(tokens), ENV: f"{point}:1"}) as site:
        url = site.urls[HOME]
        applied = httpx.post(f"{url}/api/v1/applications",
                             headers={"Idempotency-Key": "crash-apply-1"},
                             json={"item_id": "b1-7", "origin": "610800", "applicant_id": person})
        assert applied.status_code == 201, applied.text
        number, code = applied.json()["case_number"], applied.json()["query_code"]
        staff = {"Authorization": f"Bearer {clerk}"}
        asked = httpx.post(f"{url}/api/v1/staff/cases/{number}/request-supplement",
                           headers={**staff, "Idempotency-Key": "crash-ask-1"},
                           json={"missing_kinds": ["id_card"], "note": "请上传身份证正反面"})
        assert asked.status_code == 200, asked.text

        [node] = [proc for name, proc in site.processes if name == f"node-{HOME}"]
        try:
            assert node.wait(TIMEOUT) == -signal.SIGKILL
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the node was not killed at {point}") from None
        log = (tmp_path / f"node-{HOME}.log").read_text(errors="replace")
        assert f"CRASH POINT {point} pass 1: SIGKILL" in log
        before_restart = [e["kind"] for e in read_sent(sent)]
        assert before_restart == ([] if point == BEFORE_NOTIFY else ["supplement_needed"])

        restart(site, HOME)
        wait_until(lambda: len(list(read_sent(sent))) >= 1, "the 补正 notice after the restart")
        wait_status(url, number, code, "supplement_requested")
        supplied = httpx.post(f"{url}/api/v1/cases/{number}/supplement",
                              headers={"X-Query-Code": code, "Idempotency-Key": "crash-sup-1"},
                              json={"documents": [{"kind": "id_card", "title": "身份证",
                                                   "media_type": "application/pdf",
                                                   "content_base64": PDF}]})
        assert supplied.status_code == 200, supplied.text
        rejected = httpx.post(f"{url}/api/v1/staff/cases/{number}/reject",
                              headers={**staff, "Idempotency-Key": "crash-reject-1"},
                              json={"reason": "不属于本地受理范围"})
        assert rejected.status_code == 200, rejected.text
        told = wait_until(lambda: (found := list(read_sent(sent))) and len(found) >= 2 and found,
                          "the decision's notice")
        time.sleep(1.5)  # a duplicate would have been written by now: the tail polls faster
        told = list(read_sent(sent))
        assert [(e["case_number"], e["kind"]) for e in told] == [
            (number, "supplement_needed"), (number, "decided")]
        assert len({e["notice_id"] for e in told}) == 2
        assert told[0]["detail"]["note"] == "请上传身份证正反面"
