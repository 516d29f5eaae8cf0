"""临时缴费账户 (temporary contribution account): when the new place keeps no relationship.

The rule (国办发〔2009〕66号 第五条 as reproduced in provincial rules, reference/domain.md §2a
"Special routing" [V2]): a man aged 50 or more, or a woman aged 40 or more, who moves to work in
a province that is not their 户籍地 keeps the basic pension relationship at the 原参保地; the new
place opens a 临时基本养老保险缴费账户 that records all contributions there, collected (归集)
into the relationship on the next move or at retirement. Exemptions: moving back to the 户籍地,
and a 调动 approved by a 党委组织部门 or 人社部门 at county level or above.

Why a staff command at intake, not a check at submission: the node keeps only a keyed hash and
the masked form of the ID number (`person_key`, `applicant_masked`), so the applicant's sex, age
and 户籍 reach the domain only as what the window's staff read from the 身份证 and 户口簿
(`OpenTemporaryAccount`). The destination then ends the transfer with its written explanation
(`IntakeRejected`, the case is `rejected`) beside `TemporaryAccountOpened`; no 联系函 goes out,
so the 原参保地 keeps the relationship, and the register is unchanged — a temporary account is
not a relationship (the pension invariant is "1 active relationship + 0..n temporary accounts").
"户籍地" is compared at province level: the rule speaks of 跨省流动.

Only the enterprise scheme (b1-7, 66号's subject) has the rule. Not yet: the temporary account's
own transfer (the whole 本息 归集, the actual employer rate where above 12 %).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from domain.calendar import china_date
from domain.kernel import Command, Event, IllegalCommand, InvalidValue, domain_event
from domain.protocols.casework import checked_region
from domain.protocols.intake import IntakeRejected
from domain.values import RegionCode

Sex = Literal["male", "female"]
#: 66号 第五条: the ages from which a move to a province not the 户籍地 opens a temporary account
AGE_FROM: dict[str, int] = {"male": 50, "female": 40}


@dataclass(frozen=True)
class Mover:
    """What the window reads from the applicant's 身份证 and 户口簿, and whether the move is an
    approved 调动."""

    sex: Sex
    born_on: dt.date
    hukou_region: str
    approved_transfer: bool = False


def age_on(born_on: dt.date, on: dt.date) -> int:
    """Full years of age on `on` (a birthday on 29 February is reached on 1 March)."""
    return on.year - born_on.year - ((on.month, on.day) < (born_on.month, born_on.day))


def temporary_account_reason(mover: Mover, destination: str, on: dt.date) -> str | None:
    """Why a temporary account opens instead of the transfer, or None when the rule does not
    apply; bad facts are refused naming the field."""
    if mover.sex not in AGE_FROM:
        raise InvalidValue(f"sex is one of {sorted(AGE_FROM)}, got {mover.sex!r}",
                           code="invalid_value", field="sex")
    if not isinstance(mover.born_on, dt.date) or isinstance(mover.born_on, dt.datetime) or (
            mover.born_on > on):
        raise InvalidValue("the date of birth is a past calendar date", code="invalid_date",
                           field="born_on")
    hukou = RegionCode.parse(checked_region(mover.hukou_region, "hukou_region"))
    age, limit = age_on(mover.born_on, on), AGE_FROM[mover.sex]
    if age < limit or mover.approved_transfer:
        return None
    if hukou.province == RegionCode.parse(destination).province:
        return None
    return (f"临时缴费账户: {mover.sex} aged {age} (≥ {limit}) moving to a province that is not "
            f"the 户籍地 ({hukou.province}); the relationship stays at the 原参保地 "
            "(国办发〔2009〕66号 第五条)")


@dataclass(frozen=True, kw_only=True)
class OpenTemporaryAccount(Command):
    """The window's staff, at intake: open a temporary account instead of the transfer (the
    applicant's sex, date of birth and 户籍 region as read from the documents)."""

    sex: Sex
    born_on: dt.date
    hukou_region: str
    approved_transfer: bool = False


@domain_event
class TemporaryAccountOpened(Event):
    """临时基本养老保险缴费账户 opened here; the relationship stays at the 原参保地."""

    sex: Sex
    born_on: dt.date
    hukou_region: str
    reason: str


def open_temporary_account(applies: bool, phase: str, region: str, c: OpenTemporaryAccount,
                           now: dt.datetime) -> list[Event]:
    """The destination's answer to `OpenTemporaryAccount` (`applies`: its scheme has the rule):
    the account and the written explanation that ends the transfer, or a refusal."""
    if not applies:
        raise IllegalCommand("only the enterprise scheme (66号) opens temporary accounts",
                             code="temporary_account_not_applicable")
    if phase != "submitted":
        raise IllegalCommand(f"a temporary account is decided at intake, not while {phase}",
                             code="temporary_account_not_applicable")
    mover = Mover(c.sex, c.born_on, c.hukou_region, c.approved_transfer)
    reason = temporary_account_reason(mover, region, china_date(now))
    if reason is None:
        raise IllegalCommand("the 临时缴费账户 rule does not apply (under the age, back to the "
                             "户籍 province, or an approved 调动): the relationship moves",
                             code="temporary_account_not_applicable")
    return [TemporaryAccountOpened(at=now, actor=c.actor, sex=c.sex, born_on=c.born_on,
                                   hukou_region=c.hukou_region, reason=reason),
            IntakeRejected(at=now, actor=c.actor, reason=reason)]
