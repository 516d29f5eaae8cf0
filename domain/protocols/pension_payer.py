"""待遇领取地: which place pays the pension at retirement (issue 15, item 4 of the scope).

The rule (国办发〔2009〕66号 第六条, restated by 人社部规〔2016〕5号; reference/domain.md §2a
"Which place pays the pension" [V]), for a person who contributed in several places:
1. the basic pension relationship is in the 户籍地 → the 户籍地 pays;
2. it is not, but the person has 10 years or more accumulated (累计) where it is → that place;
3. it is not, and under 10 years there → the relationship goes back to the last place where
   the person has 10 years or more, which pays;
4. under 10 years everywhere → the relationship and its funds are collected (归集) into the
   户籍地, which pays.
The years counted include deemed years (视同缴费年限), counted where the person worked at the
time (2016 5号) — so a `Stint`'s months are its paid and deemed months. A place that only held a
临时缴费账户 is never the 待遇领取地 [V2]; its months are collected into the relationship, and
here they count toward no place's ten years ([I]: the reference does not say where they count
for the test, so they never make a place the payer).

"Place" is compared at province level, as the 临时缴费账户 rule compares the 户籍地
(`domain.protocols.pension_temporary`): the rule speaks of 跨省流动, and since 省级统筹 a
province is one 参保地. The paying region is the one the person last contributed to in the
deciding province (the 户籍 region itself under clause 4).

Where the runtime uses it: a pension transfer at retirement names the 户籍 region and the
record's places (`TransferDetails.hukou_region`, `stints`); the destination refuses the
application unless it is in the 待遇领取地's province (`wrong_benefit_region`, naming the place
and the clause), and records `BenefitRegionDetermined`, which the case view shows.

Pure: the stints are given in the order the person contributed; nothing is read from a store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from domain.kernel import Event, InvalidValue, domain_event
from domain.protocols.casework import checked_region
from domain.protocols.details import PensionStint, TransferDetails
from domain.protocols.intake import ApplicationSubmitted
from domain.values import RegionCode

#: 66号 第六条: the ten years (in months) that make a place the 待遇领取地
TEN_YEARS = 120
Clause = Literal["hukou", "ten_years_here", "last_ten_years", "collected_to_hukou"]


#: A period of contributions in one region, in the order they happened (`details.PensionStint`).
Stint = PensionStint


@dataclass(frozen=True)
class Payer:
    """The 待遇领取地 and the clause of 66号 第六条 that chose it, in words for the case view."""

    region: str
    clause: Clause
    reason: str


def _province(region: str, field: str) -> str:
    return str(RegionCode.parse(checked_region(region, field)).province)


def benefit_region(hukou_region: str, stints: Sequence[Stint]) -> Payer:
    """The region that pays the pension of a person with this 户籍 region and these stints."""
    hukou = _province(hukou_region, "details.hukou_region")
    months: dict[str, int] = {}
    last_region: dict[str, str] = {}
    relationship = ""
    for index, stint in enumerate(stints):
        province = _province(stint.region, f"details.stints[{index}].region")
        if isinstance(stint.months, bool) or not isinstance(stint.months, int) or not (
                0 < stint.months <= 1200):
            raise InvalidValue(f"stints[{index}]: months are 1 to 1200, got {stint.months!r}",
                               code="invalid_contribution_year",
                               field=f"details.stints[{index}].months")
        if stint.temporary:
            continue
        months[province] = months.get(province, 0) + stint.months
        last_region[province] = stint.region
        relationship = province
    if not relationship:
        raise InvalidValue("a pension relationship needs at least one stint that is not a "
                           "临时缴费账户", code="invalid_contribution_year", field="details.stints")
    if relationship == hukou:
        return Payer(last_region[relationship], "hukou",
                     "the relationship is in the 户籍地 (国办发〔2009〕66号 第六条)")
    if months[relationship] >= TEN_YEARS:
        return Payer(last_region[relationship], "ten_years_here",
                     f"{months[relationship]} months (≥ 10 years) where the relationship is "
                     "(66号 第六条)")
    for stint in reversed(stints):
        province = str(RegionCode.parse(stint.region).province)
        if not stint.temporary and months[province] >= TEN_YEARS:
            return Payer(last_region[province], "last_ten_years",
                         f"under 10 years where the relationship is; the relationship goes "
                         f"back to the last place with 10 years ({months[province]} months, "
                         "66号 第六条)")
    return Payer(hukou_region, "collected_to_hukou",
                 "under 10 years in every place: relationship and funds are collected (归集) "
                 "into the 户籍地 (66号 第六条)")


@domain_event
class BenefitRegionDetermined(Event):
    """A transfer at retirement goes to the 待遇领取地: this destination, by `clause` of 66号
    第六条 (`reason` in words, for the case view)."""

    region: str
    clause: str
    reason: str


def route_at_retirement(scheme: str, submitted: ApplicationSubmitted,
                        destination: str) -> list[Event]:
    """At submission: nothing for a transfer not at retirement; else the destination must be in
    the 待遇领取地's province (else `wrong_benefit_region`), which is recorded."""
    details = submitted.details
    if not isinstance(details, TransferDetails) or not (details.hukou_region or details.stints):
        return []
    if scheme != "pension":
        raise InvalidValue("the 待遇领取地 (details.hukou_region, details.stints) is routed for a "
                           "pension transfer only", code="invalid_details", field="details.stints")
    payer = benefit_region(details.hukou_region or "", details.stints)
    if _province(payer.region, "details.stints") != _province(destination, "case_number"):
        raise InvalidValue(f"the 待遇领取地 is {payer.region}, not {destination}: {payer.reason}; "
                           "a transfer at retirement goes there", code="wrong_benefit_region",
                           field="details.stints")
    return [BenefitRegionDetermined(at=submitted.at, actor=submitted.actor, region=destination,
                                    clause=payer.clause, reason=payer.reason)]
