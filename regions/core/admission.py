"""What a back-end's command must be before the domain sees it (issue 18, "Input accepted that
should be refused"; issue 11 item 10).

The command codec already held the JSON to its types (`domain.payloads`: amounts within
`MAX_FEN`, ISO dates, region codes that can exist, bounded strings). What needs the node's own
knowledge is checked here, each refusal with one stable code and the field at fault:

- **the actor** acts for this region: `command.actor.region` is a GB/T 2260 code
  (`invalid_region`) and this node's (`wrong_region`);
- **dates** lie in a sane window around the node's today (`invalid_date`): a bank's value date
  of 2099-01-01 is a typo, not a fact to record for good;
- **the catalogue** (a `Submit`): the item exists (`unknown_item`), is an item of the request's
  process (`item_process_mismatch`) and is handled in the request's mode (`invalid_mode`); a
  proxy application goes to the office at the item's competent level (办理层级: the place named is
  routed up, `domain.catalogue.routing`; one coarser than the level is `handling_level`), and
  carries the materials the deciding region's guide requires (`required`, from the operator's
  materials file when the node has one: the window's 形式审查 checks against it);
- **the counterparts** (a `Submit`): every region its details name as the other side of the
  case — a transfer's origins, a household move's origin, a proxy application's deciding office
  (after routing), a joint application's partner — is one of the node's peers (`not_a_peer`).
  A code that can exist but that this node exchanges nothing with (110100, never provisioned)
  would otherwise commit, and its link message could never be delivered (issue 11, finding 5);
- **the person** (a `Submit`): the back-end sends the applicant's 居民身份证号 (`applicant_id`);
  it must be one (checksum, birth date, place: `invalid_person_id`), and the node derives the
  register's `person_key` (HMAC with the region's secret, `RegionConfig.register_key`) and the
  masked form itself. The plaintext goes no further than this function: the domain, the store
  and the counterpart only ever see the key and the mask.

Nothing refused here is recorded (no idempotency record either), so a corrected request may be
sent again under the same command id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection
from typing import Any, Final

from domain.calendar import china_date
from domain.catalogue import Catalogue, Item, load_catalogue
from domain.catalogue.materials import MaterialsBook
from domain.catalogue.routing import route
from domain.kernel import Actor, Command, DomainError
from domain.protocols.details import (
    ApplicationDetails,
    Details,
    HouseholdDetails,
    JointDetails,
    Member,
    TransferDetails,
)
from domain.protocols.intake import Submit
from domain.values import CitizenId, RegionCode
from regions.core.errors import InvalidRequest

#: How far back a date in a command may lie (a contribution or a suspension years ago).
DATES_BACK: Final = dt.timedelta(days=366 * 50)
#: How far ahead (a value date or a planned suspension, never years ahead).
DATES_AHEAD: Final = dt.timedelta(days=366)


def admit(command: Command, *, region: str, now: dt.datetime, applicant_id: str | None,
          register_key: bytes, catalogue: Catalogue | None = None,
          materials: MaterialsBook | None = None,
          peers: Collection[str] | None = None) -> Command:
    """The command as the domain gets it, or `InvalidRequest` naming the field at fault."""
    check_actor(command.actor, region)
    check_dates(command, china_date(now))
    if isinstance(command, Submit):
        item = check_item(command, catalogue or load_catalogue())
        command = require(routed(command, item), item, materials, region)
        if peers is not None:
            check_peers(command.details, region, peers)
        return identify(command, applicant_id, register_key)
    if applicant_id is not None:
        raise InvalidRequest(f"a {type(command).__name__} names no applicant",
                             code="unknown_field", field="command.applicant_id")
    return command


def check_actor(actor: Actor, region: str) -> None:
    """Who acts through this node acts for this region (责任追溯 names a real region)."""
    if not actor.region:
        raise InvalidRequest("the actor's region is required (the region they act for)",
                             code="missing_field", field="command.actor.region")
    try:
        RegionCode.parse(actor.region)
    except DomainError as exc:
        raise InvalidRequest(str(exc), code="invalid_region",
                             field="command.actor.region") from None
    if actor.region != region:
        raise InvalidRequest(f"the actor acts for region {actor.region}; this node is {region}",
                             code="wrong_region", field="command.actor.region")


def check_dates(command: Command, today: dt.date) -> None:
    """Every calendar date of the command lies within `DATES_BACK`..`DATES_AHEAD` of today."""
    earliest, latest = today - DATES_BACK, today + DATES_AHEAD
    for path, value in _dates(command, "command"):
        if not earliest <= value <= latest:
            raise InvalidRequest(f"{value.isoformat()} is not a plausible date here (between "
                                 f"{earliest.isoformat()} and {latest.isoformat()})",
                                 code="invalid_date", field=path)


def _dates(value: Any, path: str) -> list[tuple[str, dt.date]]:
    if isinstance(value, dt.datetime):
        return []
    if isinstance(value, dt.date):
        return [(path, value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [found for f in dataclasses.fields(value)
                for found in _dates(getattr(value, f.name), f"{path}.{f.name}")]
    if isinstance(value, tuple | list):
        return [found for i, v in enumerate(value) for found in _dates(v, f"{path}[{i}]")]
    return []


def check_item(command: Submit, catalogue: Catalogue) -> Item:
    """The item exists, belongs to the request's process and is handled in its mode."""
    try:
        item = catalogue.get(command.item_id)
    except DomainError:
        raise InvalidRequest(f"the catalogue has no item {command.item_id!r}",
                             code="unknown_item", field="command.item_id") from None
    if item.process != command.process:
        raise InvalidRequest(
            f"item {item.id} ({item.name}) is a {item.process} item, not {command.process}",
            code="item_process_mismatch", field="command.item_id")
    if command.mode not in item.modes:
        raise InvalidRequest(
            f"item {item.id} is handled in mode {', '.join(item.modes)}, not {command.mode!r}",
            code="invalid_mode", field="command.mode")
    return item


def routed(command: Submit, item: Item) -> Submit:
    """A proxy application addressed to the office at the item's competent level (办理层级)."""
    details = command.details
    if command.mode != "proxy" or item.level is None or not isinstance(details,
                                                                       ApplicationDetails):
        return command
    try:
        office = route(details.handling_region, item.level)
    except DomainError as exc:
        code = "handling_level" if exc.code == "handling_level" else "invalid_region"
        raise InvalidRequest(str(exc), code=code,
                             field="command.details.handling_region") from None
    return dataclasses.replace(command, details=ApplicationDetails(office))


def counterparts(details: Details) -> list[tuple[str, str]]:
    """(field, region) for every region the details name as the case's other side."""
    if isinstance(details, TransferDetails):
        return [(f"command.details.origins[{n}]", o) for n, o in enumerate(details.origins)]
    if isinstance(details, HouseholdDetails):
        return [("command.details.origin_region", details.origin_region)]
    if isinstance(details, ApplicationDetails):
        return [("command.details.handling_region", details.handling_region)]
    if isinstance(details, JointDetails):
        return [("command.details.partner_region", details.partner_region)]
    return []


def check_peers(details: Details, region: str, peers: Collection[str]) -> None:
    """Every counterpart is a peer of this node (its own code is left to the domain, which
    refuses a case with itself under the process's own rule)."""
    for field, other in counterparts(details):
        if other != region and other not in peers:
            known = ", ".join(sorted(peers)) or "none"
            raise InvalidRequest(f"region {other} is not a peer of this node (peers: {known}); "
                                 "cases go only to regions it exchanges messages with",
                                 code="not_a_peer", field=field)


def require(command: Submit, item: Item, book: MaterialsBook | None, region: str) -> Submit:
    """The materials the deciding region's guide requires, from the operator's file."""
    if command.required:
        raise InvalidRequest("the required materials come from the node's materials file",
                             code="unknown_field", field="command.required")
    if book is None:
        return command
    deciding = (command.details.handling_region
                if isinstance(command.details, ApplicationDetails) else region)
    titles = tuple(m.title for _, guide in book.for_item(item.id, deciding)
                   for m in guide.materials if m.required)
    return dataclasses.replace(command, required=titles)


def identify(command: Submit, applicant_id: str | None, register_key: bytes) -> Submit:
    """The application with the person key and masked number the node derives from the ID."""
    if command.person_key or command.applicant_masked:
        raise InvalidRequest("person_key and applicant_masked are derived by the node from "
                             "applicant_id", code="unknown_field", field="command.person_key")
    if applicant_id is None:
        raise InvalidRequest("an application names its applicant by applicant_id (the 居民身份证号)",
                             code="missing_field", field="command.applicant_id")
    try:
        citizen = CitizenId.parse(applicant_id)
    except DomainError as exc:
        raise InvalidRequest(str(exc), code="invalid_person_id",
                             field="command.applicant_id") from None
    return dataclasses.replace(command, person_key=citizen.keyed_hash(register_key),
                               applicant_masked=citizen.masked,
                               details=keyed_members(command.details, register_key))


def keyed_members(details: Details, register_key: bytes) -> Details:
    """随迁: each member's 居民身份证号 becomes its person key and masked form, like the
    applicant's; a back-end never sends a person key itself."""
    if not isinstance(details, HouseholdDetails) or not details.members:
        return details
    members = []
    for n, member in enumerate(details.members):
        field = f"command.details.members[{n}]"
        if member.person_key or member.masked:
            raise InvalidRequest("a member's person key is derived by the node from its "
                                 "id_number", code="unknown_field", field=f"{field}.person_key")
        try:
            citizen = CitizenId.parse(member.id_number)
        except DomainError as exc:
            raise InvalidRequest(str(exc), code="invalid_person_id",
                                 field=f"{field}.id_number") from None
        members.append(Member(relation=member.relation,
                              person_key=citizen.keyed_hash(register_key),
                              masked=citizen.masked))
    return dataclasses.replace(details, members=tuple(members))
