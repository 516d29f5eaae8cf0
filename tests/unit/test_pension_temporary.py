"""临时缴费账户 (issue 15, item 4): a man of 50 or more or a woman of 40 or more who moves to a
province that is not their 户籍地 keeps the relationship at the 原参保地; the new place opens a
temporary contribution account instead of taking the relationship over (国办发〔2009〕66号
第五条, reference/domain.md §2a). Before, every such move transferred the relationship.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from domain.kernel import DomainError
from domain.protocols.intake import AcceptIntake
from domain.protocols.pension_temporary import (
    Mover,
    OpenTemporaryAccount,
    TemporaryAccountOpened,
    temporary_account_reason,
)
from tests.fixtures.transfers import TRANSFERS, TransferWorld, staff

DEST, ORIGIN = "150600", "610800"  # 鄂尔多斯 (内蒙古), 榆林 (陕西)
ON = dt.date(2025, 3, 3)


def mover(sex: str, born_on: dt.date, hukou: str = "610802", approved: bool = False) -> Mover:
    return Mover(sex=sex, born_on=born_on, hukou_region=hukou,  # type: ignore[arg-type]
                 approved_transfer=approved)


@pytest.mark.parametrize(("who", "applies"), [
    (mover("male", dt.date(1975, 3, 3)), True),     # 50 today
    (mover("male", dt.date(1975, 3, 4)), False),    # 49 until tomorrow
    (mover("female", dt.date(1985, 3, 3)), True),   # 40 today
    (mover("female", dt.date(1985, 3, 4)), False),
    (mover("male", dt.date(1960, 1, 1), hukou="150602"), False),  # back to the 户籍 province
    (mover("male", dt.date(1960, 1, 1), approved=True), False),   # an approved 调动
])
def test_the_temporary_account_rule_by_age_sex_and_hukou(who: Mover, applies: bool) -> None:
    assert (temporary_account_reason(who, DEST, ON) is not None) == applies


def new_world() -> TransferWorld:
    return TransferWorld(TRANSFERS, random.Random(7))


def test_the_new_place_opens_a_temporary_account_instead_of_taking_the_relationship() -> None:
    world = new_world()
    case = world.submit("pension_transfer", "e1" * 32, DEST, (ORIGIN,), 1)
    command = OpenTemporaryAccount(actor=staff(DEST), sex="male", born_on=dt.date(1960, 5, 1),
                                  hukou_region="610802")
    events = world.act(case, DEST, command)
    assert any(isinstance(e, TemporaryAccountOpened) for e in events)
    assert world.status(case, DEST) == "rejected"  # the written explanation ends the case here
    assert (case, ORIGIN) not in world.sides  # no 联系函: the origin keeps the relationship
    assert (DEST, "e1" * 32, "pension") not in world.registers


def test_no_temporary_account_where_the_rule_does_not_apply_or_after_acceptance() -> None:
    world = new_world()
    case = world.submit("pension_transfer", "e1" * 32, DEST, (ORIGIN,), 1)
    side = world.sides[(case, DEST)]
    young = OpenTemporaryAccount(actor=staff(DEST), sex="female", born_on=dt.date(1990, 1, 1),
                                 hukou_region="610802")
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, young, world.now)
    assert caught.value.code == "temporary_account_not_applicable"
    world.act(case, DEST, AcceptIntake(actor=staff(DEST)))
    old = OpenTemporaryAccount(actor=staff(DEST), sex="male", born_on=dt.date(1960, 5, 1),
                               hukou_region="610802")
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, old, world.now)
    assert caught.value.code == "temporary_account_not_applicable"


def test_only_the_enterprise_scheme_has_temporary_accounts() -> None:
    world = new_world()
    case = world.submit("resident_pension_transfer", "e1" * 32, DEST, (ORIGIN,), 1)
    side = world.sides[(case, DEST)]
    old = OpenTemporaryAccount(actor=staff(DEST), sex="male", born_on=dt.date(1960, 5, 1),
                               hukou_region="610802")
    with pytest.raises(DomainError) as caught:
        side.decider.decide(side.state, old, world.now)
    assert caught.value.code == "temporary_account_not_applicable"
