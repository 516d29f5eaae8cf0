"""needs_attention resolved through the staff API (issue 13): more money arrives than the origin's
sheet states, the destination needs attention; a retry (`resolve-attention`) is refused while
the amounts disagree — a note cannot make money match — and so is closing the case (`close`:
money that came is never closed away); the department escalates it (`escalate`, 督办 with its
reason), which puts it in the supervisors' queue until the attention ends; the department's
correction (`return-excess`) reconciles the case, which the node then completes and credits by
itself: the staff case view shows the crediting confirmed (`amounts_fen.credited`).
"""

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
from tests.integration.test_staff_api import issue
from tests.integration.test_staff_casework import wait_for

ORDOS, YULIN = "150600", "610800"


def test_an_excess_needs_attention_until_returned_then_the_crediting_is_confirmed(
        nats_server: Any, tmp_path: Path) -> None:
    tokens = tmp_path / "staff.json"
    clerk = issue(tokens, ORDOS, "window", "W0100")
    ordos_officer = issue(tokens, ORDOS, "department", "D0200")
    yulin_officer = issue(tokens, YULIN, "department", "D0300")
    ordos_supervisor = issue(tokens, ORDOS, "supervisor", "S0400")
    applicant = draw_applicant(random.Random(57)).citizen.number
    with quick_start(nats_server.url, tmp_path, backends=False,
                     env={"TONGBAN_STAFF_TOKENS": str(tokens)}) as site:
        ordos, yulin = site.urls[ORDOS], site.urls[YULIN]
        applied = httpx.post(f"{ordos}/api/v1/applications",
                             headers={"Idempotency-Key": "attn-apply-1"},
                             json={"item_id": "b1-7", "applicant_id": applicant,
                                   "origin": YULIN})
        assert applied.status_code == 201, applied.text
        number, code = applied.json()["case_number"], applied.json()["query_code"]

        def staff(url: str, token: str, action: str, body: dict[str, Any] | None = None,
                  key: str = "") -> httpx.Response:
            return httpx.post(f"{url}/api/v1/staff/cases/{number}/{action}", json=body,
                              headers={"Authorization": f"Bearer {token}",
                                       "Idempotency-Key": key or f"attn-{action}"})

        def escalations() -> list[dict[str, Any]]:
            answer = httpx.get(f"{ordos}/api/v1/supervision/joint-cases",
                               params={"state": "escalated"},
                               headers={"Authorization": f"Bearer {ordos_supervisor}"})
            assert answer.status_code == 200, answer.text
            return answer.json()  # type: ignore[no-any-return]

        def eventually(check: Any) -> None:
            deadline = time.monotonic() + 20
            while not check():
                assert time.monotonic() < deadline
                time.sleep(0.3)

        def seen_by(token: str) -> dict[str, Any]:
            answer = httpx.get(f"{ordos}/api/v1/staff/cases/{number}",
                               headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, answer.text
            return answer.json()  # type: ignore[no-any-return]

        assert staff(ordos, clerk, "accept").status_code == 200
        wait_for(yulin, number, code, "received")
        assert staff(yulin, yulin_officer, "approve").status_code == 200
        sheet = pension.transfer_amount(120_000, [ContributionYear(2019, 12, 600_000),
                                                  ContributionYear(2020, 12, 650_000)])
        issued = staff(yulin, yulin_officer, "info-sheet", {
            "months": sheet.months,
            "components": [dataclasses.asdict(c) for c in sheet.components],
            "years": [dataclasses.asdict(y) for y in sheet.years],
            "pooled_by_year": [dataclasses.asdict(y) for y in sheet.pooled_by_year]})
        assert issued.status_code == 200, issued.text
        wait_for(ordos, number, code, "awaiting_transfer")

        excess = 10_000
        funds = staff(ordos, ordos_officer, "funds-received", {
            "from_region": YULIN, "amount_fen": sheet.amount_fen + excess,
            "bank_ref": "BK2026120500031", "value_date": dt.date.today().isoformat()})
        assert funds.status_code == 200, funds.text
        wait_for(ordos, number, code, "needs_attention")
        assert seen_by(clerk)["needs_attention"] is True

        retried = staff(ordos, ordos_officer, "resolve-attention", {"note": "已核对，继续办理"})
        assert retried.status_code == 409, retried.text
        assert retried.json()["code"] == "correction_needed"
        closing = staff(ordos, ordos_officer, "close", {"reason": "账目不符，结案"})
        assert (closing.status_code, closing.json()["code"]) == (409, "already_transferred")
        not_needed = staff(yulin, yulin_officer, "escalate", {"reason": "请督办"})
        assert (not_needed.status_code, not_needed.json()["code"]) == (409, "no_attention")

        reason = "转出地多转资金，请督办核实"
        escalated = staff(ordos, ordos_officer, "escalate", {"reason": reason})
        assert escalated.status_code == 200, escalated.text
        assert escalated.json()["status"] == "needs_attention"
        assert escalated.json()["events"] == ["AttentionEscalated"]
        again = staff(ordos, ordos_officer, "escalate", {"reason": "再次督办"}, key="attn-esc-2")
        assert (again.status_code, again.json()["code"]) == (409, "already_escalated")
        eventually(lambda: seen_by(clerk)["escalated"] == reason)
        eventually(lambda: [(r["case_number"], r["escalated"]) for r in escalations()]
                   == [(number, reason)])

        returned = staff(ordos, ordos_officer, "return-excess",
                         {"from_region": YULIN, "bank_ref": "BK2026120600003"})
        assert returned.status_code == 200, returned.text
        wait_for(ordos, number, code, "completed")
        seen = seen_by(clerk)
        assert (seen["status"], seen["needs_attention"]) == ("completed", False)
        assert seen["amounts_fen"] == {"stated": sheet.amount_fen,
                                       "received": sheet.amount_fen,
                                       "credited": sheet.amount_fen}
        assert seen["escalated"] == "" and escalations() == []  # the attention ended
