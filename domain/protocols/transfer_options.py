"""What people and back-ends plausibly do next in a transfer (`options`): the commands the
simulator and the property suites draw.

Why apart from the decider (`domain.protocols.transfer`): the decider says what is legal; this
says what is likely — a mix of acceptances and refusals, short and repeated bank notices, an
operator's reversal now and then, an origin correcting its sheet before it remits, and the
applicant's 好差评 once the case ended (issue 15, items 5 and 8: a path `options` never offers is
never drawn by the simulator or the property suites). It reads the side states only, never
changes them.
"""

from __future__ import annotations

import datetime as dt
import random

from domain.calendar import china_date
from domain.kernel import Actor, Command
from domain.protocols.casework import annotation_options
from domain.protocols.casework_events import CloseFollowUp, Rate
from domain.protocols.intake import (
    AcceptIntake,
    ProvideSupplement,
    RejectIntake,
    RequestSupplement,
    Withdraw,
)
from domain.protocols.pension_temporary import OpenTemporaryAccount
from domain.protocols.transfer_commands import (
    ApproveTransferOut,
    CorrectInfoSheet,
    IssueInfoSheet,
    RecordFundsReceived,
    RefuseTransferOut,
    RemitFunds,
    ReturnExcess,
    ReverseTransfer,
    StartBenefit,
)
from domain.protocols.transfer_ratings import rating_context
from domain.protocols.transfer_sheets import InfoSheet, TransferSpec
from domain.protocols.transfer_states import DESTINATION_TERMINAL, DestinationState, SideState
from domain.values import MaterialRef

_REFUSALS = ("不符合转出条件: 存在欠费", "不符合转出条件: 已领取待遇", "不符合转出条件: 查无此人")
_REJECTIONS = ("不予受理: 不属于本机构受理范围", "不予受理: 申请人未在本地参保")
_CORRECTIONS = ("个人账户漏记利息", "缴费基数录入错误", "缴费月数重复计算")


def options(spec: TransferSpec, state: SideState | None, now: dt.datetime,
            rng: random.Random) -> list[Command]:
    """Plausible human and back-end commands legal now (the simulator and properties use them).

    `RecordFundsReceived` is drawn from the destination's view (the sheet's amount, now and then
    short or a repeated bank reference). A driver that models the bank (funds arrive only after
    an origin remits) should feed those commands from its bank instead, or the "never credited
    more than sent" invariant measures the driver, not the protocol.
    """
    if state is None:
        return []
    staff = Actor("staff", f"staff-{rng.randrange(1, 50):02d}", state.region, "transfer_officer")
    applicant = Actor("applicant", state.person_key[:12], state.region)
    # 好差评: the destination offers a rating of each region once ended; either side closes
    # its open follow-up (`ResolveAttention` is not drawn: see docs/transfer.md).
    out: list[Command] = [c for c in annotation_options(
        state.ratings, rating_context(state), rng, applicant, staff)
        if isinstance(c, (Rate, CloseFollowUp))]
    if isinstance(state, DestinationState):
        phase = state.phase
        if phase == "submitted":
            out += [AcceptIntake(actor=staff)] * 4
            out.append(RejectIntake(actor=staff, reason=rng.choice(_REJECTIONS)))
            if spec.temporary_accounts and rng.random() < 0.1:  # 临时缴费账户 (a mover of 50+)
                hukou = "110101" if not state.region.startswith("11") else "120101"
                out.append(OpenTemporaryAccount(actor=staff, sex="male",
                                                born_on=dt.date(1960, 1, 1), hukou_region=hukou))
            if not state.intake.supplement_asked:
                out.append(RequestSupplement(actor=staff,
                                             missing_kinds=("id_card", "application_form")))
        if phase == "supplement_requested":
            out += [ProvideSupplement(actor=applicant, materials=tuple(
                _material(kind, rng) for kind in state.intake.missing_kinds))] * 3
        sent = any(t.sheet is not None or t.funds for t in state.tracks.values())
        if not state.taken_over and not sent and phase in (
                "submitted", "supplement_requested", "awaiting_holds", "awaiting_transfer"):
            out.append(Withdraw(actor=applicant, reason="申请人撤回"))
        if sent and not state.taken_over and not state.reversal and phase == "awaiting_transfer":
            operator = Actor("staff", "operator-01", state.region, "operator")
            out.append(ReverseTransfer(actor=operator, reason="经办错误，运营人员撤销转移"))
        if phase in ("awaiting_transfer", "withdrawing"):
            finance = Actor.backend("bank", state.region)
            for o, t in state.tracks.items():
                if t.sheet is None or t.sheet.amount_fen == 0 or (t.funds_in and t.matched):
                    continue
                amount = t.sheet.amount_fen - t.received_fen
                if amount > 0:
                    out += [RecordFundsReceived(actor=finance, from_region=o, amount_fen=amount,
                                                bank_ref=f"B{rng.getrandbits(40):010x}",
                                                value_date=china_date(now))] * 3
                    if amount > 1:
                        out.append(RecordFundsReceived(
                            actor=finance, from_region=o, amount_fen=rng.randrange(1, amount),
                            bank_ref=f"B{rng.getrandbits(40):010x}", value_date=china_date(now)))
                if t.funds:
                    out.append(RecordFundsReceived(actor=finance, from_region=o,
                                                   amount_fen=t.funds[0][1], bank_ref=t.funds[0][0],
                                                   value_date=china_date(now)))
        for o, t in state.tracks.items():
            if (phase in ("awaiting_transfer", "withdrawing") and t.sheet is not None
                    and t.received_fen > t.sheet.amount_fen and t.reversed_fen is None):
                out.append(ReturnExcess(actor=Actor.backend("bank", state.region),
                                        from_region=o, bank_ref=f"X{rng.getrandbits(40):010x}"))
        if spec.has_benefit and state.taken_over and state.benefit is None and \
                phase not in DESTINATION_TERMINAL:
            out.append(StartBenefit(actor=staff, monthly_fen=rng.randrange(150_000, 250_000),
                                    period_months=rng.randrange(3, 25)))
        return out
    if state.phase == "received":
        suspended = china_date(now) if spec.requires_suspension else None
        out += [ApproveTransferOut(actor=staff, suspended_on=suspended)] * 4
        out.append(RefuseTransferOut(actor=staff, reason=rng.choice(_REFUSALS)))
    elif state.phase == "approved":
        out.append(IssueInfoSheet(actor=staff, sheet=spec.sheet_sampler(state.direction)(rng)))
    elif state.phase == "remitting" and state.sheet is not None:
        out.append(RemitFunds(actor=Actor.backend("treasury", state.region),
                              amount_fen=state.sheet.amount_fen - state.sent_fen,
                              bank_ref=f"R{rng.getrandbits(40):010x}"))
        if state.sent_fen == 0 and not state.concluded and not state.corrections:
            out += _correction(spec, state.direction, state.sheet, staff, rng)
    return out


def _correction(spec: TransferSpec, direction: str, sheet: InfoSheet, staff: Actor,
                rng: random.Random) -> list[Command]:
    """更正信息表 before anything was remitted: the destination cannot have completed on the
    first sheet (its money is not there), so the correction never crosses a conclusion. Offered
    once a case (the decider takes more; drawing chains of them explodes the explorers)."""
    corrected = spec.sheet_sampler(direction)(rng)  # the case's direction (b1-10, b1-11)
    if corrected == sheet or corrected.amount_fen == 0:
        return []
    return [CorrectInfoSheet(actor=staff, sheet=corrected, reason=rng.choice(_CORRECTIONS))]


def _material(kind: str, rng: random.Random) -> MaterialRef:
    return MaterialRef(doc_id=f"doc-{rng.getrandbits(32):08x}", sha256=rng.randbytes(32).hex(),
                       media_type="application/pdf", size=rng.randrange(10_000, 2_000_000),
                       title=kind, kind=kind)
