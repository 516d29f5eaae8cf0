"""What a transfer application names, read from its `TransferDetails`, and whether the item
takes it: the origin regions, the 军队经办机构 (agency) and the direction (b1-10, b1-11).

Why apart from `transfer_states`: these read and check an `ApplicationSubmitted` once, when the
destination's side opens (`DestinationSide._submit`) and when its state is first folded
(`TransferDecider`); the side states, the transition table and the shared base never need them.
"""

from __future__ import annotations

import re

from domain.kernel import InvalidValue
from domain.protocols.casework import checked_region
from domain.protocols.details import TransferDetails
from domain.protocols.intake import ApplicationSubmitted
from domain.protocols.transfer_sheets import TransferSpec


def origins_of(submitted: ApplicationSubmitted) -> tuple[str, ...]:
    details = submitted.details
    if not isinstance(details, TransferDetails) or not details.origins:
        raise InvalidValue("a transfer application names its origin regions (details.origins)",
                           code="invalid_details", field="details.origins")
    return tuple(checked_region(o, f"details.origins[{i}]") for i, o in enumerate(details.origins))


#: A 部队代号 (the five digits of "中国人民解放军32001部队"): how a veteran's 缴费凭证 names the
#: 军队经办机构 (its 后勤(联勤、保障)机关财务部门) that issued it.
MILITARY_AGENCY = re.compile(r"[0-9]{5}")


def agency_of(submitted: ApplicationSubmitted) -> str:
    details = submitted.details
    return details.agency if isinstance(details, TransferDetails) else ""


def direction_of(submitted: ApplicationSubmitted) -> str:
    details = submitted.details
    return details.direction if isinstance(details, TransferDetails) else ""


def check_direction(spec: TransferSpec, submitted: ApplicationSubmitted) -> None:
    """A two-way item's application names one of its directions, and meets that direction's
    conditions (`SheetVariant.check_details`); a one-way item takes none, so a direction can
    never be silently ignored. An item's application without a direction runs the item's one
    rule (the cases stored before directions existed)."""
    details = submitted.details
    if not isinstance(details, TransferDetails):
        return
    variant = spec.variant(details.direction)
    if variant is not None:
        variant.check_details(details)
        return
    if details.direction:
        names = [v.name for v in spec.variants]
        if not names:
            raise InvalidValue(f"{spec.process} runs one way; details.direction is for b1-10 "
                               "and b1-11", code="invalid_details", field="details.direction")
        raise InvalidValue(f"{spec.process} goes one of {names}, not {details.direction!r}",
                           code="invalid_direction", field="details.direction")
    if details.employee_months:
        raise InvalidValue("details.employee_months is for 城乡居民 → 职工 (b1-11) only",
                           code="invalid_details", field="details.employee_months")


def check_counterpart(spec: TransferSpec, submitted: ApplicationSubmitted) -> None:
    """The counterpart the scheme has: regions, or one 军队经办机构 reached through one relay
    region (`TransferSpec.counterpart`); an agency named where the counterpart is a region is
    refused, so it cannot be silently ignored."""
    agency = agency_of(submitted)
    if spec.counterpart == "region":
        if agency:
            raise InvalidValue(f"{spec.process} transfers from regions; details.agency is for a "
                               "military agency's transfer only", code="invalid_details",
                               field="details.agency")
        return
    if not agency:
        raise InvalidValue(f"{spec.process}: name the 军队经办机构 that issued the 缴费凭证 "
                           "(details.agency, its 部队代号)", code="agency_required",
                           field="details.agency")
    if not MILITARY_AGENCY.fullmatch(agency):
        raise InvalidValue(f"details.agency must be a five-digit 部队代号, got {agency!r}",
                           code="invalid_agency", field="details.agency")
    if len(origins_of(submitted)) != 1:
        raise InvalidValue(f"{spec.process}: one relay region keys in the agency's documents",
                           code="single_origin_only", field="details.origins")
