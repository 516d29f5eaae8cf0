"""住房公积金 异地转移接续: housing provident fund transfer between centres, one origin.

Legal basis (reference/domain.md §2d-1): 住建部《全国住房公积金异地转移接续业务操作规程》(2017).
The destination centre (转入地中心) accepts and uploads the 联系函 within 3 WD (`contact_letter`);
the origin centre, on receiving it, **confirms receipt (反馈确认) through the platform** — here
the shared event `ContactLetterConfirmed`, sent with its receipt — then checks identity and its
转出条件, issues the 《账户信息表》 and remits the balance within 5 WD (`transfer_out`); the
destination checks the sheet against the money and credits the account when they agree
("核对一致的…计入职工住房公积金个人账户").

Built on `domain.protocols.transfer` (one phase, relationship and money together at completion).
Components: `principal` and `interest` (本金, 利息), both from the origin's books.

Allowed terminal pairs (destination, origin): (completed, transferred_out),
(refused_by_origin, refused | released), (withdrawn, released | refused | reinstated),
(rejected | lapsed | withdrawn, absent).

Not yet in scope: a unit clerk filing for several workers (集中办理), confirming with the worker
before crediting (phone/SMS), centres without a direct connection (manual platform entry is a
property of the node, not of the protocol), the origin closing the old account afterwards ([I]).
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

PROCESS = "housing_fund_transfer"
SCHEME = "housing_fund"
ALLOWED_TERMINAL_PAIRS = transfer.TERMINAL_PAIRS
TRANSITIONS = transfer.TRANSITIONS  # the simulator's transition watch judges the transfers too
COMPONENTS = ("principal", "interest")


def validate_sheet(sheet: InfoSheet) -> None:
    check_sheet_shape(sheet, COMPONENTS)
    if sheet.years:
        raise InvalidValue("a housing fund sheet carries no pension years", code="invalid_sheet")
    if sheet.amount_fen <= 0:
        raise InvalidValue("a housing fund transfer moves a positive balance", code="invalid_sheet")


def sample_sheet(rng: random.Random) -> InfoSheet:
    principal = rng.randrange(100_000, 20_000_000)
    return InfoSheet(months=rng.randrange(6, 240), components=(
        Component("principal", principal), Component("interest", principal * 3 // 200)))


SPEC = TransferSpec(
    process=PROCESS, scheme=SCHEME, multi_origin=False, relationship_on_sheet=False,
    has_benefit=False, confirms_receipt=True, requires_suspension=False,
    separate_remittance=False, validate_sheet=validate_sheet, sample_sheet=sample_sheet)

decider, options, register_effects = transfer_schemes.scheme_interface(SPEC)
