"""What an applicant does to their case over HTTP besides applying and withdrawing (issue 13):
supplement (补正: upload the missing documents into the region's content-addressed material
store) and rate (好差评, one per case and handling region; a poor rating opens a follow-up).

Both are behind the query code (`X-Query-Code`, the same checks and throttle as reading the
case) and act at the region that took the application — the side the applicant deals with: the
case number names it. Each write goes through the node's one command service with
`Idempotency-Key` as the command id (principal `web:applicant`), so a retry does nothing twice
and every refusal carries the service's stable code and HTTP status.

Documents travel as base64 in JSON (no multipart parser on the server); the store checks size,
type and magic bytes (`regions.adapters.blobs`) and the bytes are written on a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field

from api import applicants, examples
from api.problems import RESPONSES, Problem, documented, example, refused
from domain.kernel import Actor, Command, DomainError, InvalidValue
from domain.protocols.casework_events import Rate
from domain.protocols.intake import ProvideSupplement
from domain.values import CaseNumber, MaterialRef
from regions.core.commands import CommandRequest, CommandResult

#: At most this many documents in one supplement, each at most `MAX_DOCUMENT_BYTES` (the store's
#: own limit may be lower; it is checked again there).
MAX_DOCUMENTS = 10
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
_MAX_BASE64 = (MAX_DOCUMENT_BYTES + 2) // 3 * 4


class Document(BaseModel):
    model_config = {"extra": "forbid"}

    kind: str = Field(min_length=1, max_length=40, description="the material kind asked for "
                      "(the case's `supplement` list)")
    title: str = Field(min_length=1, max_length=200)
    media_type: str = Field(min_length=3, max_length=80, description="application/pdf, "
                            "application/ofd, image/jpeg, image/png or image/tiff")
    content_base64: str = Field(min_length=4, max_length=_MAX_BASE64)


class Supplement(BaseModel):
    """The documents a 补正 request asked for."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"documents": [{"kind": "id_card", "title": "身份证复印件", "media_type": "application/pdf",
                        "content_base64": "JVBERi0xLjQKJcfsj6IK"}]}]}}

    documents: list[Document] = Field(min_length=1, max_length=MAX_DOCUMENTS)


class Rating(BaseModel):
    """好差评: 1 (非常不满意) … 5 (非常满意); 1–2 open a follow-up at the rated region."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"score": 5, "comment": "办事快"}, {"score": 2, "comment": "等太久", "rated_region": "610800"}]}}

    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=200)
    rated_region: str = Field(default="", pattern=r"^([0-9]{6})?$",
                              description="the region rated; empty: the region that took the "
                                          "application")


def done(result: CommandResult) -> str:
    """The new status, or the command service's refusal as problem+json (never a 5xx for a
    refusal the domain decided)."""
    if not result.ok:
        assert result.error is not None
        status = result.status if 400 <= result.status < 500 else 409
        if result.error.code == "internal_error":
            status = 500
        raise refused(status, result.error.code, result.error.message, result.error.field)
    assert result.outcome is not None
    return result.outcome.status


def applicant_actions_router(context: Any) -> APIRouter:
    """`context` is the pages' `WebContext`."""
    router = APIRouter(prefix="/api/v1", tags=["applicants"], responses=RESPONSES)

    def opened(number: str, request: Request, code: str) -> Any:
        """The case view behind a correct query code, at the region that took it (the same
        checks and throttle as reading the case)."""
        try:
            parsed = CaseNumber.parse(number)
        except InvalidValue:
            raise Problem(422, "Invalid case number", "办件编号格式不正确",
                          code="invalid_value", field="case_number") from None
        client = request.client.host if request.client else "?"
        if context.throttle.blocked(number, client):
            raise Problem(429, "Too many attempts", "尝试次数过多，请 15 分钟后再试",
                          code="rate_limited")
        if context.status is None or not applicants.code_matches(context.register_key, number,
                                                                 code):
            context.throttle.failed(number, client)
            raise Problem(403, "Wrong query code", "办件编号或查询码不正确",
                          code="forbidden", field="X-Query-Code")
        if str(parsed.region) != context.region:
            raise Problem(409, "Not the accepting region", "请在受理申请的地区办理",
                          code="wrong_region", field="case_number")
        views = context.views()
        view = views.case(number) if views is not None else None
        if view is None:
            raise Problem(404, "Not known here yet", "本节点还没有这个办件的记录",
                          code="unknown_case", field="case_number")
        return view

    async def command(view: Any, command: Command, key: str, what: str) -> str:
        driver = context.status.driver if context.status is not None else None
        service = context.service()
        if driver is None or service is None:
            raise Problem(503, "Not the active worker", "本节点暂不受理操作", code="unavailable")
        request = CommandRequest(command_id=f"web:{what}:{view.case_number}:{key}",
                                 principal=applicants.PRINCIPAL, command=command,
                                 case_id=view.case_id)
        return done(await driver.db(service.handle, request, driver.now()))

    def applicant(view: Any) -> Actor:
        return Actor("applicant", view.applicant_masked or "applicant", context.region)

    @router.post("/cases/{case_number}/rating", summary="Rate (好差评) a region that handled the case",
                 responses={200: {"content": {"application/json": {"example": {
                     "case_number": examples.NUMBER, "status": "completed"}}}},
                     **documented(409, "not finished, already rated, or not here", example(
                         409, "Refused", "未能办理（already_rated）：this case was already rated "
                         "for this region", "already_rated", "command.type"))})
    async def rate(case_number: str, body: Rating, request: Request,
                   idempotency_key: Annotated[str, Header(min_length=8, max_length=80)],
                   x_query_code: applicants.QueryCode = "") -> dict[str, Any]:
        view = opened(case_number, request, x_query_code)
        status = await command(view, Rate(actor=applicant(view), score=body.score,
                                          comment=body.comment.strip(),
                                          rated_region=body.rated_region),
                               idempotency_key, "rate")
        return {"case_number": case_number, "status": status}

    @router.post("/cases/{case_number}/supplement",
                 summary="Supplement (补正): upload the documents the region asked for",
                 responses={200: {"content": {"application/json": {"example": {
                     "case_number": examples.NUMBER, "status": "submitted",
                     "documents": [{"doc_id": examples.DOCUMENT["doc_id"],
                                    "sha256": examples.SHA, "kind": "id_card"}]}}}},
                     **documented(409, "no supplement is asked for, or not here", example(
                         409, "Refused", "未能办理（illegal_command）：no supplement was "
                         "requested (status awaiting_transfer)", "illegal_command",
                         "command.type")),
                     **documented(422, "a document is refused (size, type, content)", example(
                         422, "Document refused", "文件不能接收：the bytes are not "
                         "application/pdf (they do not start like one)", "media_type_mismatch",
                         "documents.0"))})
    async def supplement(case_number: str, body: Supplement, request: Request,
                         idempotency_key: Annotated[str, Header(min_length=8, max_length=80)],
                         x_query_code: applicants.QueryCode = "") -> dict[str, Any]:
        view = opened(case_number, request, x_query_code)
        refs = await stored(body.documents)
        status = await command(view, ProvideSupplement(actor=applicant(view), materials=refs),
                               idempotency_key, "supplement")
        return {"case_number": case_number, "status": status,
                "documents": [{"doc_id": r.doc_id, "sha256": r.sha256, "kind": r.kind}
                              for r in refs]}

    async def stored(documents: list[Document]) -> tuple[MaterialRef, ...]:
        driver = context.status.driver if context.status is not None else None
        if driver is None:
            raise Problem(503, "Not the active worker", "本节点暂不受理操作", code="unavailable")
        blobs = driver.region.blobs
        refs = []
        for i, doc in enumerate(documents):
            try:
                data = base64.b64decode(doc.content_base64, validate=True)
            except (binascii.Error, ValueError):
                raise Problem(422, "Not base64", "文件内容不是有效的 base64 编码",
                              code="invalid_value",
                              field=f"documents.{i}.content_base64") from None
            try:
                refs.append(await asyncio.to_thread(blobs.put, data, doc.media_type,
                                                    doc.title, kind=doc.kind))
            except DomainError as exc:
                raise Problem(422, "Document refused", "文件不被接受：" + str(exc),
                              code=exc.code, field=f"documents.{i}") from None
        return tuple(refs)

    return router
