"""The JSON API for applicants and supervisors (`/api/v1`), beside the pages, on the node's
HTTP server. Errors are RFC 9457 problem details (`api.problems`).

What is here: catalogue search and guides (anyone), an online transfer application with an
`Idempotency-Key` (the node's command id: a retry opens nothing twice), the applicant's case view
behind the query code (`X-Query-Code`), and the region's statistics. It calls the same services
the pages call (`api.applicants`, `projections.views`), so page and API cannot disagree.
Staff operations (tokens bound to region and role) are not built yet (issue 13).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field

from api import applicants, examples
from api.case_json import applicant_case
from api.problems import RESPONSES, Problem, documented, example, invalid_field, refused
from domain.catalogue.materials import materials_guide
from domain.kernel import InvalidValue, UnknownItem
from domain.values import CaseNumber


class Application(BaseModel):
    """An online transfer application at this node (转入地) from one 转出地."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"item_id": "b1-7", "applicant_id": "120101197601310292", "origin": "610800"}]}}

    item_id: str = Field(min_length=1, max_length=20, description="catalogue item, e.g. b1-7")
    applicant_id: str = Field(min_length=15, max_length=20,
                              description="居民身份证号码; the node keeps only a keyed hash "
                                          "and the masked form")
    origin: str = Field(pattern=r"^[0-9]{6}$", description="转出地 region code (a peer)")


class Withdrawal(BaseModel):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"id_last4": "029X", "reason": "不再需要转移"}]}}

    id_last4: str = Field(pattern=r"^[0-9]{3}[0-9Xx]$", description="身份证号码后四位")
    reason: str = Field(default="", max_length=200)


class Applied(BaseModel):
    case_number: str
    query_code: str = Field(description="shown once; any participating node accepts it")
    status: str


def rest_router(context: Any) -> APIRouter:
    """`context` is the pages' `WebContext` (catalogue, materials, node status, throttle)."""
    router = APIRouter(prefix="/api/v1", responses=RESPONSES)

    @router.get("/items", tags=["anyone"], summary="Search the catalogue",
                responses={200: {"content": {"application/json": {"example": [
                    {"id": "b1-7", "name": "企业职工基本养老保险关系转移接续",
                     "modes": ["joint"], "process": "pension_transfer", "batch": 1}]}}}})
    async def items(q: Annotated[str, Query(max_length=50)] = "") -> list[dict[str, Any]]:
        found = context.catalogue.search(q) if q.strip() else context.catalogue.items
        return [{"id": i.id, "name": i.name, "modes": list(i.modes), "process": i.process,
                 "batch": i.batch} for i in found]

    @router.get("/items/{item_id}", tags=["anyone"], summary="An item's guide",
                responses={200: {"content": {"application/json": {
                    "example": examples.item_guide()}}},
                    **documented(404, "no such item", example(
                        404, "Unknown item", "目录中没有编号为 b9-99 的事项", "unknown_item",
                        "item_id"))})
    async def item(item_id: Annotated[str, Field(max_length=20)]) -> dict[str, Any]:
        try:
            entry = context.catalogue.get(item_id)
        except UnknownItem:
            raise Problem(404, "Unknown item", f"目录中没有编号为 {item_id[:20]} 的事项",
                          code="unknown_item", field="item_id") from None
        return {**entry.to_dict(include_raw=False),
                "guide": materials_guide(context.materials, entry.id, context.region)}

    @router.post("/applications", tags=["applicants"], status_code=201,
                 summary="Apply online for a transfer (this node is the 转入地)",
                 responses={**examples.APPLIED,
                            **documented(409, "refused: the Idempotency-Key's first request is "
                                         "still being decided", example(
                                             409, "Refused", "未能办理（in_progress）：this "
                                             "command_id's first request is still being decided",
                                             "in_progress", "command_id")),
                            **documented(422, "invalid field (problem+json names it)", example(
                                422, "Unknown origin", "转出地不是本节点的协作地区",
                                "unknown_peer", "origin"), example(
                                422, "Not applicable online here",
                                "这个事项不能在这里在线申请，请到窗口办理", "wrong_process",
                                "item_id"))})
    async def apply(body: Application,
                    idempotency_key: Annotated[str, Header(min_length=8, max_length=80)],
                    ) -> Applied:
        entry = _transfer_item(body.item_id)
        driver = context.status.driver if context.status is not None else None
        if driver is None:
            raise Problem(503, "Not the active worker", "本节点暂不受理申请，请稍后再试",
                          code="unavailable")
        if body.origin not in context.peers:
            raise Problem(422, "Unknown origin", "转出地不是本节点的协作地区",
                          code="unknown_peer", field="origin")
        try:
            applied = await applicants.apply_for_transfer(
                driver, context.service(), item_id=entry.id, process=entry.process,
                applicant_id=body.applicant_id, origin=body.origin,
                register_key=context.register_key, request_id=f"api:{idempotency_key}")
        except InvalidValue as exc:
            raise invalid_field(exc, exc.field or "applicant_id") from None
        result = applied.result
        if not result.ok:
            assert result.error is not None
            raise refused(result.status if result.status >= 400 else 422, result.error.code,
                          result.error.message, result.error.field)
        assert result.outcome is not None
        return Applied(case_number=applied.case_number, query_code=applied.query_code,
                       status=result.outcome.status)

    @router.get("/cases/{case_number}", tags=["applicants"],
                summary="The applicant's view of a case (any participating node)",
                responses={**examples.APPLICANT_CASE,
                           **documented(403, "wrong query code", example(
                               403, "Wrong query code", "办件编号或查询码不正确", "forbidden",
                               "X-Query-Code")),
                           **documented(404, "not known at this node yet", example(
                               404, "Not known here yet", "本节点还没有这个办件的记录",
                               "unknown_case", "case_number"))})
    async def case(case_number: str, request: Request,
                   x_query_code: applicants.QueryCode = "") -> dict[str, Any]:
        try:
            CaseNumber.parse(case_number)
        except InvalidValue:
            raise Problem(422, "Invalid case number", "办件编号格式不正确",
                          code="invalid_value", field="case_number") from None
        client = request.client.host if request.client else "?"
        if context.throttle.blocked(case_number, client):
            raise Problem(429, "Too many attempts", "尝试次数过多，请 15 分钟后再试",
                          code="rate_limited")
        if context.status is None or not applicants.code_matches(
                context.register_key, case_number, x_query_code):
            context.throttle.failed(case_number, client)
            raise Problem(403, "Wrong query code", "办件编号或查询码不正确",
                          code="forbidden", field="X-Query-Code")
        views = context.views()
        view = views.case(case_number) if views is not None else None
        if view is None:
            raise Problem(404, "Not known here yet", "本节点还没有这个办件的记录",
                          code="unknown_case", field="case_number")
        return applicant_case(view)

    @router.post("/cases/{case_number}/withdraw", tags=["applicants"],
                 summary="Withdraw (撤回) at the region that took the application",
                 responses={**examples.WITHDRAWN,
                            **documented(403, "wrong query code or ID number", example(
                                403, "Identity not confirmed", "身份证号码后四位不正确",
                                "forbidden", "id_last4")),
                            **documented(409, "refused by the case's rules, or not here", example(
                                409, "Not the accepting region", "请在受理申请的地区撤回",
                                "wrong_region", "case_number"), example(
                                409, "Refused", "未能办理（already_transferred）：the origin "
                                "has already transferred; the transfer completes",
                                "already_transferred", "command.type"))})
    async def withdraw(case_number: str, body: Withdrawal, request: Request,
                       idempotency_key: Annotated[str, Header(min_length=8, max_length=80)],
                       x_query_code: applicants.QueryCode = "") -> dict[str, Any]:
        view = await case(case_number, request, x_query_code)  # the same checks as reading
        found = context.views().case(case_number)
        if not found.applicant_masked:
            raise Problem(409, "Not the accepting region", "请在受理申请的地区撤回",
                          code="wrong_region", field="case_number")
        if not applicants.last_four_matches(found.applicant_masked, body.id_last4):
            context.throttle.failed(case_number, request.client.host if request.client else "?")
            raise Problem(403, "Identity not confirmed", "身份证号码后四位不正确",
                          code="forbidden", field="id_last4")
        driver = context.status.driver if context.status is not None else None
        if driver is None:
            raise Problem(503, "Not the active worker", "本节点暂不受理操作", code="unavailable")
        result = await applicants.withdraw(driver, context.service(), case_id=found.case_id,
                                           masked=found.applicant_masked, reason=body.reason,
                                           request_id=f"{case_number}:{idempotency_key}")
        if not result.ok:
            assert result.error is not None
            raise refused(409, result.error.code, result.error.message, result.error.field)
        assert result.outcome is not None
        return {"case_number": view["case_number"], "status": result.outcome.status}

    @router.get("/supervision", tags=["supervisors"], summary="This region's figures",
                responses=examples.SUPERVISION)
    async def supervision() -> dict[str, Any]:
        views = context.views()
        if views is None:
            raise Problem(503, "Not running", "本节点尚未开始运行", code="unavailable")
        figures = dataclasses.asdict(views.supervision())
        figures.pop("handling_days")
        return {**figures, "monthly_on_time": views.monthly_on_time()}

    def _transfer_item(item_id: str) -> Any:
        try:
            entry = context.catalogue.get(item_id)
        except UnknownItem:
            raise Problem(422, "Unknown item", f"目录中没有编号为 {item_id} 的事项",
                          code="unknown_item", field="item_id") from None
        if entry.process not in applicants.ONLINE_TRANSFERS:
            raise Problem(422, "Not applicable online here",
                          "这个事项不能在这里在线申请，请到窗口办理", code="wrong_process",
                          field="item_id")
        return entry

    return router
