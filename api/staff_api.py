"""The staff side of the JSON API (`/api/v1/staff`): the region's work queue, a case, and the
intake decision (受理 / 不予受理), behind a bearer token (`api.staff`).

Who may do what (the authorisation matrix `tests/integration/test_staff_api.py` checks):

    endpoint                         window  department  supervisor   other region's token
    GET  /staff/queue                  ✓        ✓            ✓              403
    GET  /staff/cases/{number}         ✓        ✓            ✓              403
    POST /staff/cases/{number}/accept  ✓        ✓            403            403
    POST /staff/cases/{number}/reject  ✓        ✓            403            403
    POST /staff/cases/{number}/approve, refuse-transfer-out, info-sheet, correct-info-sheet,
         remit-funds, funds-received, return-excess, resolve-attention, escalate, close,
         close-follow-up
         (`api.staff_casework`)
                                       403      ✓            403            403
    POST /staff/proxy-applications, /cases/{number}/forward, hand-over, request-supplement,
         confirm-originals, approve-application, deny-application, send-result
         (proxy mode, `api.staff_window`: its own table)
    POST /staff/materials, GET /staff/cases/{number}/materials[/{doc_id}], GET /staff/audit
         (documents and the audit log of unmasked reads, `api.staff_records`: its own table)
    GET  /staff/consultations, POST …/reply, GET /supervision/complaints: `api.consultations`
    no token or an unknown, expired or revoked one: 401

Writes go through the node's command service like every other command, with the actor built
from the token and `Idempotency-Key` as the command id (scoped to the staff member).

(No `from __future__ import annotations` here: FastAPI must evaluate the dependencies named in
the annotations, which are local to `staff_router`.)
"""


import dataclasses
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, Field

from api import examples
from api.case_json import staff_case
from api.problems import RESPONSES, Problem, refused
from api.staff import Grant, TokenFile
from api.staff_casework import department_routes
from api.staff_ops import StaffOps
from api.staff_records import records_routes
from api.staff_window import window_routes
from domain.kernel import Actor, Command
from domain.protocols.intake import AcceptIntake, RejectIntake
from regions.core.commands import CommandRequest

ROLE_NAMES = {"window": "收件窗口", "department": "办理部门", "supervisor": "监督"}
DECIDERS = frozenset({"window", "department"})


class Rejection(BaseModel):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"reason": "材料不齐：缺少参保缴费凭证"}]}}

    reason: str = Field(min_length=2, max_length=500)


def authenticate(context: Any, authorization: str, other_region: str) -> Grant:
    """The grant of a bearer token of this node's region (401 without one, 403 and a log line
    for another region's, `other_region` its Chinese detail): every staff router's first step."""
    token = authorization.removeprefix("Bearer ").strip()
    file = context.status.config.staff_tokens if context.status is not None else None
    found = TokenFile(file).check(token, dt.datetime.now(dt.UTC)) if file and token else None
    if found is None:
        raise Problem(401, "Not authenticated", "需要有效的工作人员令牌",
                      code="unauthenticated", field="Authorization")
    if found.region != context.region:  # logged with the holder (api.problems)
        raise Problem(403, "Other region", other_region,
                      code="forbidden_region", field="Authorization", who=found.who)
    return found


def staff_router(context: Any) -> APIRouter:
    router = APIRouter(prefix="/api/v1/staff", tags=["staff"], responses=RESPONSES)

    def grant(authorization: Annotated[str, Header(max_length=200)] = "") -> Grant:
        return authenticate(context, authorization, "不能办理其他地区的业务")

    def decider(who: Annotated[Grant, Depends(grant)]) -> Grant:
        if who.role not in DECIDERS:
            raise Problem(403, "Read-only role", "该角色只能查看，不能办理",
                          code="forbidden_role", field="Authorization",
                          who=who.who)
        return who

    def view_of(number: str) -> Any:
        views = context.views()
        view = views.case(number) if views is not None else None
        if view is None:
            raise Problem(404, "Unknown case", "本地没有这个办件", code="unknown_case",
                          field="case_number")
        return view

    @router.get("/queue", summary="What waits for this region, the most urgent first",
                responses=examples.QUEUE)
    async def queue(who: Annotated[Grant, Depends(grant)]) -> list[dict[str, Any]]:
        views = context.views()
        entries = views.queue() if views is not None else []
        return [{**dataclasses.asdict(e), "due_at": e.due_at.isoformat() if e.due_at else None}
                for e in entries]

    @router.get("/cases/{case_number}", summary="A case as this region knows it (masked)",
                description="`amounts_fen` of a transfer: what the origins' sheets state, what "
                            "this region's finance recorded as received, and what was credited "
                            "(记账) — set when the node confirmed the crediting (see "
                            "`funds-received`).",
                responses=examples.STAFF_CASE)
    async def case(case_number: str, who: Annotated[Grant, Depends(grant)]) -> dict[str, Any]:
        return staff_case(view_of(case_number))

    async def run(who: Grant, case_number: str, command: Command, key: str) -> dict[str, Any]:
        view = view_of(case_number)
        driver = context.status.driver if context.status is not None else None
        service = context.service()
        if driver is None or service is None:
            raise Problem(503, "Not the active worker", "本节点暂不受理操作", code="unavailable")
        request = CommandRequest(command_id=f"staff:{who.staff_id}:{key}",
                                 principal=f"staff:{who.staff_id}", command=command,
                                 case_id=view.case_id)
        result = await driver.db(service.handle, request, driver.now())
        if not result.ok:
            assert result.error is not None
            raise refused(result.status if result.status >= 400 else 409, result.error.code,
                          result.error.message, result.error.field)
        assert result.outcome is not None
        return {"case_number": case_number, "status": result.outcome.status,
                "events": list(result.outcome.events)}

    def actor(who: Grant) -> Actor:
        return Actor("staff", who.staff_id, who.region, ROLE_NAMES[who.role])

    Key = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=80)]

    @router.post("/cases/{case_number}/accept", summary="受理: accept the application",
                 responses=examples.step("awaiting_transfer", "IntakeAccepted",
                                         "ContactLetterIssued"))
    async def accept(case_number: str, key: Key,
                     who: Annotated[Grant, Depends(decider)]) -> dict[str, Any]:
        return await run(who, case_number, AcceptIntake(actor=actor(who)), key)

    @router.post("/cases/{case_number}/reject", summary="不予受理, with the reason",
                 responses=examples.step("rejected", "IntakeRejected"))
    async def reject(case_number: str, body: Rejection, key: Key,
                     who: Annotated[Grant, Depends(decider)]) -> dict[str, Any]:
        return await run(who, case_number, RejectIntake(actor=actor(who), reason=body.reason),
                         key)

    ops = StaffOps(grant, run, actor)
    department_routes(router, ops)
    window_routes(context, router, ops)
    records_routes(context, router, grant)
    return router
