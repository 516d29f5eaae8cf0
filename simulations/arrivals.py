"""Who arrives in a simulated run, and with what: applicants, and the first command of a case.

An arrival (`workload.Workload.arrive`) draws a process by `PROCESS_WEIGHTS`, a catalogue item of
it that this world can run (`runnable`, `modes_here`), a pair (or group) of pilot regions and an
applicant (`draw_applicant`); the process's case builder (`BUILDERS`) turns them into the region
that receives the first command and that command. What people do with the case after that is
`simulations.workload`'s.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from stdnum.cn import ric

from domain.catalogue import Item, load_catalogue
from domain.catalogue.materials import load_materials
from domain.catalogue.routing import route
from domain.kernel import Actor, Command, DomainError, InvalidValue
from domain.protocols import application, pension_items, transfer
from domain.protocols.casework import random_material
from domain.protocols.details import (
    ApplicationDetails,
    Details,
    HouseholdDetails,
    JointDetails,
    Member,
    NoDetails,
    PensionStint,
)
from domain.protocols.household_events import MOVE_TYPES
from domain.protocols.intake import Submit
from domain.values import CaseNumber, CitizenId
from simulations.world import SIM_REGISTER_KEY

#: The key the simulated nodes derive person keys with (so tests can find a register entry).
REGISTER_KEY = SIM_REGISTER_KEY.encode()

#: How often each process is drawn for a new case (only processes with a protocol take part).
PROCESS_WEIGHTS = {
    "pension_transfer": 20, "household_move": 15, "unemployment_transfer": 10,
    "medical_transfer": 10, "housing_fund_transfer": 10,
    # the other pension items, each with its own rules (issue 15, item 1)
    **{item.process: 2 for item in pension_items.ITEMS if item.process != "pension_transfer"},
}
APPLICATION_WEIGHT = 25  # spread over the online/proxy processes


@dataclass(frozen=True)
class Applicant:
    """A person: the ID number the window sends, and the person key the node derives from it."""

    citizen: CitizenId
    person_key: str


#: County-level codes that ID numbers of people born 1960-2000 may carry (stable since then).
BIRTH_PLACES = ("150102", "150202", "152921", "610102", "640104", "140202", "130702", "110101",
                "120101")


def draw_applicant(rng: random.Random) -> Applicant:
    """A person with a valid 居民身份证 number (GB 11643 check digit, real birth place).

    A number is kept when `CitizenId` takes it: its validation is `stdnum.cn.ric.validate`'s,
    step for step (`domain.identities._validate_ric`), with the birth place's verdict
    remembered by place and year; asking `ric.is_valid` first walked stdnum's place table at
    every draw (~1 ms; ~1.9 draws an applicant), and `CitizenId` then validated again. The
    draws, and so the numbers kept, are the same."""
    while True:
        birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 40))
        body = f"{rng.choice(BIRTH_PLACES)}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
        number = body + ric.calc_check_digit(body + "0")  # it ignores the last character
        try:
            citizen = CitizenId(number)
        except InvalidValue:  # a place not assigned in the birth year
            continue
        return Applicant(citizen, citizen.keyed_hash(REGISTER_KEY))


#: process -> builder(rng, world, destination, applicant, case_number, item_id, now) ->
#: (region that receives the first command, first command). Filled per protocol below.
CaseBuilder = Callable[..., tuple[str, Command]]
BUILDERS: dict[str, CaseBuilder] = {}


def builder(*processes: str) -> Callable[[CaseBuilder], CaseBuilder]:
    def register(fn: CaseBuilder) -> CaseBuilder:
        for process in processes:
            BUILDERS[process] = fn
        return fn
    return register


# --------------------------------------------------------------------------- case builders

def _applicant_actor(applicant: Applicant, region: str) -> Actor:
    return Actor("applicant", applicant.citizen.masked, region)


@builder(*pension_items.BY_PROCESS, "unemployment_transfer", "medical_transfer",
         "housing_fund_transfer")
def _transfer(rng: random.Random, group: tuple[str, ...], destination: str, applicant: Applicant,
              case_number: str, item_id: str, process: str, now: dt.datetime,
              **_: object) -> tuple[str, Command]:
    others = [c for c in group if c != destination]
    count = 2 if process == "pension_transfer" and len(others) >= 2 and rng.random() < 0.3 else 1
    origins = sorted(rng.sample(others, count))
    veteran = pension_items.BY_PROCESS.get(process)
    agency = (f"{rng.randrange(30_000, 100_000):05d}"  # a 部队代号, keyed in at the relay
              if veteran is not None and veteran.counterpart == "military_agency" else "")
    direction, employee_months = pension_items.draw_direction(process, rng)  # b1-10, b1-11
    stints: tuple[PensionStint, ...] = ()
    if process == "pension_transfer" and rng.random() < 0.15:  # at retirement: 待遇领取地
        stints = (PensionStint(destination, rng.randrange(120, 300)),
                  *(PensionStint(o, rng.randrange(1, 120)) for o in origins))
    return destination, transfer.application(
        process, CaseNumber.parse(case_number), "", origins,
        _applicant_actor(applicant, destination), item_id=item_id,
        channel=rng.choice(["window", "online"]), agency=agency, direction=direction,
        employee_months=employee_months, hukou_region=destination if stints else None,
        stints=stints)


@builder("household_move")
def _household(rng: random.Random, group: tuple[str, ...], destination: str, applicant: Applicant,
               case_number: str, item_id: str, process: str, now: dt.datetime,
               **_: object) -> tuple[str, Command]:
    origin = rng.choice([c for c in group if c != destination])
    evidence, allowed = MOVE_TYPES.get(item_id, ("", frozenset()))
    # Most bring the move type's evidence; some families move together (随迁).
    materials = (random_material(rng, evidence),) if evidence and rng.random() < 0.9 else ()
    members = tuple(Member(relation=rng.choice(sorted(allowed)),
                           id_number=draw_applicant(rng).citizen.number)
                    for _ in range(rng.randint(1, 2) if allowed and rng.random() < 0.3 else 0))
    return destination, Submit(
        actor=_applicant_actor(applicant, destination), case_number=case_number, item_id=item_id,
        process=process, mode="joint", person_key="", applicant_masked="", channel="window",
        materials=materials, details=HouseholdDetails(origin, members=members))


@builder(*application.PROCESSES)
def _application(rng: random.Random, group: tuple[str, ...], receiving: str, applicant: Applicant,
                 case_number: str, item_id: str, process: str, now: dt.datetime,
                 everywhere: tuple[str, ...] = ()) -> tuple[str, Command]:
    item = CATALOGUE.get(item_id)
    modes = modes_here(item, receiving, everywhere or group)
    mode = rng.choice(modes or ["online"])
    details: Details = NoDetails()
    if mode == "proxy":
        # The applicant names a place; the node routes it to the competent level (办理层级).
        details = ApplicationDetails(rng.choice(proxy_places(item, receiving,
                                                             everywhere or group, group)))
    elif mode == "joint":  # 多地联办: a partner region gives its part (records, a file)
        details = JointDetails(rng.choice([c for c in group if c != receiving]))
    return receiving, Submit(
        actor=_applicant_actor(applicant, receiving), case_number=case_number, item_id=item_id,
        process=process, mode=mode, person_key="", applicant_masked="",
        channel="online" if mode == "online" else "window", details=details)


CATALOGUE = load_catalogue()
SAMPLE_MATERIALS = load_materials(
    str(resources.files("domain.catalogue").joinpath("materials.sample.json")), CATALOGUE)


def proxy_places(item: Item, receiving: str, regions: tuple[str, ...],
                 group: tuple[str, ...] = ()) -> list[str]:
    """Places whose competent office (at the item's level) is a region here, not `receiving`;
    the group's own peers first (the pilots' pairs), else any region."""
    def ok(place: str) -> bool:
        try:
            office = route(place, item.level) if item.level else place
        except DomainError:
            return False  # a province code names no county office
        return office in regions and office != receiving
    preferred = [c for c in group if c != receiving and ok(c)]
    return preferred or [c for c in regions if c != receiving and ok(c)]


def modes_here(item: Item, receiving: str, regions: tuple[str, ...]) -> list[str]:
    """The item's modes a case taken at `receiving` can run in this world."""
    if item.process not in application.PROCESSES:
        return list(item.modes)
    return [m for m in item.modes if m in application.MODES
            and (m != "proxy" or proxy_places(item, receiving, regions))]


def runnable(item: Item) -> bool:
    """Can the builder submit this item in every one of its modes?"""
    if item.process in application.PROCESSES:
        return set(item.modes) <= set(application.MODES)
    return True
