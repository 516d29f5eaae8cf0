"""Statutory time limits, a region's shorter ones, and the waiting limits: what the limits are.

Why here and not in the protocols: the statute fixes *maxima* ("reference/domain.md", Summary of
time limits); regions are encouraged to shorten them (医保办发〔2021〕43号: "鼓励各地…进一步压缩
办理时限") and may never lengthen them. One table and one check keep every protocol honest: a
protocol asks `Rules.deadline_for(process, step, start)` (`domain.limits`) and records the
answer as `DeadlineSet`; it never carries a number of its own.

`STATUTORY` holds only what the reference lists, nothing inferred. A step without a statutory
limit gets a deadline only if the region configures one (`deadline_for` returns None otherwise).

Waiting states (补正, waiting for the counterpart, ...) are different: no statute says how long an
applicant may take to supply missing materials, yet every waiting state must be able to end, so
each has a *local* limit. The defaults live in `DEFAULT_WAITING_LIMITS` /
`DEFAULT_WAITING_FALLBACK` below; they are this project's configuration, not law, and a region
overrides them per (process, state) in its `RegionLimits`.

Why apart from `domain.limits` (`Rules`, the arithmetic over a calendar): this is the table and
its configuration, read by the contract, the broker's retention and the tests without a calendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, get_args

from domain.kernel import InvalidValue
from domain.reckoning import Unit

Owner = Literal["origin", "destination"]
Key = tuple[str, str]

#: Each unit's name, singular and plural, as the basis texts write it.
UNIT_NAMES: dict[Unit, tuple[str, str]] = {
    "working_days": ("working day", "working days"),
    "calendar_days": ("calendar day", "calendar days"),
    "calendar_months": ("calendar month", "calendar months"),
}


class LimitExceedsStatute(InvalidValue):
    """A region configured a limit longer than the statutory maximum."""

    code = "limit_exceeds_statute"


@dataclass(frozen=True)
class Limit:
    """A positive amount of one unit; "≤ 1 month" is `Limit(1, "calendar_months")`, not 30 days."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise InvalidValue(f"a time limit is a positive integer, got {self.amount!r}")
        if self.unit not in get_args(Unit):
            raise InvalidValue(
                f"time limit unit must be one of {get_args(Unit)}, got {self.unit!r}"
            )

    def __str__(self) -> str:
        singular, plural = UNIT_NAMES[self.unit]
        return f"{self.amount} {singular if self.amount == 1 else plural}"


@dataclass(frozen=True)
class Statute:
    """A statutory maximum: which side owns the step, what starts its clock, and the source."""

    limit: Limit
    owner: Owner
    starts: str
    source: str


def _wd(n: int) -> Limit:
    return Limit(n, "working_days")


_PENSION = "国办发〔2009〕66号 第八条 [V2]"
_INSTITUTION = "人社厅发〔2017〕7号 [V2] (机关事业 → 企业; none given for the other direction)"
_SCHEME_SWITCH = "人社部发〔2014〕17号 [V2]"
_UNEMPLOYMENT = "失业保险关系转移接续 经办规程, as local guides cite it [V2]"
_MEDICAL = "医保办发〔2021〕43号 [V]"
_HOUSING = "住建部《全国住房公积金异地转移接续业务操作规程》(2017) [V2]"
_FILES = "人社部发〔2021〕112号 [V2]"
_HOUSEHOLD = "《准予迁入证明》 validity, local guidance [V2]"
_LICENSING = "行政许可法 第三十二条 (五日内一次告知, else 受理), 第八十二条 (working days) [I]"
#: A statute for every process of a kind of step (the 行政许可法's intake rule).
ANY_PROCESS = "*"

#: (process, step) -> statutory maximum; exactly the reference's "Summary of time limits".
STATUTORY: Mapping[Key, Statute] = MappingProxyType(
    {
        ("pension_transfer", "contact_letter"): Statute(
            _wd(15), "destination",
            "submission of the application, to the 联系函 or a written refusal (补正 stops it)", _PENSION
        ),
        ("pension_transfer", "transfer_out"): Statute(
            _wd(15), "origin", "receipt of the contact letter", _PENSION
        ),
        ("pension_transfer", "completion"): Statute(
            _wd(15), "destination", "receipt of both the info sheet and the funds", _PENSION
        ),
        ("institution_enterprise_pension_transfer", "transfer_out"): Statute(
            _wd(15), "origin", "receipt of the transfer application", _INSTITUTION
        ),
        ("institution_enterprise_pension_transfer", "completion"): Statute(
            _wd(15), "destination", "information and funds matching", _INSTITUTION
        ),
        ("pension_scheme_switch", "contact_letter"): Statute(
            _wd(15), "destination",
            "submission of the application, to the 联系函 or a written refusal (补正 stops it)",
            _SCHEME_SWITCH
        ),
        ("pension_scheme_switch", "transfer_out"): Statute(
            _wd(15), "origin", "receipt of the contact letter", _SCHEME_SWITCH
        ),
        ("pension_scheme_switch", "completion"): Statute(
            _wd(15), "destination", "arrival of the funds", _SCHEME_SWITCH
        ),
        ("unemployment_transfer", "contact_letter"): Statute(
            _wd(5), "destination",
            "submission of the application, to the 联系函 or a written refusal (补正 stops it)", _UNEMPLOYMENT
        ),
        ("unemployment_transfer", "transfer_out"): Statute(
            _wd(5), "origin", "receipt of the contact letter", _UNEMPLOYMENT
        ),
        ("unemployment_transfer", "funds_remittance"): Statute(
            Limit(1, "calendar_months"), "origin", "the transfer out", _UNEMPLOYMENT
        ),
        ("medical_transfer", "transfer_out"): Statute(
            _wd(10), "origin", "acceptance of the application", _MEDICAL
        ),
        ("medical_transfer", "transfer_in"): Statute(
            _wd(5), "destination", "receipt of the info sheet", _MEDICAL
        ),
        ("housing_fund_transfer", "contact_letter"): Statute(
            _wd(3), "destination",
            "submission of the application, to the 联系函 or a written refusal (补正 stops it)", _HOUSING
        ),
        ("housing_fund_transfer", "transfer_out"): Statute(
            _wd(5), "origin", "receipt of the contact letter", _HOUSING
        ),
        ("personnel_file_transfer", "transfer_out"): Statute(
            _wd(15), "origin", "receipt of the transfer letter (调档函)", _FILES
        ),
        ("household_move", "permit_validity"): Statute(
            Limit(40, "calendar_days"), "destination", "issue of the permit (准迁证)", _HOUSEHOLD
        ),
        (ANY_PROCESS, "acceptance_notice"): Statute(
            _wd(5), "destination", "receipt of the application materials by the deciding side",
            _LICENSING
        ),
    }
)

#: Local defaults for waiting states, by state name, for any process — configuration, not law.
#: - "supplement" / "supplement_requested" (补正): the applicant supplies the missing materials
#:   within 30 calendar days, or the application lapses (逾期未补正). Calendar days because the
#:   applicant, not an office, has to act.
#: - "awaiting_counterpart": how long a side waits for the other region before the case needs a
#:   person: 30 working days, twice the longest statutory counterpart step (15 WD).
#: - "follow_up" (差评整改): the rated region closes a poor rating's follow-up within 15 working
#:   days. 国办发〔2019〕51号 requires every 差评 to be verified, rectified and answered but, as far
#:   as verified here, fixes no national number; local rules vary (四川: 15 WD, 德州: 5 WD, other
#:   cities 7 days), so this is the longest seen, to be shortened per region.
#: - "reply_consult" / "reply_complain" / "reply_suggest" (`domain.protocols.consultation`): the
#:   region answers a 咨询 within 5 working days, a 投诉 or 建议 within 15 — local defaults
#:   in the spirit of the 12345 hotline practice, not a verified national number.
DEFAULT_WAITING_LIMITS: Mapping[str, Limit] = MappingProxyType(
    {
        "supplement": Limit(30, "calendar_days"),
        "supplement_requested": Limit(30, "calendar_days"),
        "awaiting_counterpart": Limit(30, "working_days"),
        "follow_up": Limit(15, "working_days"),
        "reply_consult": Limit(5, "working_days"),
        "reply_complain": Limit(15, "working_days"),
        "reply_suggest": Limit(15, "working_days"),
    }
)
#: Any other waiting state a protocol names: 30 calendar days, so every waiting state can end.
DEFAULT_WAITING_FALLBACK = Limit(30, "calendar_days")
#: 督办 once a deadline is missed: escalate after 3 more working days unless configured.
DEFAULT_ESCALATION_AFTER = Limit(3, "working_days")


def statute_for(process: str, step: str) -> Statute | None:
    """The statutory maximum of a step: the process's own, else the one for every process."""
    return STATUTORY.get((process, step)) or STATUTORY.get((ANY_PROCESS, step))


def _check_key(key: object, what: str) -> Key:
    if (
        not isinstance(key, tuple)
        or len(key) != 2
        or not all(isinstance(part, str) and part for part in key)
    ):
        raise InvalidValue(
            f"{what} keys are (process, name) pairs of non-empty strings, got {key!r}"
        )
    return key


def _check_limit(value: object, what: str) -> Limit:
    if not isinstance(value, Limit):
        raise InvalidValue(f"{what} must be a Limit, got {value!r}")
    return value


@dataclass(frozen=True)
class RegionLimits:
    """One region's deadline configuration, validated on construction.

    - `limits`: (process, step) -> a limit, at most the statutory one and in its unit; steps
      without a statute may be given a limit too (e.g. household_move's own steps).
    - `waiting_limits`: (process, waiting state) -> a limit, overriding `waiting_defaults`
      (by state name) and then `waiting_fallback`.
    - `escalation_after`: from the last day of a missed deadline to its 督办 (working or
      calendar days).
    """

    region: str = ""
    limits: Mapping[Key, Limit] = field(default_factory=dict)
    waiting_limits: Mapping[Key, Limit] = field(default_factory=dict)
    waiting_defaults: Mapping[str, Limit] = field(
        default_factory=lambda: dict(DEFAULT_WAITING_LIMITS)
    )
    waiting_fallback: Limit = DEFAULT_WAITING_FALLBACK
    escalation_after: Limit = DEFAULT_ESCALATION_AFTER

    def __post_init__(self) -> None:
        who = f"region {self.region}" if self.region else "region configuration"
        for key, limit in self.limits.items():
            process, step = _check_key(key, "limits")
            _check_limit(limit, f"{who}: limit for {process}/{step}")
            statute = statute_for(process, step)
            if statute is None:
                continue
            if limit.unit != statute.limit.unit:
                raise InvalidValue(
                    f"{who}: {process}/{step} configured as {limit} but the statute counts in "
                    f"{UNIT_NAMES[statute.limit.unit][1]} ({statute.limit}, {statute.source})",
                    code="limit_unit_mismatch",
                )
            if limit.amount > statute.limit.amount:
                raise LimitExceedsStatute(
                    f"{who}: {process}/{step} configured as {limit}, longer than the statutory "
                    f"maximum of {statute.limit} ({statute.source}); regions may only shorten it"
                )
        for key, limit in self.waiting_limits.items():
            process, state = _check_key(key, "waiting_limits")
            _check_limit(limit, f"{who}: waiting limit for {process}/{state}")
        for state, limit in self.waiting_defaults.items():
            if not isinstance(state, str) or not state:
                raise InvalidValue(f"{who}: waiting_defaults keys are state names, got {state!r}")
            _check_limit(limit, f"{who}: default waiting limit for {state}")
        _check_limit(self.waiting_fallback, f"{who}: waiting_fallback")
        _check_limit(self.escalation_after, f"{who}: escalation_after")
        if self.escalation_after.unit == "calendar_months":
            raise InvalidValue(f"{who}: escalation_after must be in working or calendar days")
        for name in ("limits", "waiting_limits", "waiting_defaults"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def limit_for(self, process: str, step: str) -> tuple[Limit, str] | None:
        """The limit in force for a step and the basis text naming its source; None if none."""
        statute = statute_for(process, step)
        configured = self.limits.get((process, step))
        region = f"region {self.region}" if self.region else "region"
        if configured is not None:
            starts = f" from {statute.starts}" if statute else ""
            law = (
                f"statutory maximum {statute.limit}, {statute.source}"
                if statute
                else "no statutory limit"
            )
            return (
                configured,
                f"{process}/{step}: {configured}{starts} ({region} configuration; {law})",
            )
        if statute is not None:
            return statute.limit, (
                f"{process}/{step}: {statute.limit} from {statute.starts} "
                f"(statutory maximum, {statute.source})"
            )
        return None

    def waiting_limit_for(self, process: str, state: str) -> tuple[Limit, str]:
        region = f"region {self.region}" if self.region else "region"
        if (limit := self.waiting_limits.get((process, state))) is not None:
            return limit, f"{process} waiting in {state}: {limit} ({region} configuration)"
        if (limit := self.waiting_defaults.get(state)) is not None:
            return (
                limit,
                f"{process} waiting in {state}: {limit} (local default for {state}, not statute)",
            )
        return self.waiting_fallback, (
            f"{process} waiting in {state}: {self.waiting_fallback} "
            "(local default for any waiting state, not statute)"
        )
