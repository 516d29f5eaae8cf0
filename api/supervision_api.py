"""Supervisors' read-only JSON views (`/api/v1/supervision/...`): the joint cases with their
agreement as this node knows them, one joint case's two sides side by side, the
reconciliation of transfers for a quarter, and the quarterly report (`projections.report`, the
same rows as `tongban report quarterly` and the dashboard).

Who: a staff token of this region with the role `supervisor` (`api.staff`); other roles and
other regions' tokens get 403, no token 401. Nothing here writes.

What "as this node knows them" means: a node holds its own side of a joint case and what its
counterpart told it (sheets, amounts, conclusions), so `projections.joint.agreement` judges the
sides it has and shows a counterpart it has no view of as unknown (`agreed: null`), never as
agreed. The figures come from the node's case views (view tables on SQLite and PostgreSQL, read
on a worker thread so the event loop never waits on the database).

(No `from __future__ import annotations` here: FastAPI must evaluate the dependencies named in
the annotations, which are local to `supervision_router`.)
"""


import asyncio
import dataclasses
import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.encoders import jsonable_encoder

from api import examples
from api.problems import RESPONSES, Problem, documented, example
from api.staff import Grant
from api.staff_api import authenticate
from domain.kernel import InvalidValue
from projections.joint import agreement
from projections.views import CaseViews

State = Literal["all", "disagreed", "running", "agreed", "escalated"]
QUARTER = documented(422, "not a quarter such as 2026Q4", example(
    422, "Invalid quarter", "季度格式不正确，应如 2026Q4", "invalid_value", "quarter"))


def supervision_router(context: Any) -> APIRouter:
    router = APIRouter(prefix="/api/v1/supervision", tags=["supervisors"], responses=RESPONSES)

    def supervisor(authorization: Annotated[str, Header(max_length=200)] = "") -> Grant:
        found = authenticate(context, authorization, "不能查看其他地区的监督数据")
        if found.role != "supervisor":
            raise Problem(403, "Supervisors only", "只有监督人员可以查看",
                          code="forbidden_role", field="Authorization",
                          who=found.who)
        return found

    def views() -> CaseViews:
        found: CaseViews | None = context.views()
        if found is None:
            raise Problem(503, "Not running", "本节点尚未开始运行", code="unavailable")
        return found

    @router.get("/joint-cases", summary="Joint cases and whether their sides agree, as known here",
                description="`escalated`: the reason staff gave when they raised 督办 on a side "
                            "that needs attention (`state=escalated` lists only those: the "
                            "supervisors' queue of escalations); the rows come disagreements "
                            "first, then escalations, then other cases needing attention.",
                responses=examples.JOINT_CASES)
    async def joint_cases(who: Annotated[Grant, Depends(supervisor)],
                          state: Annotated[State, Query()] = "all",
                          limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                          ) -> list[dict[str, Any]]:
        found = views()

        def judge() -> list[dict[str, Any]]:
            rows = []
            for view in found.cases.values():
                if not view.peers:
                    continue
                judged = agreement([view])
                kind = ("disagreed" if judged.agreed is False else
                        "agreed" if judged.agreed else "running")
                if state in ("all", kind) or (state == "escalated" and view.escalated):
                    rows.append({"case_number": view.case_number, "process": view.process,
                                 "role": view.role, "status": view.status,
                                 "status_text": view.status_text, "peers": list(view.peers),
                                 "state": kind, "disagreements": list(judged.disagreements),
                                 "attention": list(judged.attention),
                                 "escalated": view.escalated})
            # Disagreements first, then escalations (督办), then attention, then by number.
            rows.sort(key=lambda r: (r["state"] != "disagreed", not r["escalated"],
                                     not r["attention"], r["case_number"]))
            return rows[:limit]

        return await asyncio.to_thread(judge)

    @router.get("/joint-cases/{case_number}",
                summary="One joint case: each side's milestones and amounts, the allowed "
                        "pairs of outcomes, each disagreement with its reason",
                responses=examples.ok(examples.joint_case()))
    async def joint_case(case_number: str,
                         who: Annotated[Grant, Depends(supervisor)]) -> dict[str, Any]:
        found = views()
        judged = await asyncio.to_thread(found.agreement, case_number)
        if judged is None:
            raise Problem(404, "Unknown case", "本地没有这个办件", code="unknown_case",
                          field="case_number")
        data: dict[str, Any] = jsonable_encoder(dataclasses.asdict(judged))
        return data

    @router.get("/reconciliation",
                summary="Transfers sent and received in a quarter, in fen: matched, "
                        "mismatched with the difference, corrected, outstanding",
                responses={**examples.ok(examples.reconciliation()), **QUARTER})
    async def reconciliation(who: Annotated[Grant, Depends(supervisor)],
                             quarter: Annotated[str, Query(max_length=6,
                                                           examples=["2026Q4"])],
                             ) -> dict[str, Any]:
        start, end = _period(quarter)
        found = views()
        rec = await asyncio.to_thread(found.reconciliation, context.region, start, end)
        data: dict[str, Any] = jsonable_encoder(dataclasses.asdict(rec))
        data["period"] = quarter.upper()
        return data

    @router.get("/report",
                 summary="The quarterly report (季度报送): per item, mode and role, cases received "
                         "and finished, on-time rate, handling days (calendar and working), "
                         "overdue, ratings and follow-ups",
                 responses={200: {"content": {"application/json": {"example": {
                     "region": "150600", "period": "2026Q4", "rows": [{
                         "item": "b1-7", "mode": "joint", "role": "destination", "received": 12,
                         "completed": 9, "finished": 10, "on_time": 9, "on_time_rate": 0.9,
                         "median_days": 21.5, "p90_days": 38.0, "overdue_open": 1,
                         "median_working_days": 15.0, "p90_working_days": 27.0, "ratings": 6,
                         "rating_avg": 4.5, "poor_ratings": 1, "follow_ups_open": 0,
                         "follow_ups_overdue": 0}]}}}}, **QUARTER})
    async def quarterly_report(who: Annotated[Grant, Depends(supervisor)],
                               quarter: Annotated[str, Query(max_length=6,
                                                             examples=["2026Q4"])],
                               ) -> dict[str, Any]:
        from projections.report import quarterly
        from regions.runtime.bootstrap import default_rules

        start, end = _period(quarter)
        found = views()
        calendar = default_rules(context.status.config).calendar
        rows = await asyncio.to_thread(lambda: quarterly(found.cases.values(), start, end,
                                                         calendar))
        return {"region": context.region, "period": quarter.upper(),
                "rows": jsonable_encoder([dataclasses.asdict(r) for r in rows])}

    return router


def _period(quarter: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a quarter such as 2026Q4; a bad quarter is a 422 naming the field."""
    from projections.report import quarter_period

    try:
        return quarter_period(quarter)
    except InvalidValue as exc:
        raise Problem(422, "Invalid quarter", f"季度格式不正确，应如 2026Q4（{exc}）",
                      code="invalid_value",
                      field="quarter") from None
