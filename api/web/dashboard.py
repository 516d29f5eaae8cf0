"""What the supervision dashboard shows besides the headline figures: the ratings (好差评) with
each 差评's follow-up, the joint cases whose sides disagree or need staff, and the quarter's
reconciliation of transfer money.

Why a module of its own: these are functions of the case views only (in memory or view tables),
so a unit test can check them without a browser, and the page handler stays a list of calls.
A node judges the joint cases as it knows them (`projections.joint.agreement` on its own side):
a counterpart it holds no view of is "unknown", never "agreed".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from projections.cases import CaseView
from projections.joint import agreement

#: The processes in a supervisor's words (a process not listed shows its code).
PROCESS_NAMES = {
    "pension_transfer": "养老保险关系转移接续",
    "resident_pension_transfer": "城乡居民养老保险关系转移接续",
    "institution_pension_transfer": "机关事业单位养老保险关系转移接续（含职业年金）",
    "institution_enterprise_pension_transfer": "机关事业单位与企业职工养老保险互转",
    "pension_scheme_switch": "职工与城乡居民养老保险互转",
    "veteran_pension_transfer": "退役军人养老保险关系接续",
    "unemployment_transfer": "失业保险关系转移",
    "medical_transfer": "医保关系转移接续", "housing_fund_transfer": "住房公积金异地转移",
    "household_move": "户口迁移", "benefit_claim": "待遇申领", "card_service": "卡证服务",
    "certificate_issuance": "证照办理", "certification": "资格认证", "filing": "备案",
    "fund_withdrawal": "公积金提取", "loan_repayment": "贷款还款", "notarisation": "公证",
    "query_verify": "查询核验", "registration": "登记", "single_region_approval": "审批",
    "personnel_file_transfer": "档案转递", "disability_cert_move": "残疾人证迁移",
    "direct_settlement": "异地就医直接结算",
}
#: 差评: a score of 1 or 2 out of 5 opens a follow-up (整改) at the rated region.
POOR = 2
FOLLOW_UP_TEXT = {"open": "整改中", "overdue": "整改逾期", "closed": "已整改", "": "未开始整改"}


@dataclass(frozen=True)
class PoorRating:
    case_number: str
    process: str
    score: int
    follow_up: str  # "", "open", "overdue", "closed"
    follow_up_text: str


@dataclass(frozen=True)
class Ratings:
    count: int
    average: float | None
    #: How many ratings gave each score, 1 to 5 (index 0 is score 1).
    by_score: tuple[int, ...]
    poor: tuple[PoorRating, ...]  # open and overdue follow-ups first

    @property
    def good_share(self) -> float | None:
        """Share of 好评 (4 or 5): the figure the 好差评 system publishes."""
        return sum(self.by_score[3:]) / self.count if self.count else None


def ratings(views: Iterable[CaseView]) -> Ratings:
    """Every rating this region received, with the follow-up of each case rated poorly."""
    scores: list[int] = []
    poor: list[PoorRating] = []
    for view in views:
        scores += [s for s in view.ratings if 1 <= s <= 5]
        low = [s for s in view.ratings if 1 <= s <= POOR]
        if low:
            poor.append(PoorRating(view.case_number, view.process, min(low), view.follow_up,
                                   FOLLOW_UP_TEXT.get(view.follow_up, view.follow_up)))
    urgency = {"overdue": 0, "open": 1, "": 2, "closed": 3}
    poor.sort(key=lambda p: (urgency.get(p.follow_up, 2), p.case_number))
    return Ratings(len(scores), sum(scores) / len(scores) if scores else None,
                   tuple(scores.count(s) for s in range(1, 6)), tuple(poor))


@dataclass(frozen=True)
class JointIssue:
    case_number: str
    process: str
    status_text: str
    peers: tuple[str, ...]
    disagreed: bool  # False: the sides have not disagreed, but one needs staff
    reasons: tuple[str, ...]


def joint_issues(views: Iterable[CaseView]) -> list[JointIssue]:
    """Joint cases whose sides disagree (as judged here), then those needing attention."""
    found: list[JointIssue] = []
    for view in views:
        if not view.peers:
            continue
        judged = agreement([view])
        if judged.agreed is False or judged.attention:
            found.append(JointIssue(view.case_number, view.process, view.status_text, view.peers,
                                    judged.agreed is False,
                                    judged.disagreements + judged.attention))
    found.sort(key=lambda i: (not i.disagreed, i.case_number))
    return found


def fen_as_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"
