"""Side states of household moves, their phases, terminal pairs and transition table.

Why apart: both roles' rules (`household_destination`, `household_origin`), the decider
(`domain.protocols.household`) and the invariants (`domain.invariants.persons_in_transit`) need
the states without the other role's rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from domain.deadlines import DeadlineRules
from domain.protocols.casework import ABSENT, INTAKE_TRANSITIONS, Bookkeeping, CaseworkViews
from domain.protocols.casework_events import CaseFacts
from domain.protocols.details import HouseholdDetails, Member
from domain.protocols.household_events import PROCESS
from domain.protocols.intake import Intake
from domain.values import case_id_of

DestinationPhase = Literal[
    "submitted", "supplement_requested", "under_review", "permit_issued", "awaiting_origin",
    "withdrawing", "certificate_received", "settled", "refused_by_origin", "lapsed", "rejected", "denied", "withdrawn",
]
OriginPhase = Literal[
    "received", "held", "certificate_sent", "moved_out", "refused", "cancelled", "reinstated"]
DESTINATION_TERMINAL: frozenset[str] = frozenset(
    {"settled", "refused_by_origin", "lapsed", "rejected", "denied", "withdrawn"})
ORIGIN_TERMINAL: frozenset[str] = frozenset({"moved_out", "refused", "cancelled", "reinstated"})

ALLOWED_TERMINAL_PAIRS: frozenset[tuple[str, str]] = frozenset({
    ("settled", "moved_out"),
    ("refused_by_origin", "refused"),
    ("lapsed", "refused"),
    ("withdrawn", "cancelled"),
    ("withdrawn", "reinstated"),
    ("withdrawn", "refused"),
    ("rejected", ABSENT), ("denied", ABSENT), ("withdrawn", ABSENT), ("lapsed", ABSENT),
})

#: Phase changes each role may make ("" is "no side yet"); `needs_attention` is an overlay on
#: these, not a phase, and annotations (`ANNOTATIONS`) change none.
TRANSITIONS: frozenset[tuple[str, str]] = INTAKE_TRANSITIONS | frozenset({
    ("under_review", "permit_issued"),
    ("permit_issued", "awaiting_origin"), ("permit_issued", "lapsed"),
    ("permit_issued", "withdrawn"),
    ("awaiting_origin", "settled"), ("awaiting_origin", "lapsed"),
    ("awaiting_origin", "refused_by_origin"), ("awaiting_origin", "withdrawing"),
    ("withdrawing", "withdrawn"),
    # 落户 after the staff's check; a withdrawal the origin refused (after 注销) falls back
    ("awaiting_origin", "certificate_received"), ("certificate_received", "settled"),
    ("withdrawing", "certificate_received"), ("withdrawing", "awaiting_origin"),
    ("", "received"),
    ("received", "held"), ("received", "refused"), ("received", "cancelled"),
    ("held", "certificate_sent"), ("held", "refused"), ("held", "cancelled"),
    ("certificate_sent", "moved_out"), ("certificate_sent", "reinstated"),
})


@dataclass(frozen=True)
class Destination:
    facts: CaseFacts
    region: str
    origin_region: str
    phase: DestinationPhase
    intake: Intake
    keep: Bookkeeping = field(default_factory=Bookkeeping)
    permit_no: str = ""
    permit_expires_at: dt.datetime | None = None
    certificate_no: str = ""
    #: The origin said it did 注销 (it refused our withdrawal): no withdrawal any more.
    deregistered: bool = False

    role: Literal["destination"] = "destination"

    @property
    def terminal(self) -> bool:
        return self.phase in DESTINATION_TERMINAL

    @property
    def case_id(self) -> str:
        return self.facts.case_id

    @property
    def person_key(self) -> str:
        return self.facts.person_key

    @property
    def members(self) -> tuple[Member, ...]:
        """The family members moving with the applicant (随迁)."""
        details = self.intake.submitted.details
        return details.members if isinstance(details, HouseholdDetails) else ()

    @property
    def companions(self) -> tuple[str, ...]:
        return tuple(m.person_key for m in self.members)


@dataclass(frozen=True)
class Origin:
    case_number: str
    person_key: str
    applicant_masked: str
    region: str
    destination_region: str
    phase: OriginPhase
    keep: Bookkeeping = field(default_factory=Bookkeeping)
    permit_no: str = ""
    permit_expires_at: dt.datetime | None = None
    certificate_no: str = ""
    companions: tuple[str, ...] = ()

    role: Literal["origin"] = "origin"

    @property
    def terminal(self) -> bool:
        return self.phase in ORIGIN_TERMINAL

    @property
    def case_id(self) -> str:
        return case_id_of(self.case_number)

    def permit_valid(self, now: dt.datetime) -> bool:
        """By *this* region's clock: the origin decides expiry."""
        return self.permit_expires_at is not None and now < self.permit_expires_at


HouseholdSide = Destination | Origin


@dataclass(frozen=True)
class HouseholdBase(CaseworkViews):
    """What both roles' rules share: the region's deadline rules."""

    rules: DeadlineRules
    process = PROCESS  # a class attribute, not a field: `kernel.Decider` reads it
