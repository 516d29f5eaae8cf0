"""失业保险关系转移接续: unemployment insurance, one or several origins.

Legal basis (reference/domain.md §2b-3): 《失业保险条例》
("失业人员跨统筹地区流动的，失业保险关系随之转迁"), 劳社部令第8号, the ministry's transfer
procedure as local guides quote it. Time limits: the destination sends the 联系函 within 5 WD
of acceptance (`contact_letter`); each origin transfers out within 5 WD of receipt
(`transfer_out`) and remits the funds in the following month's 拨付计划, at most 1 calendar
month after the transfer out (`funds_remittance`, a separate step here: `separate_remittance`).

What is special, and how it is built (on `domain.protocols.transfer`):
- **The benefit does not wait for the money** ("不得以费用未到为由，拒发失业保险待遇", reference §1
  invariant 5): once every origin's info sheet is in, the destination takes the relationship over
  (`RelationshipTakenOver`, register opened) and may start paying (`StartBenefit`), while the money
  is a separate sub-state (funds received → reconciled → `completed`).
- **Under 1 year of contributions only the relationship moves, no money**: a sheet with fewer
  than 12 months must carry no amount; it reconciles against no funds and completes on its own.
- Several origins must be accepted or refused together: the two phases of the generic machine.
- Components (what moves, reference §2b-3): 失业保险金 (`unemployment_benefit`), 医疗补助金
  (`medical_subsidy`), 职业培训/职业介绍补贴 (`training_subsidy`). Their amounts come from the
  origin's books; the "half of the 失业保险金 total" reading is ambiguous in the sources ([I]) and
  is not enforced.

Allowed terminal pairs (destination, origin): (completed, transferred_out),
(refused_by_origin, refused | released), (withdrawn, released | refused | reinstated),
(rejected | lapsed | withdrawn, absent). Withdrawal is refused once the relationship was taken
over (the person would apply to transfer back instead).

Not yet in scope: "no changing the paying place in the middle of a benefit period", the
destination paying a shortfall from its own fund, benefit amounts and periods as computed from
contribution years (the staff enters them), online-application number matching (申请表编号).
"""

from __future__ import annotations

import random

from domain.kernel import InvalidValue
from domain.protocols import transfer, transfer_schemes
from domain.protocols.transfer_sheets import (
    Component,
    InfoSheet,
    TransferSpec,
    check_sheet_shape,
)

PROCESS = "unemployment_transfer"
SCHEME = "unemployment"
ALLOWED_TERMINAL_PAIRS = transfer.TERMINAL_PAIRS
TRANSITIONS = transfer.TRANSITIONS  # the simulator's transition watch judges the transfers too
COMPONENTS = ("unemployment_benefit", "medical_subsidy", "training_subsidy")
MONEY_THRESHOLD_MONTHS = 12


def validate_sheet(sheet: InfoSheet) -> None:
    check_sheet_shape(sheet, COMPONENTS)
    if sheet.years:
        raise InvalidValue("an unemployment info sheet carries no pension years",
                           code="invalid_sheet")
    if sheet.months < MONEY_THRESHOLD_MONTHS and sheet.amount_fen != 0:
        raise InvalidValue(f"under {MONEY_THRESHOLD_MONTHS} months of contributions only the "
                           "relationship moves, no money", code="no_money_under_one_year")


def sample_sheet(rng: random.Random) -> InfoSheet:
    months = rng.randrange(3, 120)
    if months < MONEY_THRESHOLD_MONTHS:
        return InfoSheet(months=months, components=())
    benefit = rng.randrange(300_000, 4_000_000)
    return InfoSheet(months=months, components=(
        Component("unemployment_benefit", benefit),
        Component("medical_subsidy", benefit // 4),
        Component("training_subsidy", benefit // 4)))


SPEC = TransferSpec(
    process=PROCESS, scheme=SCHEME, multi_origin=True, relationship_on_sheet=True,
    has_benefit=True, confirms_receipt=False, requires_suspension=False,
    separate_remittance=True, validate_sheet=validate_sheet, sample_sheet=sample_sheet)

decider, options, register_effects = transfer_schemes.scheme_interface(SPEC)
