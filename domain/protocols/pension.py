"""基本养老保险关系转移接续: the six pension items, one process each, one or several origins.

Legal basis (reference/domain.md §2a): 国办发〔2009〕66号, 人社部发〔2009〕187号. The destination
(新参保地) accepts and sends the 联系函 within 15 WD of the submission (`contact_letter`); each
origin (原参保地) completes the transfer out — info sheet, 基金划转, termination — within 15 WD of
receiving it (`transfer_out`); the destination finishes within 15 WD of having both the sheet and
the funds (`completion`). Those are the enterprise scheme's limits (b1-7); each other item has
the limits its own regulation gives, or none (`domain.protocols.pension_items`, whose table says
which process each item runs, its components and its sources). Several origins in one
application are handled in two phases: hold, then proceed (reference §1 invariant 4), see
`domain.protocols.transfer`.

State tables: docs/transfer.md (the generic machine, `domain.protocols.transfer`; these schemes
use all of it except the early relationship take-over and the benefit). Allowed terminal pairs
(destination, origin): (completed, transferred_out | released) (released: a withdrawal overtaken by another
origin's transfer-out), (refused_by_origin, refused | released),
(withdrawn, released | refused | reinstated), (rejected | lapsed | withdrawn, absent).

The amount rules and the one rounding rule (each year's figure rounded half-up to the fen, then
summed): `domain.protocols.pension_amounts`. This module keeps the enterprise scheme's names
(`SPEC`, `transfer_amount`, `validate_sheet`, `sample_sheet`...) for its callers, and exposes
every item's interface to the registry (`PROCESSES`, `INTERFACES`).

In scope: per-item components and limits, pre-1998 and deemed years (months, no pooled money),
several bases in a year, 清退 for 制度衔接, 职业年金 实账/记账, the veteran's agency as
counterpart, the 临时缴费账户 rule (`domain.protocols.pension_temporary`), the direction of
b1-10 and b1-11, each with its own rule (`domain.protocols.pension_directions`), the limits a
yearly line states (its base within 60 %–300 % of the local average wage, its individual-account
booking at 11 % to 2005 and 8 % from 2006: `pension_limits`), and 待遇领取地 routing of a
transfer at retirement (66号 第六条: `pension_payer`). Not yet: the temporary account's own
transfer (归集 of its 本息 into the relationship, the actual employer rate above 12 %),
个人身份参保 special cases, a direction required of every b1-10/b1-11 application (one without
runs the item's one rule of before), and periodic net settlement (川渝).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from domain.protocols import transfer, transfer_schemes
from domain.protocols.pension_amounts import check_line
from domain.protocols.pension_items import BY_ITEM, ENTERPRISE, ITEMS, TWELVE
from domain.protocols.pension_limits import round_fen_times
from domain.protocols.transfer_sheets import ContributionYear, InfoSheet

PROCESS = "pension_transfer"
SCHEME = "pension"
ALLOWED_TERMINAL_PAIRS = transfer.TERMINAL_PAIRS
TRANSITIONS = transfer.TRANSITIONS  # the simulator's transition watch judges the transfers too
POOLED_RATE = TWELVE
FIRST_POOLED_YEAR = ENTERPRISE.pooled_from[0]
COMPONENTS = ENTERPRISE.components
_ENTERPRISE = BY_ITEM["b1-7"]


def check_year(year: ContributionYear) -> None:
    """A line of the enterprise scheme's record (`pension_amounts.check_line`)."""
    check_line(year, ENTERPRISE)


def pooled_part_fen(year: ContributionYear) -> int:
    """12% of one line's contribution wage (monthly base × months), rounded half-up to the fen
    (0 before 1998 and for deemed months)."""
    check_year(year)
    if year.kind != "paid" or year.year < FIRST_POOLED_YEAR:
        return 0
    return round_fen_times(year.monthly_base_fen * year.months, POOLED_RATE)


def transfer_amount(individual_account_fen: int, years: Sequence[ContributionYear]) -> InfoSheet:
    """The enterprise info sheet one origin issues: its individual account plus the pooled part,
    rounded per year then summed (a year may take several lines, one per base)."""
    from domain.kernel import InvalidValue

    if isinstance(individual_account_fen, bool) or not isinstance(individual_account_fen, int) or (
            individual_account_fen < 0):
        raise InvalidValue("the individual account balance is a non-negative number of fen",
                           code="invalid_amount")
    return _ENTERPRISE.sheet(individual_account_fen, tuple(years))


def validate_sheet(sheet: InfoSheet) -> None:
    """A sheet is valid when it is exactly what `transfer_amount` makes of its own years."""
    _ENTERPRISE.validate_sheet(sheet)


def sample_sheet(rng: random.Random) -> InfoSheet:
    """A plausible enterprise sheet (recent years, now and then older or deemed ones)."""
    return _ENTERPRISE.transfer_spec.sample_sheet(rng)


SPEC = _ENTERPRISE.transfer_spec
PROCESSES: tuple[str, ...] = tuple(item.process for item in ITEMS)
#: Each item's process → the functions the registry reads (`domain.protocols.spec_of`).
INTERFACES: Mapping[str, transfer_schemes.SchemeInterface] = {
    item.process: transfer_schemes.scheme_interface(item.transfer_spec) for item in ITEMS}

decider, options, register_effects = INTERFACES[PROCESS]
