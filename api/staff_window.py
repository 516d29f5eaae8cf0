"""异地代收代办 over the staff API: the receiving window (收件地) registers an application for
another region, forwards it after the 形式审查 and the identity check, and hands over the result
that came back; the handling region's department confirms the posted originals, decides and
sends the result (issue 13, item 1; the domain's steps of issue 15 item 7).

Who may do what (the matrix `tests/integration/test_staff_window.py` checks):

    endpoint                                   window  department  supervisor  other region
    POST /staff/proxy-applications               ✓        403         403          403
    POST /staff/cases/{number}/forward           ✓        403         403          403
    POST /staff/cases/{number}/hand-over         ✓        403         403          403
    POST /staff/cases/{number}/request-supplement ✓       ✓           403          403
    POST /staff/cases/{number}/confirm-originals 403      ✓           403          403
    POST /staff/cases/{number}/approve-application, deny-application, send-result
                                                 403      ✓           403          403

Why here and not in `staff_casework`: these are the application protocol's steps (single-region
approvals, registrations, card services), not a transfer's. The window registers in person, so
the ID number comes from the identity document it checked and the node turns it into the
person key and the masked form (`regions.core.admission`); the actor is the token's staff
member, and `Idempotency-Key` is the command id — a double click registers one case. Whether a
step is allowed now is the domain's answer (409/422, the one error table).

(No `from __future__ import annotations`: FastAPI evaluates the dependency annotations.)
"""


import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api import applicants
from api import examples as answers
from api.problems import Problem, invalid_field, refused
from api.staff import Grant
from api.staff_ops import Key, StaffOps, examples
from domain.calendar import china_date
from domain.kernel import InvalidValue, UnknownItem
from domain.protocols.application_events import (
    Approve,
    ConfirmOriginalsReceived,
    DeliverResult,
    Deny,
    SendResult,
    VerifyAndForward,
)
from domain.protocols.details import ApplicationDetails
from domain.protocols.intake import RequestSupplement, Submit
from domain.values import CaseNumber, CitizenId, MaterialRef, RegionCode
from regions.adapters.blobs.base import BlobNotFound
from regions.core.commands import CommandRequest

Tracking = Annotated[str, Field(max_length=40, pattern=r"^[0-9A-Za-z-]*$",
                                description="邮寄单号 (EMS and the like)")]




class Scanned(BaseModel):
    """A document the window scanned (`POST /api/v1/staff/materials` gave this reference)."""

    model_config = ConfigDict(extra="forbid")
    doc_id: str = Field(min_length=1, max_length=80)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media_type: str = Field(min_length=1, max_length=100)
    size: int = Field(ge=0, le=2**40)
    title: str = Field(min_length=1, max_length=100)
    kind: str = Field(default="", max_length=40)


class ProxyApplication(BaseModel):
    """An application taken at this window for the region competent to decide it."""

    model_config = examples({"item_id": "b2-43", "applicant_id": "120101197601310292",
                              "handling_region": "610800"})
    item_id: str = Field(min_length=1, max_length=20, description="catalogue item offered "
                                                                  "by proxy (代收代办)")
    applicant_id: str = Field(min_length=15, max_length=20,
                              description="居民身份证号码 as checked at the window; the node "
                                          "keeps only a keyed hash and the masked form")
    handling_region: str = Field(pattern=r"^[0-9]{6}$",
                                 description="where the applicant lives or the item is handled; "
                                             "routed to the competent level")
    materials: list[Scanned] = Field(default_factory=list, max_length=30,
                                     description="documents scanned at the window "
                                                 "(POST /api/v1/staff/materials)")


class ProxyRegistered(BaseModel):
    case_number: str
    query_code: str = Field(description="for the applicant's receipt; shown once")
    status: str


class Forwarding(BaseModel):
    model_config = examples({"identity_verified": True,
                              "originals_tracking_no": "EMS1234567890"},
                             {"identity_verified": False, "note": "人证不符"})
    identity_verified: bool = Field(description="人证核验: false ends the case at the window")
    note: str = Field(default="", max_length=500)
    originals_tracking_no: Tracking = ""


class HandOver(BaseModel):
    model_config = examples({"channel": "window"},
                             {"channel": "post", "tracking_no": "EMS9876543210"})
    channel: Literal["window", "post", "online"]
    tracking_no: Tracking = ""


class Supplement(BaseModel):
    model_config = examples({"missing_kinds": ["居民身份证", "营业执照"],
                              "note": "请一次性补齐"})
    missing_kinds: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        min_length=1, max_length=30, description="一次性告知: everything missing at once")
    note: str = Field(default="", max_length=500)


class Originals(BaseModel):
    model_config = examples({"tracking_no": "EMS1234567890"})
    tracking_no: Tracking = Field(min_length=1)


class Denial(BaseModel):
    model_config = examples({"reason": "不符合法定条件"})
    reason: str = Field(min_length=2, max_length=500)


class ResultSending(BaseModel):
    model_config = examples({"channel": "post", "tracking_no": "EMS9876543210"},
                             {"channel": "online"})
    channel: Literal["online", "post"]
    tracking_no: Tracking = ""
    to_applicant: bool = Field(default=False, description="post straight to the applicant "
                                                          "instead of the receiving window")


def window_routes(context: Any, router: APIRouter, ops: StaffOps) -> None:
    """Add the proxy-mode operations to the staff router (`api.staff_api.staff_router`)."""
    Window = Annotated[Grant, Depends(ops.role("window"))]
    Department = Annotated[Grant, Depends(ops.role("department"))]
    Decider = Annotated[Grant, Depends(ops.role("window", "department"))]
    actor, send = ops.actor, ops.send

    @router.post("/proxy-applications", status_code=201, response_model=ProxyRegistered,
                 summary="收件地: register an application for another region (代收代办)",
                 responses=answers.PROXY_REGISTERED)
    async def register(body: ProxyApplication, key: Key, who: Window) -> ProxyRegistered:
        driver = context.status.driver if context.status is not None else None
        service = context.service()
        if driver is None or service is None:
            raise Problem(503, "Not the active worker", "本节点暂不受理操作", code="unavailable")
        try:
            item = context.catalogue.get(body.item_id)
        except UnknownItem:
            raise Problem(422, "Unknown item", "目录中没有这个事项", code="unknown_item",
                          field="item_id") from None
        try:
            CitizenId.parse(body.applicant_id)
        except InvalidValue as exc:
            raise invalid_field(exc, "applicant_id") from None
        materials = []
        for n, scanned in enumerate(body.materials):
            try:
                stored = await driver.db(driver.region.blobs.size, scanned.sha256)
            except BlobNotFound:
                stored = -1
            if stored != scanned.size:
                raise Problem(422, "Unknown document", "这份材料没有在本窗口扫描",
                              code="unknown_document", field=f"materials[{n}]")
            materials.append(MaterialRef(**scanned.model_dump()))
        region = context.region
        request_uuid = uuid.uuid5(uuid.NAMESPACE_URL,
                                  f"tongban:staff:{region}:{who.staff_id}:{key}")
        number = CaseNumber.new(RegionCode(region), china_date(driver.now()), request_uuid)
        try:
            command = Submit(actor=actor(who), case_number=str(number), item_id=item.id,
                             process=item.process, mode="proxy", person_key="",
                             applicant_masked="", channel="window",
                             materials=tuple(materials),
                             details=ApplicationDetails(body.handling_region))
        except InvalidValue as exc:
            raise invalid_field(exc, _body_field(exc.field or "handling_region")) from None
        request = CommandRequest(command_id=f"staff:{who.staff_id}:{key}",
                                 principal=f"staff:{who.staff_id}", command=command,
                                 case_number=str(number), process=item.process,
                                 applicant_id=body.applicant_id)
        result = await driver.db(service.handle, request, driver.now())
        if not result.ok:
            assert result.error is not None
            raise refused(result.status if result.status >= 400 else 422, result.error.code,
                          result.error.message, _body_field(result.error.field))
        assert result.outcome is not None
        return ProxyRegistered(case_number=str(number), status=result.outcome.status,
                               query_code=applicants.query_code(context.register_key,
                                                                str(number)))

    @router.post("/cases/{case_number}/forward",
                 summary="收件地: 形式审查 and identity check done — forward to the handling "
                         "region (or tell everything missing at once)",
                 responses=answers.step("forwarded", "FormalReviewPassed",
                                         "ApplicationForwarded", number=answers.APPLICATION_NUMBER))
    async def forward(case_number: str, body: Forwarding, key: Key,
                      who: Window) -> dict[str, Any]:
        return await send(who, case_number, lambda a: VerifyAndForward(
            actor=a, identity_verified=body.identity_verified, note=body.note,
            originals_tracking_no=body.originals_tracking_no), key)

    @router.post("/cases/{case_number}/hand-over",
                 summary="收件地: hand the result that came back to the applicant",
                 responses=answers.step("completed", "ResultDelivered", "CaseCompleted",
                                         number=answers.APPLICATION_NUMBER))
    async def hand_over(case_number: str, body: HandOver, key: Key,
                        who: Window) -> dict[str, Any]:
        return await send(who, case_number, lambda a: DeliverResult(
            actor=a, channel=body.channel, tracking_no=body.tracking_no), key)

    @router.post("/cases/{case_number}/request-supplement",
                 summary="补正: tell the applicant everything missing at once (一次性告知)",
                 responses=answers.step("supplement_requested", "SupplementRequested",
                                         number=answers.APPLICATION_NUMBER))
    async def request_supplement(case_number: str, body: Supplement, key: Key,
                                 who: Decider) -> dict[str, Any]:
        return await send(who, case_number, lambda a: RequestSupplement(
            actor=a, missing_kinds=tuple(body.missing_kinds), note=body.note), key)

    @router.post("/cases/{case_number}/confirm-originals",
                 summary="办理地: the posted originals arrived (the tracking number matches)",
                 responses=answers.step("submitted", "OriginalsReceived",
                                         number=answers.APPLICATION_NUMBER))
    async def confirm_originals(case_number: str, body: Originals, key: Key,
                                who: Department) -> dict[str, Any]:
        return await send(who, case_number, lambda a: ConfirmOriginalsReceived(
            actor=a, tracking_no=body.tracking_no), key)

    @router.post("/cases/{case_number}/approve-application",
                 summary="办理地 / 受理地: approve an application (准予)",
                 responses=answers.step("approved", "HandlingApproved",
                                         number=answers.APPLICATION_NUMBER))
    async def approve_application(case_number: str, key: Key,
                                  who: Department) -> dict[str, Any]:
        return await send(who, case_number, lambda a: Approve(actor=a), key)

    @router.post("/cases/{case_number}/deny-application",
                 summary="办理地 / 受理地: deny an application, with the reason (不予准予)",
                 responses=answers.step("denied", "HandlingDenied",
                                         number=answers.APPLICATION_NUMBER))
    async def deny_application(case_number: str, body: Denial, key: Key,
                               who: Department) -> dict[str, Any]:
        return await send(who, case_number, lambda a: Deny(actor=a, reason=body.reason), key)

    @router.post("/cases/{case_number}/send-result",
                 summary="办理地: send the result — online, or by post with a tracking number",
                 responses=answers.step("result_sent", "HandlingResultSent",
                                         number=answers.APPLICATION_NUMBER))
    async def send_result(case_number: str, body: ResultSending, key: Key,
                          who: Department) -> dict[str, Any]:
        return await send(who, case_number, lambda a: SendResult(
            actor=a, channel=body.channel, tracking_no=body.tracking_no,
            to_applicant=body.to_applicant), key)


def _body_field(field: str) -> str:
    """The command's field as the body names it (`command.details.handling_region` →
    `handling_region`)."""
    return {"command.details.handling_region": "handling_region",
            "command.item_id": "item_id", "command.applicant_id": "applicant_id",
            "command.mode": "item_id"}.get(field, field)
