"""咨询 / 投诉 / 建议 over HTTP (issue 13), and the complaints supervisors watch (issue 12).

    endpoint                                   anyone  window  department  supervisor  other region
    POST /consultations                          ✓
    GET  /consultations/{number} + query code    ✓
    GET  /staff/consultations                            ✓        ✓           ✓          403
    POST /staff/consultations/{number}/reply             ✓        ✓          403         403
    GET  /supervision/complaints                        403      403          ✓          403
    (a staff route without a token, or with an unknown, expired or revoked one: 401)

A consultation is a small case of its own (`domain.protocols.consultation`) at this node's
region: opened through the one command service (`Idempotency-Key` → the command id and the
number, so a double submit opens one), answered by staff (the actor is the token's staff
member), with a reply deadline the node's timer flags when missed. Its number and query code
work like an application's (`api.applicants`): the code is the keyed digest of the number.

(No `from __future__ import annotations` here: FastAPI must evaluate the dependencies named in
the annotations, which are local to the router function.)
"""


import asyncio
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, Field

from api import applicants, examples
from api.applicant_actions import done
from api.problems import RESPONSES, Problem, documented, example
from api.staff import Grant
from api.staff_api import DECIDERS, ROLE_NAMES, authenticate
from domain.calendar import china_date
from domain.kernel import Actor, InvalidValue
from domain.protocols.consultation import KIND_NAMES, PROCESS, Consult, ReplyConsultation
from domain.values import CaseNumber, RegionCode
from regions.core.commands import CommandRequest

NUMBER_EXAMPLE = examples.CONSULTATION_NUMBER


class Consultation(BaseModel):
    """咨询 (consult), 投诉 (complain) or 建议 (suggest); a complaint may name its case."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"kind": "complain", "subject": "转移办理太慢", "text": "申请已超过一个月仍未办结",
         "about_case": NUMBER_EXAMPLE},
        {"kind": "consult", "subject": "需要哪些材料", "text": "养老保险关系转移需要带什么？"}]}}

    kind: Literal["consult", "complain", "suggest"]
    subject: str = Field(min_length=1, max_length=100)
    text: str = Field(min_length=1, max_length=2000)
    about_case: str = Field(default="", max_length=60)


class Reply(BaseModel):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"reply": "已核实，转出地已出具信息表，预计五个工作日内办结"}]}}

    reply: str = Field(min_length=1, max_length=2000)


ROW = {"number": NUMBER_EXAMPLE, "kind": "complain", "kind_text": "投诉",
       "subject": "转移办理太慢", "text": "一个月仍未办结", "about_case": "", "status": "open",
       "status_text": "待答复", "opened_at": "2026-12-05T02:00:00+00:00",
       "reply_due": "2026-12-25T16:00:00+00:00", "overdue": False, "reply": "",
       "replied_at": None}


def described(view: Any) -> dict[str, Any]:
    """A consultation as its asker and the staff see it (no personal data is recorded)."""
    texts = dict(view.consultation)
    deadline = view.deadline
    return {"number": view.case_number, "kind": texts.get("kind", ""),
            "kind_text": KIND_NAMES.get(texts.get("kind", ""), ""),
            "subject": texts.get("subject", ""), "text": texts.get("text", ""),
            "about_case": texts.get("about_case", ""), "status": view.status,
            "status_text": view.status_text,
            "opened_at": view.opened_at.isoformat() if view.opened_at else None,
            "reply_due": deadline.due_at.isoformat() if deadline else None,
            "overdue": "reply" in view.overdue, "reply": texts.get("reply", ""),
            "replied_at": texts.get("replied_at") or None}


def consultations_router(context: Any) -> APIRouter:
    """`context` is the pages' `WebContext`."""
    router = APIRouter(prefix="/api/v1", responses=RESPONSES)

    def views() -> Any:
        found = context.views()
        if found is None:
            raise Problem(503, "Not running", "本节点尚未开始运行", code="unavailable")
        return found

    def consultation(number: str) -> Any:
        view = views().case(number)
        if view is None or view.process != PROCESS:
            raise Problem(404, "Unknown consultation", "本地没有这个咨询、投诉或建议",
                          code="unknown_case", field="number")
        return view

    def all_consultations() -> list[Any]:
        return [v for v in views().cases.values() if v.process == PROCESS]

    @router.post("/consultations", tags=["applicants"], status_code=201,
                 summary="Consult, complain or suggest (咨询、投诉、建议)",
                 responses={201: {"content": {"application/json": {"example": {
                     "number": NUMBER_EXAMPLE, "query_code": "7K3M9Q2XDA", "status": "open"}}}}})
    async def open_consultation(body: Consultation,
                                idempotency_key: Annotated[str, Header(min_length=8,
                                                                       max_length=80)],
                                ) -> dict[str, Any]:
        driver = context.status.driver if context.status is not None else None
        service = context.service()
        if driver is None or service is None:
            raise Problem(503, "Not the active worker", "本节点暂不受理", code="unavailable")
        if body.about_case:
            try:
                CaseNumber.parse(body.about_case)
            except InvalidValue:
                raise Problem(422, "Invalid case number", "所涉办件编号格式不正确",
                              code="invalid_value", field="about_case") from None
        region = context.region
        key = uuid.uuid5(uuid.NAMESPACE_URL, f"tongban:consult:{region}:{idempotency_key}")
        number = str(CaseNumber.new(RegionCode(region), china_date(driver.now()), key))
        command = Consult(actor=Actor("applicant", "anonymous", region), case_number=number,
                          kind=body.kind, subject=body.subject, text=body.text,
                          about_case=body.about_case)
        request = CommandRequest(command_id=f"web:consult:{key}", principal=applicants.PRINCIPAL,
                                 command=command, case_number=number, process=PROCESS)
        status = done(await driver.db(service.handle, request, driver.now()))
        return {"number": number, "query_code": applicants.query_code(context.register_key,
                                                                      number),
                "status": status}

    @router.get("/consultations/{number}", tags=["applicants"],
                summary="A consultation and its reply (with its query code)",
                responses={200: {"content": {"application/json": {"example": {
                    "number": NUMBER_EXAMPLE, "kind": "complain", "kind_text": "投诉",
                    "subject": "转移办理太慢", "status": "replied", "status_text": "已答复",
                    "reply_due": "2026-12-25T16:00:00+00:00", "overdue": False,
                    "reply": "已核实，预计五个工作日内办结"}}}}})
    async def read_consultation(number: str, request: Request,
                                x_query_code: applicants.QueryCode = "",
                                ) -> dict[str, Any]:
        client = request.client.host if request.client else "?"
        if context.throttle.blocked(number, client):
            raise Problem(429, "Too many attempts", "尝试次数过多，请 15 分钟后再试",
                          code="rate_limited")
        if context.status is None or not applicants.code_matches(
                context.register_key, number[:60], x_query_code):
            context.throttle.failed(number[:60], client)
            raise Problem(403, "Wrong query code", "编号或查询码不正确",
                          code="forbidden", field="X-Query-Code")
        return described(consultation(number))

    def staff(authorization: Annotated[str, Header(max_length=200)] = "") -> Grant:
        return authenticate(context, authorization, "不能查看其他地区的咨询、投诉")

    def replier(who: Annotated[Grant, Depends(staff)]) -> Grant:
        if who.role not in DECIDERS:
            raise Problem(403, "Read-only role", "该角色只能查看，不能答复",
                          code="forbidden_role", field="Authorization",
                          who=who.who)
        return who

    @router.get("/staff/consultations", tags=["staff"],
                summary="The consultations waiting for a reply, the most urgent first",
                responses={200: {"content": {"application/json": {"example": [ROW]}}}})
    async def queue(who: Annotated[Grant, Depends(staff)],
                    include_replied: Annotated[bool, Query()] = False) -> list[dict[str, Any]]:
        found = await asyncio.to_thread(all_consultations)
        rows = [described(v) for v in found if include_replied or not v.terminal]
        return sorted(rows, key=lambda r: (r["reply_due"] or "9999", r["number"]))

    @router.post("/staff/consultations/{number}/reply", tags=["staff"],
                 summary="Answer a consultation, complaint or suggestion",
                 responses={200: {"content": {"application/json": {"example": {
                     "number": NUMBER_EXAMPLE, "status": "replied"}}}},
                     **documented(409, "already answered", example(
                         409, "Refused", "未能办理（case_closed）：the consultation was "
                         "already answered", "case_closed", "command.type"))})
    async def reply(number: str, body: Reply,
                    key: Annotated[str, Header(alias="Idempotency-Key", min_length=8,
                                               max_length=80)],
                    who: Annotated[Grant, Depends(replier)]) -> dict[str, Any]:
        view = consultation(number)
        driver = context.status.driver if context.status is not None else None
        service = context.service()
        if driver is None or service is None:
            raise Problem(503, "Not the active worker", "本节点暂不受理操作", code="unavailable")
        actor = Actor("staff", who.staff_id, who.region, ROLE_NAMES[who.role])
        request = CommandRequest(command_id=f"staff:{who.staff_id}:{key}",
                                 principal=f"staff:{who.staff_id}",
                                 command=ReplyConsultation(actor=actor, reply=body.reply),
                                 case_id=view.case_id)
        status = done(await driver.db(service.handle, request, driver.now()))
        return {"number": number, "status": status}

    def supervisor(who: Annotated[Grant, Depends(staff)]) -> Grant:
        if who.role != "supervisor":
            raise Problem(403, "Supervisors only", "只有监督人员可以查看",
                          code="forbidden_role", field="Authorization",
                          who=who.who)
        return who

    @router.get("/supervision/complaints", tags=["supervisors"],
                summary="Complaints with their reply deadlines; the overdue ones flagged",
                responses={200: {"content": {"application/json": {"example": {
                    "total": 1, "open": 1, "overdue": 0, "replied_late": 0,
                    "complaints": [ROW]}}}}})
    async def complaints(who: Annotated[Grant, Depends(supervisor)],
                         state: Annotated[Literal["all", "open", "overdue"], Query()] = "all",
                         ) -> dict[str, Any]:
        found = await asyncio.to_thread(all_consultations)
        rows = [described(v) for v in found if v.consultation.get("kind") == "complain"]
        chosen = [r for r in rows if state == "all" or (state == "open" and r["status"] == "open")
                  or (state == "overdue" and r["overdue"])]
        return {"total": len(rows), "open": sum(r["status"] == "open" for r in rows),
                "overdue": sum(r["overdue"] for r in rows),
                "replied_late": sum(r["overdue"] and r["status"] == "replied" for r in rows),
                "complaints": sorted(chosen, key=lambda r: (r["reply_due"] or "9999",
                                                           r["number"]))}

    return router
