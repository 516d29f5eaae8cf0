"""The department's operations on the staff API (`/api/v1/staff/cases/{number}/…`): decide a
transfer out, issue and correct the info sheet, remit, record the funds received and return an
excess, resolve `needs_attention` (`ATTENTION`: retry, correct, escalate, close), close a
rating's follow-up. Crediting is confirmed by the node, not a person (`CREDITING`).

Why only `department`: these are the decisions of the handling office (办理部门) — the window
(收件窗口) takes applications in (`accept` / `reject` in `api.staff_api`), a supervisor only reads.
Another region's token never reaches a route (`staff_api.grant` refuses it, logged). Every
operation is one domain command through the node's command service (`staff_api.run`): the same
idempotency store as the NATS endpoint (`Idempotency-Key` → command id, scoped to the staff
member), the same error table, the actor built from the token — never from the body. Whether
the step is allowed now (the case's state) is the domain's answer, a 409/422 problem.

(No `from __future__ import annotations`: FastAPI evaluates the dependency annotations.)
"""


import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, ConfigDict, Field

from api.problems import Problem, invalid_field
from api.staff import Grant
from domain.kernel import Actor, Command, InvalidValue
from domain.protocols.casework_events import CloseFollowUp, ResolveAttention
from domain.protocols.transfer_events import (
    ApproveTransferOut,
    Component,
    ContributionYear,
    CorrectInfoSheet,
    InfoSheet,
    IssueInfoSheet,
    RecordFundsReceived,
    RefuseTransferOut,
    RemitFunds,
    ReturnExcess,
    YearKind,
)
from domain.values import MAX_FEN

Run = Callable[[Grant, str, Command, str], Awaitable[dict[str, Any]]]
#: The one amount limit of every door (domain.values.MAX_FEN: what the stores hold).
Fen = Annotated[int, Field(ge=0, le=MAX_FEN, description="amount in fen (分)")]


def built(make: Callable[[Actor], Command], by: Actor) -> Command:
    """A staff form's command, a value the domain refuses answered as the 422 naming its field
    (the department's and the window's routers build their commands alike)."""
    try:
        return make(by)
    except InvalidValue as exc:
        raise invalid_field(exc, exc.field or "body") from None


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class Reason(BaseModel):
    model_config = _examples({"reason": "参保关系不在本地"})
    reason: str = Field(min_length=2, max_length=500)


class Note(BaseModel):
    model_config = _examples({"note": "已电话联系申请人，核对后重新发送"})
    note: str = Field(min_length=2, max_length=500)


class Approval(BaseModel):
    model_config = _examples({}, {"suspended_on": "2026-11-30"})
    suspended_on: dt.date | None = Field(default=None, description="参保中断日期 (if known)")


class SheetLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=40)
    amount_fen: Fen


class SheetYear(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int = Field(ge=1950, le=2100)
    months: int = Field(ge=0, le=12)
    monthly_base_fen: Fen
    kind: YearKind = Field(default="paid", description=(
        "paid: contributions at the base; deemed (视同缴费): months that count without "
        "contributions, base 0; refunded (清退, 制度衔接): months paid in both schemes"))


class Sheet(BaseModel):
    """信息表 as the origin's records give it; the scheme's rule checks the amounts."""

    model_config = _examples({"months": 24, "components": [
        {"name": "individual_account", "amount_fen": 120000},
        {"name": "pooled", "amount_fen": 300000}],
        "years": [{"year": 2019, "months": 12, "monthly_base_fen": 600000},
                  {"year": 2020, "months": 12, "monthly_base_fen": 650000}]})
    months: int = Field(ge=0, le=1200)
    components: list[SheetLine] = Field(max_length=12)
    years: list[SheetYear] = Field(default_factory=list, max_length=100)


class SheetCorrection(Sheet):
    """The corrected 信息表 and why (the first sheet stays on record: a compensating event)."""

    model_config = _examples({"months": 24, "components": [
        {"name": "individual_account", "amount_fen": 120000},
        {"name": "pooled", "amount_fen": 300000}],
        "years": [{"year": 2019, "months": 12, "monthly_base_fen": 600000},
                  {"year": 2020, "months": 12, "monthly_base_fen": 650000}],
        "reason": "个人账户金额录入有误，按转入地对账结果更正"})
    reason: str = Field(min_length=2, max_length=500)


class ExcessReturn(BaseModel):
    """退回多转金额: what the destination received from `from_region` beyond its sheet."""

    model_config = _examples({"from_region": "610800", "bank_ref": "BK2026120600003"})
    from_region: str = Field(pattern=r"^[0-9]{6}$", description="转出地 region code")
    bank_ref: str = Field(min_length=1, max_length=40, description="the return's bank reference")


class Remittance(BaseModel):
    model_config = _examples({"amount_fen": 420000, "bank_ref": "BK2026120500017"})
    amount_fen: Fen
    bank_ref: str = Field(min_length=1, max_length=40)


class FundsIn(BaseModel):
    """The bank's notice of a transfer in (到账), as finance staff read it."""

    model_config = _examples({"from_region": "610800", "amount_fen": 420000,
                              "bank_ref": "BK2026120500017", "value_date": "2026-12-05"})
    from_region: str = Field(pattern=r"^[0-9]{6}$", description="转出地 region code")
    amount_fen: Fen
    bank_ref: str = Field(min_length=1, max_length=40)
    value_date: dt.date


#: The four ways out of needs_attention issue 13 names, and where each one is.
ATTENTION = (
    "**Retry**: this operation — the side resumes and its waiting timer starts again (refused "
    "with `correction_needed` while sheet and funds disagree). **Correct**: `correct-info-sheet` "
    "(the origin), `return-excess` (the destination's finance), or `funds-received` for the "
    "rest. **Escalate**: the node escalates by itself (督办, `Escalated`) when a step stays open "
    "past its limit; supervisors see every case needing attention in `/supervision/joint-cases` "
    "and the figures. **Close with a reason**: not offered for one side of a transfer — a side "
    "ends only through the protocol's close handshake (the two regions' end states must form an "
    "allowed pair); the applicant's withdrawal or the origin's refusal are the ways to end it.")


#: Why there is no "confirm crediting" operation (issue 13 asked for one "after reconciliation").
CREDITING = (
    "Crediting (记账) after reconciliation is confirmed by the node, not by a person: once every "
    "origin's info sheet and the funds this region's finance recorded agree to the fen, the "
    "destination reconciles them and completes the transfer (`TransferCompleted`, with the "
    "amount credited), which the staff case view shows as `status: completed` and "
    "`amounts_fen.credited`. A staff step confirming what the two independent records already "
    "proved could only disagree with them; where they do not agree the case needs attention, "
    "and the department returns the excess (`return-excess`) or the origin corrects its sheet "
    "(`correct-info-sheet`) or pays the rest — never a confirmation over a mismatch.")


def info_sheet_of(body: Sheet) -> InfoSheet:
    return InfoSheet(months=body.months,
                     components=tuple(Component(c.name, c.amount_fen) for c in body.components),
                     years=tuple(ContributionYear(y.year, y.months, y.monthly_base_fen, y.kind)
                                 for y in body.years))


def department_routes(router: APIRouter, grant: Callable[..., Grant], run: Run,
                      actor: Callable[[Grant], Actor]) -> None:
    """Add the department's operations to the staff router (`api.staff_api.staff_router`)."""

    def department(who: Annotated[Grant, Depends(grant)]) -> Grant:
        if who.role != "department":
            raise Problem(403, "Department only", "只有办理部门可以办理这一步",
                          code="forbidden_role", field="Authorization",
                          who=who.who)
        return who

    Key = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=80)]
    Who = Annotated[Grant, Depends(department)]

    async def send(who: Grant, number: str, make: Callable[[Actor], Command],
                   key: str) -> dict[str, Any]:
        return await run(who, number, built(make, actor(who)), key)

    @router.post("/cases/{case_number}/approve", summary="转出地: approve the transfer out")
    async def approve(case_number: str, key: Key, who: Who,
                      body: Approval | None = None) -> dict[str, Any]:
        on = body.suspended_on if body is not None else None
        return await send(who, case_number,
                          lambda a: ApproveTransferOut(actor=a, suspended_on=on), key)

    @router.post("/cases/{case_number}/refuse-transfer-out",
                 summary="转出地: refuse the transfer out, with the reason")
    async def refuse(case_number: str, body: Reason, key: Key, who: Who) -> dict[str, Any]:
        return await send(who, case_number,
                          lambda a: RefuseTransferOut(actor=a, reason=body.reason), key)

    @router.post("/cases/{case_number}/info-sheet", summary="转出地: issue the info sheet (信息表)")
    async def info_sheet(case_number: str, body: Sheet, key: Key, who: Who) -> dict[str, Any]:
        sheet = info_sheet_of(body)
        return await send(who, case_number, lambda a: IssueInfoSheet(actor=a, sheet=sheet), key)

    @router.post("/cases/{case_number}/correct-info-sheet",
                 summary="转出地: correct the info sheet the destination could not reconcile "
                         "(needs_attention: correct)")
    async def correct_sheet(case_number: str, body: SheetCorrection, key: Key,
                            who: Who) -> dict[str, Any]:
        sheet = info_sheet_of(body)
        return await send(who, case_number, lambda a: CorrectInfoSheet(
            actor=a, sheet=sheet, reason=body.reason), key)

    @router.post("/cases/{case_number}/remit-funds", summary="转出地: the funds were remitted")
    async def remit(case_number: str, body: Remittance, key: Key, who: Who) -> dict[str, Any]:
        return await send(who, case_number, lambda a: RemitFunds(
            actor=a, amount_fen=body.amount_fen, bank_ref=body.bank_ref), key)

    @router.post("/cases/{case_number}/funds-received",
                 summary="转入地: record the funds received (the bank's notice); crediting "
                         "follows when sheet and funds reconcile",
                 description=CREDITING)
    async def funds_received(case_number: str, body: FundsIn, key: Key,
                             who: Who) -> dict[str, Any]:
        return await send(who, case_number, lambda a: RecordFundsReceived(
            actor=a, from_region=body.from_region, amount_fen=body.amount_fen,
            bank_ref=body.bank_ref, value_date=body.value_date), key)

    @router.post("/cases/{case_number}/return-excess",
                 summary="转入地: return what was received beyond the sheet (needs_attention: "
                         "correct)")
    async def return_excess(case_number: str, body: ExcessReturn, key: Key,
                            who: Who) -> dict[str, Any]:
        return await send(who, case_number, lambda a: ReturnExcess(
            actor=a, from_region=body.from_region, bank_ref=body.bank_ref), key)

    @router.post("/cases/{case_number}/resolve-attention",
                 summary="Resolve needs_attention: retry (the wait resumes with a new timer), "
                         "with a note of what was done",
                 description=ATTENTION)
    async def resolve(case_number: str, body: Note, key: Key, who: Who) -> dict[str, Any]:
        return await send(who, case_number,
                          lambda a: ResolveAttention(actor=a, note=body.note), key)

    @router.post("/cases/{case_number}/close-follow-up",
                 summary="Close the follow-up a poor rating (差评) opened, with a note")
    async def close_follow_up(case_number: str, body: Note, key: Key,
                              who: Who) -> dict[str, Any]:
        return await send(who, case_number, lambda a: CloseFollowUp(actor=a, note=body.note),
                          key)
