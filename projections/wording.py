"""What the applicant reads: statuses, steps and next actions in plain Chinese (政务服务 usage).

Why a table and not the codes: an applicant at a county window reads "转出地已办理转出", not
`transferred_out`. Unknown codes fall back to the code itself, so a new protocol state shows
up as something, never as nothing; a test holds every status of the pension and household
protocols to a wording.
"""

from __future__ import annotations

from functools import lru_cache

from domain.kernel import InvalidValue
from domain.values import RegionCode

STATUS = {
    "submitted": "已提交，等待受理",
    "accepted": "已受理",
    "supplement_requested": "需要补正材料",
    "under_review": "审核中",
    "awaiting_transfer": "已受理，等待转出地办理",
    "awaiting_holds": "等待转出地核对",
    "received": "已收到联系函，正在核对",
    "held": "暂缓转出，等待核对",
    "approved": "已同意转出",
    "remitting": "已出具信息表，正在划转资金",
    "transferred_out": "已办理转出",
    "completed": "已办结",
    "refused": "已拒绝",
    "refused_by_origin": "转出地不予转出",
    "rejected": "不予受理",
    "denied": "不予批准",
    "withdrawn": "已撤回",
    "withdrawing": "正在撤回",
    "lapsed": "已逾期终止",
    "released": "已撤销，关系保留在转出地",
    "reinstated": "已恢复",
    "closed": "已关闭",
    "closing": "工作人员正在结案",
    "needs_attention": "需要工作人员处理",
    "moved_out": "已迁出",
    "settled": "已落户",
    "open": "待答复",
    "replied": "已答复",
}

EVENTS = {
    "ConsultationOpened": "提交咨询、投诉或建议",
    "ConsultationReplied": "答复",
    "ApplicationSubmitted": "提交申请",
    "IntakeAccepted": "受理申请",
    "IntakeRejected": "不予受理",
    "SupplementRequested": "要求补正材料",
    "SupplementProvided": "补正材料",
    "ApplicationWithdrawn": "撤回申请",
    "ContactLetterIssued": "发出联系函",
    "BenefitRegionDetermined": "确定待遇领取地（本地）",
    "ContactLetterReceived": "收到联系函",
    "ContactLetterConfirmed": "确认联系函",
    "TransferOutRefused": "不予转出",
    "OriginRefusalReceived": "收到转出地不予转出的决定",
    "InfoSheetIssued": "出具参保缴费信息表",
    "InfoSheetReceived": "收到参保缴费信息表",
    "FundsRemitted": "划转资金",
    "FundsReceived": "资金到账",
    "Reconciled": "核对信息表与到账金额",
    "RelationshipTakenOver": "接续关系",
    "TransferCompleted": "办结",
    "CaseCompleted": "办结",
    "TransferConcluded": "通知转出地已办结",
    "ConclusionReceived": "收到转入地办结通知",
    "RelationshipEnded": "终止本地关系",
    "ApplicationApproved": "批准",
    "ApplicationDenied": "不予批准",
    "ResultDelivered": "送达结果",
    "ApplicationForwarded": "转交有权地区办理",
    "ForwardedApplicationReceived": "收到异地代收的申请",
    "HandlingAccepted": "办理地受理",
    "HandlingApproved": "办理地批准",
    "HandlingDenied": "办理地不予批准",
    "HandlingResultSent": "办理地寄送结果",
    "HandlingNoticeReceived": "收到办理地的通知",
    "MoveOutRequested": "向迁出地发出迁出请求",
    "MoveOutRequestReceived": "收到迁出请求",
    "MovePermitIssued": "签发准予迁入证明",
    "MoveOutApproved": "同意迁出",
    "MovedOut": "办理迁出（注销）",
    "MigrationCertificateIssued": "签发迁移证",
    "MigrationCertificateReceived": "收到迁移证",
    "HouseholdSettled": "办理落户",
    "CaseLapsed": "逾期终止",
    "DeadlineMissed": "超过办理时限",
    "Escalated": "督办",
    "NeedsAttentionRaised": "转交工作人员处理",
    "AttentionResolved": "工作人员已处理",
    "AttentionEscalated": "工作人员提请督办",
    "TransferCloseOrdered": "工作人员结案（说明理由）",
    "RatingGiven": "评价",
    "TransferCancelled": "撤销转移",
    "TransferReversed": "撤销转移",
    "TransferReversalOrdered": "运营人员撤销转移",
    "TransferMessageReceived": "收到对方地区的消息",
    "TransferOutHeld": "暂缓转出，核对中",
    "HoldReleased": "解除暂缓",
    "CancellationReceived": "收到撤销请求",
    "CancellationAnswered": "答复撤销请求",
    "CancellationAnswerReceived": "收到撤销请求的答复",
    "TransferCaseClosed": "结案",
    "TransferOutReversed": "撤销转出",
    "TransferReversalReceived": "收到撤销转移的通知",
    "BenefitStarted": "开始发放待遇",
    "InfoSheetCorrected": "更正转移信息表",
    "InfoSheetCorrectionReceived": "收到更正后的转移信息表",
    "LateCorrectionReceived": "收到办结后才到的更正信息表（未采用，转出地将联系补转）",
    "ExcessReturned": "退回多转入的资金",
    "ExcessReturnReceived": "收到退回的多转资金",
    "CorrectionNotApplied": "转入地已按更正前的信息表办结，更正未被采用，需工作人员决定补转",
    "CorrectionForNewCase": "本次转移按转入地办结时的信息表结束，更正后的差额另案补转（少则办结后退回）",
    "LateFundsReturned": "办结后到账的资金已记录，并原路退回转出地",
    "LateFundsReturnReceived": "收到转入地退回的办结后到账资金",
    "FormalReviewPassed": "形式审查通过",
    "AcceptanceDeemed": "视为受理",
    "OriginalsReceived": "收到纸质原件",
    "AssistanceRequested": "请求协办地区协助",
    "AssistanceRequestReceived": "收到协助请求",
    "AssistanceGiven": "提供协助",
    "AssistanceReceived": "收到协办结果",
    "AssistanceDeclined": "协办地区不能协助",
    "CooperationClosed": "协作结束",
    "CooperationClosedReceived": "收到协作结束通知",
    "CompletionNotified": "通知办结",
    "CompletionNoticeReceived": "收到办结通知",
    "WithdrawalForwarded": "转交撤回申请",
    "WithdrawalRequestReceived": "收到撤回申请",
    "HandlingWithdrawalConfirmed": "确认撤回",
    "SupplementForwarded": "转交补正材料",
    "ForwardedSupplementReceived": "收到补正材料",
    "HandlingRejected": "办理地不予受理",
    "HandlingSupplementRequested": "办理地要求补正材料",
    "HandlingLapsed": "办理地逾期终止",
    "RatingReceived": "收到评价",
    "FollowUpOpened": "对差评进行回访整改",
    "FollowUpOverdue": "回访整改逾期",
    "FollowUpClosed": "回访整改完成",
    "MoveOutRefused": "不予迁出",
    "MoveOutRefusalReceived": "收到不予迁出的决定",
    "MoveOutWithdrawn": "撤回迁移申请",
    "MoveOutWithdrawalReceived": "收到撤回迁移申请",
    "MoveOutWithdrawalRefused": "已注销，不能撤回",
    "MoveOutWithdrawalRefusalReceived": "收到不能撤回的通知",
    "MoveOutBegun": "开始办理迁出",
    "MoveOutCancelled": "撤销迁出",
    "MoveOutCancellationReceived": "收到撤销迁出请求",
    "MoveOutCancellationConfirmed": "确认撤销迁出",
    "MoveOutReversed": "撤销迁出",
    "MoveOutReversalReceived": "收到撤销迁出通知",
    "MoveOutHoldReleased": "解除暂缓迁出",
    "SettlementReported": "报告落户",
    "SettlementReceiptReceived": "收到落户回执",
    "RegistrationReinstated": "恢复户籍登记",
    "CounterpartEventRejected": "对方地区的消息未被接受，转工作人员处理",
}

#: Statuses in which the applicant, not an office, must act next.
APPLICANT_ACTS = {"supplement_requested": "请按要求补正材料。"}


def status_text(status: str, role: str) -> str:
    return STATUS.get(status, status)


def event_text(event_type: str) -> str:
    """The timeline's words for an event; "" for bookkeeping an applicant need not see."""
    if event_type in EVENTS:
        return EVENTS[event_type]
    if event_type.endswith("Received"):
        return "收到对方地区的通知"
    return ""


@lru_cache(maxsize=256)
def _name(code: str) -> str:
    """A region's name (`RegionCode` validates and looks it up: a tenth of a view's fold, for
    the same few codes every time, hence the cache)."""
    try:
        return RegionCode(code).name or code
    except InvalidValue:
        return code


def next_action(status: str, role: str, region: str, peers: tuple[str, ...],
                terminal: bool) -> tuple[str, str]:
    """(who holds the case, what happens next) in the applicant's words."""
    if terminal:
        return "", "办理已结束，无需再做什么。"
    if status in APPLICANT_ACTS:
        return "applicant", APPLICANT_ACTS[status]
    waiting_for_peer = status in ("awaiting_transfer", "awaiting_holds", "transferred_out")
    if waiting_for_peer and peers:
        names = "、".join(_name(p) for p in peers)
        return peers[0], f"等待{names}办理，无需您操作。"
    return region, f"{_name(region)}正在办理，无需您操作。"
