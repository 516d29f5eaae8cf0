"""What an application says beyond the shared fields of `Submit`: one small type per process family.

Why typed (issue 18 item 1, issue 11 item 3): `details` used to be a free JSON object. A back-end
learnt what a pension transfer needs only from the refusal `origins_required`, and any value went
in — including one the store could not read back. Now each family's details are a frozen
dataclass, their JSON is exactly its fields, and the contract publishes each as a schema.

| details              | JSON                                     | process (mode)                            |
|----------------------|------------------------------------------|-------------------------------------------|
| `TransferDetails`    | `{"origins": ["610800", ...]}`           | every transfer (pension, unemployment...) |
|                      | `{"origins": ["610800"], "agency": "32001"}` | a veteran's pension (b1-12)         |
|                      | `{"origins": [...], "direction": "employee_to_resident"}` | b1-10, b1-11   |
|                      | `{"origins": [...], "hukou_region": "610100", "stints": [...]}` | at retirement |
| `HouseholdDetails`   | `{"origin_region": "610800", "members": [...]}` | household_move (members: 随迁)     |
| `ApplicationDetails` | `{"handling_region": "610800"}`          | an application in proxy mode (异地代收代办) |
| `JointDetails`       | `{"partner_region": "610800"}`           | an application in joint mode (多地联办)    |
| `NoDetails`          | `{}`                                     | an application handled online or locally  |

The JSON says which type it is (each type has its own required keys), so a stored or received
payload decodes without a tag; the protocol then refuses details of the wrong family for its
process (`origins_required`, `invalid_region`...). A family that needs more adds a field with a
default (old payloads still decode) or a type of its own, listed in `Details`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Final, TypeAlias

import annotated_types

from domain.values import Region


@dataclass(frozen=True)
class PensionStint:
    """One place of a pension record, for 待遇领取地 routing (国办发〔2009〕66号 第六条):
    the region (GB/T 2260) and its paid and deemed months, in the order they happened;
    `temporary`: held in a 临时缴费账户 there, not the relationship."""

    region: Region
    months: Annotated[int, annotated_types.Interval(ge=1, le=1200)]
    temporary: bool = False


@dataclass(frozen=True)
class TransferDetails:
    """A transfer's 转出地: the regions that hold the person's relationship (one or more).

    `agency`: for a counterpart that is not a region — the 军队经办机构 of a veteran's pension
    (b1-12), named by its 部队代号 — the agency, while `origins` names the one region whose node
    keys in its documents and bank notice (the relay).

    `direction`: for an item that runs both ways — b1-10 (`institution_to_enterprise`,
    `enterprise_to_institution`), b1-11 (`resident_to_employee`, `employee_to_resident`) — the
    way this transfer goes, which decides what the sheet carries and what it counts.
    `employee_months`: b1-11 城乡居民 → 职工 only, the
    职工 contribution months the destination (the 待遇领取地) records for the person.

    `hukou_region` and `stints`: a pension transfer at retirement — the 户籍 region and every
    place of the record — so the destination is held to be the 待遇领取地 (国办发〔2009〕66号
    第六条); none and empty otherwise."""

    origins: Annotated[tuple[Region, ...], annotated_types.MinLen(1), annotated_types.MaxLen(8)]
    agency: Annotated[str, annotated_types.MaxLen(16)] = ""
    direction: Annotated[str, annotated_types.MaxLen(32)] = ""
    employee_months: Annotated[int, annotated_types.Interval(ge=0, le=1200)] = 0
    hukou_region: Region | None = None
    stints: Annotated[tuple[PensionStint, ...], annotated_types.MaxLen(40)] = ()


@dataclass(frozen=True)
class Member:
    """A family member moving with the applicant (随迁): the relation to the applicant and the
    member's person key and masked number, which the node derives from `id_number` (the
    居民身份证号 a back-end sends) — the plaintext never reaches the domain or the store."""

    relation: Annotated[str, annotated_types.MaxLen(16)]
    person_key: Annotated[str, annotated_types.MaxLen(128)] = ""
    masked: Annotated[str, annotated_types.MaxLen(32)] = ""
    id_number: Annotated[str, annotated_types.MaxLen(18)] = ""


@dataclass(frozen=True)
class HouseholdDetails:
    """A household move's 迁出地 (the region the household moves out of) and the family members
    moving with the applicant (随迁, none by default)."""

    origin_region: Region
    members: Annotated[tuple[Member, ...], annotated_types.MaxLen(10)] = ()


@dataclass(frozen=True)
class ApplicationDetails:
    """An application taken here and decided elsewhere (proxy): the deciding region."""

    handling_region: Region


@dataclass(frozen=True)
class JointDetails:
    """An application accepted and decided here with a partner region's part (多地联办)."""

    partner_region: Region


@dataclass(frozen=True)
class NoDetails:
    """Nothing beyond the shared fields (an application handled online, by this region)."""


Details: TypeAlias = (TransferDetails | HouseholdDetails | ApplicationDetails | JointDetails
                      | NoDetails)

#: Which details an application takes, by protocol module and mode (the contract publishes it
#: per process, and a test holds each protocol to it).
BY_PROTOCOL: Final[Mapping[str, Mapping[str, type]]] = {
    **{f"domain.protocols.{scheme}": {"joint": TransferDetails}
       for scheme in ("pension", "unemployment", "medical", "housing_fund")},
    "domain.protocols.household": {"joint": HouseholdDetails},
    "domain.protocols.application": {"online": NoDetails, "proxy": ApplicationDetails,
                                     "joint": JointDetails, "local": NoDetails},
}
