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
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api import examples as answers
from api.staff import Grant
from api.staff_ops import Key, StaffOps, examples
from domain.protocols.casework_events import CloseFollowUp, EscalateAttention, ResolveAttention
from domain.protocols.transfer_commands import (
    ApproveTransferOut,
    CloseTransfer,
    CorrectInfoSheet,
    IssueInfoSheet,
    RecordFundsReceived,
    RefuseTransferOut,
    RemitFunds,
    ReturnExcess,
)
from domain.protocols.transfer_events import (
    Component,
    ContributionYear,
    InfoSheet,
    YearKind,
    YearLine,
)
from domain.values import MAX_FEN

#: The one amount limit of every door (domain.values.MAX_FEN: what the stores hold).
Fen = Annotated[int, Field(ge=0, le=MAX_FEN, description="amount in fen (分)")]


class Reason(BaseModel):
    model_config = examples({"reason": "参保关系不在本地"})
    reason: str = Field(min_length=2, max_length=500)


class Note(BaseModel):
    model_config = examples({"note": "已电话联系申请人，核对后重新发送"})
    note: str = Field(min_length=2, max_length=500)


class Escalation(BaseModel):
    """督办: why the case goes to the supervisors (what was tried, who does not answer)."""

    model_config = examples({"reason": "转出地超过 15 个工作日未出具信息表，电话催办无果，请督办"})
    reason: str = Field(min_length=2, max_length=500)


class Closing(BaseModel):
    """Why staff end a transfer that needs attention (recorded on the case; the counterpart
    learns it over the link)."""

    model_config = examples({"reason": "申请人已在转出地办理退休，无需转移，经申请人确认结案"})
    reason: str = Field(min_length=2, max_length=500)


class Approval(BaseModel):
    model_config = examples({}, {"suspended_on": "2026-11-30"})
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


class SheetYearLine(BaseModel):
    """One year's contribution wage and its pooled part (12 %, half-up to the fen per year);
    optionally the local average wage the bases were held to and the year's booking to the
    individual account, which the destination then checks (0: not stated)."""

    model_config = ConfigDict(extra="forbid")
    year: int = Field(ge=1950, le=2100)
    wage_fen: Fen
    pooled_fen: Fen
    average_wage_fen: Fen = Field(default=0, description=(
        "local average monthly wage the year's bases were held to (60 %–300 % of it); 0: not "
        "stated"))
    account_fen: Fen = Field(default=0, description=(
        "the year's booking to the individual account (11 % of the wage to 2005, 8 % from "
        "2006); 0: not stated"))


#: A valid enterprise pension sheet (b1-7): its pooled part is the sum of the years' lines.
SHEET_EXAMPLE: dict[str, Any] = {
    "months": 24, "components": [{"name": "individual_account", "amount_fen": 120000},
                                 {"name": "pooled", "amount_fen": 1800000}],
    "years": [{"year": 2019, "months": 12, "monthly_base_fen": 600000},
              {"year": 2020, "months": 12, "monthly_base_fen": 650000}],
    "pooled_by_year": [{"year": 2019, "wage_fen": 7200000, "pooled_fen": 864000},
                       {"year": 2020, "wage_fen": 7800000, "pooled_fen": 936000}]}


class Sheet(BaseModel):
    """信息表 as the origin's records give it; the scheme's rule checks the amounts."""

    model_config = examples(SHEET_EXAMPLE, {
        **SHEET_EXAMPLE, "memo": [{"name": "occupational_annuity_book", "amount_fen": 50000}]})
    months: int = Field(ge=0, le=1200)
    components: list[SheetLine] = Field(max_length=12)
    years: list[SheetYear] = Field(default_factory=list, max_length=100)
    memo: list[SheetLine] = Field(default_factory=list, max_length=12, description=(
        "lines that move no money: 职业年金 记账 (`occupational_annuity_book`, 机关事业), the "
        "清退 refund paid to the person (`refund_to_person`, 制度衔接)"))
    pooled_by_year: list[SheetYearLine] = Field(default_factory=list, max_length=100,
                                                description=(
        "pension: each year's wage and pooled part, so the destination compares year by year "
        "and names the first year that differs"))


class SheetCorrection(Sheet):
    """The corrected 信息表 and why (the first sheet stays on record: a compensating event)."""

    model_config = examples({**SHEET_EXAMPLE,
                              "reason": "个人账户金额录入有误，按转入地对账结果更正"})
    reason: str = Field(min_length=2, max_length=500)


class ExcessReturn(BaseModel):
    """退回多转金额: what the destination received from `from_region` beyond its sheet."""

    model_config = examples({"from_region": "610800", "bank_ref": "BK2026120600003"})
    from_region: str = Field(pattern=r"^[0-9]{6}$", description="转出地 region code")
    bank_ref: str = Field(min_length=1, max_length=40, description="the return's bank reference")


class Remittance(BaseModel):
    model_config = examples({"amount_fen": 420000, "bank_ref": "BK2026120500017"})
    amount_fen: Fen
    bank_ref: str = Field(min_length=1, max_length=40)


class FundsIn(BaseModel):
    """The bank's notice of a transfer in (到账), as finance staff read it."""

    model_config = examples({"from_region": "610800", "amount_fen": 420000,
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
    "rest. **Escalate**: `escalate` (督办 by staff, with the reason; the node also escalates by "
    "itself, `Escalated`, when a step's deadline passes). **Close with a reason**: `close`.")

ESCALATE = (
    "督办 raised by the department on a side that needs attention: recorded with the reason "
    "(`AttentionEscalated`, the staff member as actor) and listed in the supervisors' queue "
    "(`GET /api/v1/supervision/joint-cases?state=escalated`). The side still needs attention — "
    "escalating resolves nothing — and is escalated once until the attention ends (again: 409 "
    "`already_escalated`). Not the deadline timer's `Escalated`, which belongs to a step's "
    "deadline. A side that does not need attention: 409 `no_attention`.")

CLOSE = (
    "The destination (转入地, which owns the case) ends a transfer that needs attention, with "
    "the reason: before the contact letters it is `closed` at once; after them the origins are "
    "asked to cancel (they release what they hold) and the case is `closing` until each has "
    "answered, then `closed` — and the origins end with it (`TransferConcluded`). An origin that "
    "had already transferred out answers so, and that transfer completes: money is never closed "
    "away. Refused (409 `already_transferred`) once any origin's sheet or money has come: "
    "correct it (`correct-info-sheet`, `return-excess`, the rest of the funds) or have an "
    "operator reverse it. At an origin (转出地) `close` is its refusal with the reason while it "
    "has not decided; after that, 409 `destination_owns_case` (escalate instead).")


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
    """The domain's sheet from the form, field by field by name: each form model has exactly its
    domain value's fields (`tests/unit/test_staff_sheet_form.py` holds them equal), so a field
    both gain passes through without a copy by hand here."""
    return InfoSheet(months=body.months,
                     components=tuple(Component(**c.model_dump()) for c in body.components),
                     years=tuple(ContributionYear(**y.model_dump()) for y in body.years),
                     memo=tuple(Component(**c.model_dump()) for c in body.memo),
                     pooled_by_year=tuple(YearLine(**y.model_dump()) for y in body.pooled_by_year))


def department_routes(router: APIRouter, ops: StaffOps) -> None:
    """Add the department's operations to the staff router (`api.staff_api.staff_router`)."""
    Who = Annotated[Grant, Depends(ops.role("department"))]
    send = ops.send

    @router.post("/cases/{case_number}/approve", summary="转出地: approve the transfer out",
                 responses=answers.step("approved", "TransferOutHeld"))
    async def approve(case_number: str, key: Key, who: Who,
                      body: Approval | None = None) -> dict[str, Any]:
        on = body.suspended_on if body is not None else None
        return await send(who, case_number,
                          lambda a: ApproveTransferOut(actor=a, suspended_on=on), key)

    @router.post("/cases/{case_number}/refuse-transfer-out",
                 summary="转出地: refuse the transfer out, with the reason",
                 responses=answers.step("refused", "TransferOutRefused", "DeadlineCleared"))
    async def refuse(case_number: str, body: Reason, key: Key, who: Who) -> dict[str, Any]:
        return await send(who, case_number,
                          lambda a: RefuseTransferOut(actor=a, reason=body.reason), key)

    @router.post("/cases/{case_number}/info-sheet", summary="转出地: issue the info sheet (信息表)",
                 responses=answers.step("remitting", "InfoSheetIssued"))
    async def info_sheet(case_number: str, body: Sheet, key: Key, who: Who) -> dict[str, Any]:
        sheet = info_sheet_of(body)
        return await send(who, case_number, lambda a: IssueInfoSheet(actor=a, sheet=sheet), key)

    @router.post("/cases/{case_number}/correct-info-sheet",
                 summary="转出地: correct the info sheet the destination could not reconcile "
                         "(needs_attention: correct)",
                 responses=answers.step("transferred_out", "InfoSheetCorrected"))
    async def correct_sheet(case_number: str, body: SheetCorrection, key: Key,
                            who: Who) -> dict[str, Any]:
        sheet = info_sheet_of(body)
        return await send(who, case_number, lambda a: CorrectInfoSheet(
            actor=a, sheet=sheet, reason=body.reason), key)

    @router.post("/cases/{case_number}/remit-funds", summary="转出地: the funds were remitted",
                 responses=answers.step("transferred_out", "FundsRemitted"))
    async def remit(case_number: str, body: Remittance, key: Key, who: Who) -> dict[str, Any]:
        return await send(who, case_number, lambda a: RemitFunds(
            actor=a, amount_fen=body.amount_fen, bank_ref=body.bank_ref), key)

    @router.post("/cases/{case_number}/funds-received",
                 summary="转入地: record the funds received (the bank's notice); crediting "
                         "follows when sheet and funds reconcile",
                 description=CREDITING,
                 responses=answers.step("completed", "FundsReceived", "TransferConcluded",
                                         "TransferCompleted"))
    async def funds_received(case_number: str, body: FundsIn, key: Key,
                             who: Who) -> dict[str, Any]:
        return await send(who, case_number, lambda a: RecordFundsReceived(
            actor=a, from_region=body.from_region, amount_fen=body.amount_fen,
            bank_ref=body.bank_ref, value_date=body.value_date), key)

    @router.post("/cases/{case_number}/return-excess",
                 summary="转入地: return what was received beyond the sheet (needs_attention: "
                         "correct)",
                 responses=answers.step("awaiting_transfer", "ExcessReturned"))
    async def return_excess(case_number: str, body: ExcessReturn, key: Key,
                            who: Who) -> dict[str, Any]:
        return await send(who, case_number, lambda a: ReturnExcess(
            actor=a, from_region=body.from_region, bank_ref=body.bank_ref), key)

    @router.post("/cases/{case_number}/resolve-attention",
                 summary="Resolve needs_attention: retry (the wait resumes with a new timer), "
                         "with a note of what was done",
                 description=ATTENTION,
                 responses=answers.step("awaiting_transfer", "AttentionResolved",
                                         "TransferWaitingTimerSet"))
    async def resolve(case_number: str, body: Note, key: Key, who: Who) -> dict[str, Any]:
        return await send(who, case_number,
                          lambda a: ResolveAttention(actor=a, note=body.note), key)

    @router.post("/cases/{case_number}/escalate",
                 summary="Escalate needs_attention (督办) to the supervisors, with the reason",
                 description=ESCALATE, responses=answers.step("needs_attention", "AttentionEscalated"))
    async def escalate(case_number: str, body: Escalation, key: Key,
                       who: Who) -> dict[str, Any]:
        return await send(who, case_number,
                          lambda a: EscalateAttention(actor=a, reason=body.reason), key)

    @router.post("/cases/{case_number}/close",
                 summary="Close a transfer that needs attention, with the reason (转入地; "
                         "转出地 only before it decided: a refusal)",
                 description=CLOSE, responses=answers.step(
                     "closing", "TransferCloseOrdered", "TransferCancelled"))
    async def close(case_number: str, body: Closing, key: Key, who: Who) -> dict[str, Any]:
        return await send(who, case_number,
                          lambda a: CloseTransfer(actor=a, reason=body.reason), key)

    @router.post("/cases/{case_number}/close-follow-up",
                 summary="Close the follow-up a poor rating (差评) opened, with a note",
                 responses=answers.step("completed", "FollowUpClosed"))
    async def close_follow_up(case_number: str, body: Note, key: Key,
                              who: Who) -> dict[str, Any]:
        return await send(who, case_number, lambda a: CloseFollowUp(actor=a, note=body.note),
                          key)
