"""Catalogue entries: the plan's 138 items as the seed states them, plus hand-curated fields.

Why keep both: the plan (内政办发〔2020〕43号, annexes 1–3) is the authority, so every entry keeps
the seed's cells verbatim (`raw`) next to the cleaned fields, and every change beyond removing
layout whitespace is recorded as a `Correction` with its reason. Modes and process are judgements
(note 1 of the plan leaves the combination of modes to each region), so each entry carries the
`basis` it rests on; they are data, never derived by keyword rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["online", "proxy", "joint", "local"]
Level = Literal["province", "prefecture", "county"]
LimitUnit = Literal["working", "calendar", "month"]
Side = Literal["destination", "origin"]

#: 全程网办, 异地代收代办, 多地联办 (design.md §2), and 就地办理: the office where the applicant
#: lives handles the case itself, not restricted by the 户籍地 (marriage and divorce registration
#: under 跨省通办: the local 婚姻登记机关 registers; nothing is forwarded).
MODES: tuple[Mode, ...] = ("online", "proxy", "joint", "local")
#: 办理层级: the level of the authority that decides a proxy item; the window routes the place the
#: applicant names (a county or prefecture code) to that level (`domain.catalogue.routing`).
LEVELS: tuple[Level, ...] = ("province", "prefecture", "county")
BATCH_LABELS: Mapping[int, str] = {1: "2020年底前", 2: "2021年底前", 3: "2021年以后"}
#: "working" = 工作日 with 调休; "calendar" = calendar days; "month" = calendar months (the
#: unemployment funds' "≤ 1 month"). The count is in `StepLimit.days` whatever the unit.
LIMIT_UNITS: tuple[LimitUnit, ...] = ("working", "calendar", "month")
SIDES: tuple[Side, ...] = ("destination", "origin")

#: The processes a catalogue item can follow; the first twelve are the two-region protocols of
#: reference/domain.md §2, the rest are kinds of single-region service (see docs/catalogue.md).
PROCESSES: Mapping[str, str] = {
    "pension_transfer": "企业职工基本养老保险关系转移接续 (§2a)",
    "resident_pension_transfer": "城乡居民基本养老保险关系转移接续 (§2b-1)",
    "institution_pension_transfer": "机关事业单位基本养老保险关系转移接续, 含职业年金 (§2a′)",
    "institution_enterprise_pension_transfer": "机关事业单位与企业职工基本养老保险互转 (§2a′)",
    "pension_scheme_switch": "城乡养老保险制度衔接 (§2b-2)",
    "veteran_pension_transfer": "退役军人养老保险关系转移接续, with a 军队经办机构 (§1)",
    "unemployment_transfer": "失业保险关系转移接续 (§2b-3)",
    "medical_transfer": "基本医疗保险关系转移接续 (§2b-4)",
    "housing_fund_transfer": "住房公积金异地转移接续 (§2d-1); no item of the plan uses it",
    "household_move": "户口迁移 (§2c)",
    "personnel_file_transfer": "流动人员人事档案接收转递 (§2d-3)",
    "disability_cert_move": "残疾人证迁移 (§2d-4)",
    "single_region_approval": "许可/审批/核准/认定/注册 decided by one competent authority",
    "registration": "登记, or a change of registered data, by the competent registry",
    "filing": "备案/汇交/报告, recorded without an approval decision",
    "query_verify": "查询/核验/打印 of existing records",
    "certificate_issuance": "开具/出具 a certificate (证明) from the issuer's records",
    "notarisation": "公证 by a notary office",
    "certification": "资格认证: confirmation of entitlement (生存认证) or a networked check",
    "card_service":
        "issue, activation, replacement, loss report or cancellation of a personal card (卡/证)",
    "direct_settlement": "medical costs settled at the point of care, cleared between the regions",
    "benefit_claim": "application for a benefit or for eligibility to one (待遇, 救助, 补贴)",
    "fund_withdrawal": "提取 of housing-fund savings",
    "loan_repayment": "early repayment of a housing-fund loan",
}
TRANSFER_PROCESSES: frozenset[str] = frozenset({
    "pension_transfer", "resident_pension_transfer", "institution_pension_transfer",
    "institution_enterprise_pension_transfer", "pension_scheme_switch",
    "veteran_pension_transfer", "unemployment_transfer", "medical_transfer", "housing_fund_transfer",
    "household_move", "personnel_file_transfer", "disability_cert_move",
})
#: Cleaned fields a `Correction` may change.
CORRECTABLE_FIELDS: tuple[str, ...] = ("name", "scenario", "lead_unit", "co_units", "deadline_text")


@dataclass(frozen=True)
class StepLimit:
    """A statutory maximum for one step, as reference/domain.md gives it (never invented).

    `starts` says which fact starts the clock (receipt is a fact of the receiving side); regions
    may configure shorter limits, never longer.
    """

    step: str
    days: int
    unit: LimitUnit
    side: Side
    starts: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "days": self.days, "unit": self.unit, "side": self.side,
                "starts": self.starts, "source": self.source}


@dataclass(frozen=True)
class Correction:
    """A change to a cleaned field beyond whitespace removal: `original` → `corrected`, and why.

    Values are strings, or tuples for `co_units` (the whole list before and after).
    """

    field: str
    original: str | tuple[str, ...]
    corrected: str | tuple[str, ...]
    why: str

    def to_dict(self) -> dict[str, Any]:
        def plain(value: str | tuple[str, ...]) -> str | list[str]:
            return value if isinstance(value, str) else list(value)

        return {"field": self.field, "from": plain(self.original), "to": plain(self.corrected),
                "why": self.why}


@dataclass(frozen=True)
class Item:
    """One 事项 of the plan. `id` is f"b{batch}-{seq}"; `raw` holds the seed's cells verbatim."""

    id: str
    batch: int
    batch_label: str
    seq: int
    name: str
    scenario: str
    lead_unit: str
    co_units: tuple[str, ...]
    deadline_text: str | None
    modes: tuple[Mode, ...]
    process: str
    level: Level | None
    basis: str
    limits: tuple[StepLimit, ...]
    see_also: tuple[str, ...]
    corrections: tuple[Correction, ...]
    notes: tuple[str, ...]
    raw: Mapping[str, str] = field(hash=False, compare=False)

    @property
    def is_transfer(self) -> bool:
        """True for the two-region protocols (转出地 and 转入地 both hold a side of the case)."""
        return self.process in TRANSFER_PROCESSES

    def to_dict(self, *, include_raw: bool = True) -> dict[str, Any]:
        """The entry in the `items.json` shape (the inverse of the loader)."""
        data: dict[str, Any] = {
            "id": self.id, "batch": self.batch, "batch_label": self.batch_label,
            "seq": self.seq, "name": self.name, "scenario": self.scenario,
            "lead_unit": self.lead_unit, "co_units": list(self.co_units),
        }
        if self.deadline_text is not None:
            data["deadline_text"] = self.deadline_text
        data.update({
            "modes": list(self.modes), "process": self.process,
            **({"level": self.level} if self.level is not None else {}),
            "basis": self.basis,
            "limits": [limit.to_dict() for limit in self.limits],
            "see_also": list(self.see_also),
            "corrections": [c.to_dict() for c in self.corrections],
            "notes": list(self.notes),
        })
        if include_raw:
            data["raw"] = dict(self.raw)
        return data
