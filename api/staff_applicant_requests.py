"""Staff operations that answer the applicant (`/api/v1/staff/...`), beside `api.staff_api`:
ask for a 补正 (the applicant then uploads through `api.applicant_actions`).

Who: a window or department token of this region (`api.staff`); supervisors 403 (read-only),
another region's token 403 (logged), no token 401. The actor is the token's staff member; the
`Idempotency-Key` is the command id, scoped to the staff member, through the one command service.

(No `from __future__ import annotations` here: FastAPI must evaluate the dependencies named in
the annotations, which are local to the router function.)
"""


from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, Field

from api.applicant_actions import done
from api.problems import RESPONSES, Problem
from api.staff import Grant
from api.staff_api import DECIDERS, ROLE_NAMES, authenticate
from domain.kernel import Actor, Command
from domain.protocols.intake import RequestSupplement
from regions.core.commands import CommandRequest


class SupplementRequest(BaseModel):
    """补正: every missing material kind at once (一次性告知), with a note for the applicant."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"missing_kinds": ["id_card"], "note": "身份证复印件不清晰，请重新上传"}]}}

    missing_kinds: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        min_length=1, max_length=20)
    note: str = Field(default="", max_length=500)


def staff_requests_router(context: Any) -> APIRouter:
    router = APIRouter(prefix="/api/v1/staff", tags=["staff"], responses=RESPONSES)

    def decider(authorization: Annotated[str, Header(max_length=200)] = "") -> Grant:
        who = authenticate(context, authorization, "不能办理其他地区的业务")
        if who.role not in DECIDERS:
            raise Problem(403, "Read-only role", "该角色只能查看，不能办理",
                          code="forbidden_role", field="Authorization")
        return who

    async def run(who: Grant, case_number: str, command: Command, key: str) -> dict[str, Any]:
        views = context.views()
        view = views.case(case_number) if views is not None else None
        if view is None:
            raise Problem(404, "Unknown case", "本地没有这个办件", code="unknown_case",
                          field="case_number")
        driver = context.status.driver if context.status is not None else None
        service = context.service()
        if driver is None or service is None:
            raise Problem(503, "Not the active worker", "本节点暂不受理操作", code="unavailable")
        request = CommandRequest(command_id=f"staff:{who.staff_id}:{key}",
                                 principal=f"staff:{who.staff_id}", command=command,
                                 case_id=view.case_id)
        status = done(await driver.db(service.handle, request, driver.now()))
        return {"case_number": case_number, "status": status}

    Key = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=80)]

    @router.post("/cases/{case_number}/request-supplement",
                 summary="补正: ask the applicant for the missing materials, all at once",
                 responses={200: {"content": {"application/json": {"example": {
                     "case_number": "150600-20261205-0000000001",
                     "status": "supplement_requested"}}}}})
    async def request_supplement(case_number: str, body: SupplementRequest, key: Key,
                                 who: Annotated[Grant, Depends(decider)]) -> dict[str, Any]:
        actor = Actor("staff", who.staff_id, who.region, ROLE_NAMES[who.role])
        command = RequestSupplement(actor=actor, missing_kinds=tuple(body.missing_kinds),
                                    note=body.note.strip())
        return await run(who, case_number, command, key)

    return router
