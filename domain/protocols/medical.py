"""基本医疗保险关系转移接续: basic medical insurance (职工医保 / 居民医保), one origin.

Legal basis (reference/domain.md §2b-4): 医保办发〔2021〕43号 《基本医疗保险关系转移接续暂行办法》.
The origin completes the transfer out and issues the 《参保人员基本医疗保险信息表》 within 10 WD
(`transfer_out`, counted here from receipt of the destination's request: the design's rule that a
side's clock starts at receipt); the destination checks it and moves the relationship in within
5 WD of receipt (`transfer_in`); the individual-account money is credited when it arrives and
matches ("与业务档案匹配并核对个人账户转移金额，核对无误后…计入").

What is special, and how it is built (on `domain.protocols.transfer`):
- **The origin must already have stopped the insurance (中止参保)**: `ApproveTransferOut` needs
  `suspended_on`, else `insurance_not_suspended`.
- The relationship moves in on the sheet (`RelationshipTakenOver`, clears `transfer_in`), the
  money follows as its own sub-state; a sheet without an individual account (居民医保) reconciles
  against no funds.
- One origin per application.

Allowed terminal pairs (destination, origin): (completed, transferred_out),
(refused_by_origin, refused | released), (withdrawn, released | refused | reinstated),
(rejected | lapsed | withdrawn, absent).

Not yet in scope: applying at the origin instead of the destination, 待遇衔接 (back-payment
within 3 months, waiting periods ≤ 6 months), the 居民→居民 next-year rule, the electronic seal
(电子签章) on the sheet.
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

PROCESS = "medical_transfer"
SCHEME = "medical"
ALLOWED_TERMINAL_PAIRS = transfer.TERMINAL_PAIRS
TRANSITIONS = transfer.TRANSITIONS  # the simulator's transition watch judges the transfers too
COMPONENTS = ("personal_account",)


def validate_sheet(sheet: InfoSheet) -> None:
    check_sheet_shape(sheet, COMPONENTS)
    if sheet.years:
        raise InvalidValue("a medical info sheet carries no pension years", code="invalid_sheet")
    if sheet.months < 1:
        raise InvalidValue("a medical info sheet records at least one month of cover",
                           code="invalid_sheet")


def sample_sheet(rng: random.Random) -> InfoSheet:
    months = rng.randrange(6, 240)
    if rng.random() < 0.2:  # 居民医保: no individual account
        return InfoSheet(months=months, components=())
    return InfoSheet(months=months,
                     components=(Component("personal_account", rng.randrange(1_000, 3_000_000)),))


SPEC = TransferSpec(
    process=PROCESS, scheme=SCHEME, multi_origin=False, relationship_on_sheet=True,
    has_benefit=False, confirms_receipt=False, requires_suspension=True,
    separate_remittance=False, validate_sheet=validate_sheet, sample_sheet=sample_sheet)

decider, options, register_effects = transfer_schemes.scheme_interface(SPEC)
