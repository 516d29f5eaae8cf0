"""Events of the transfer protocol (see `domain.protocols.transfer`): what each side decides
and sends. The info sheet and the scheme specification are in `transfer_sheets`, the receipts of
a counterpart's event in `transfer_receipts`, the commands in `transfer_commands`, the waiting
limit's own events and readers in `transfer_waiting`.

Why a module of their own: the wire schema generator, the node's codecs and the scheme modules
need the vocabulary without the decider, and the decider reads better without these
declarations in front of it. Amounts are integer fen, periods integer months; shared events set
`WIRE = True` and one `to_region` each. Events are stored and sent by type name (`TYPE`), never
by module: moving one between these modules changes no record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from domain.kernel import Event, domain_event

# Every name the vocabulary had while it was one module stays importable from here (the staff's
# sheet form, the simulator, the SDK's example and tests import it so): the sheet's values are
# `transfer_sheets`', the receipts `transfer_receipts`'.
from domain.protocols.transfer_receipts import (  # noqa: F401
    CancellationAnswerReceived,
    CancellationReceived,
    ConclusionReceived,
    ContactLetterReceived,
    ExcessReturnReceived,
    InfoSheetCorrectionReceived,
    InfoSheetReceived,
    LateCorrectionReceived,
    LateFundsReturnReceived,
    OriginRefusalReceived,
    TransferMessageReceived,
    TransferReversalReceived,
)
from domain.protocols.transfer_sheets import (  # noqa: F401
    MAX_CORRECTIONS,
    Component,
    ContributionYear,
    Corrections,
    CounterpartKind,
    InfoSheet,
    SheetRule,
    SheetSampler,
    SheetVariant,
    TransferSpec,
    YearKind,
    YearLine,
    check_sheet_shape,
)
from domain.reckoning import WaitingLimit
from domain.values import Fen, FenDelta

# --------------------------------------------------------------------------- relationship events


@dataclass(frozen=True, kw_only=True)
class RelationshipEvent(Event):
    """An event that starts, holds, releases or ends the person's relationship in a region: it
    names the person, the scheme and the case, so `register_effects` needs nothing else."""

    case_id: str
    person_key: str
    scheme: str


def added_waiting(data: dict[str, Any]) -> dict[str, Any]:
    """Upcaster of a status event from before it carried its waiting limit (schema v1): the
    limit was a `TransferWaitingTimerSet` of its own then, so `waiting` stays None."""
    return data


def added_met(data: dict[str, Any]) -> dict[str, Any]:
    """Upcaster of an event from before it carried the steps it meets (`met`, issue 17's
    rows): a `DeadlineCleared` of its own followed it then, so `met` stays empty."""
    return data


def added_race_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Upcaster of a destination's return or conclusion from before it said what it kept or
    which corrections it applied (schema v1): the field stays None, and the origin judges as
    a v1 origin did (`transfer_origin._sent_back`; a conclusion is not compared)."""
    return data


def added_reconciled(data: dict[str, Any]) -> dict[str, Any]:
    """Upcaster of a completion from before the last match rode on it (schema v1): that match
    is a `Reconciled` of its own in the stream, so `reconciled` stays None."""
    return data


# --------------------------------------------------------------------------- events: destination


@domain_event
class ContactLetterIssued(Event):
    """联系函: please transfer this person's relationship (one per origin).

    `waiting` (schema v2): the destination's own waiting limit of the status its first letter
    starts (`WaitingLimit`); `met` (schema v3, on the last letter): the destination's review
    step these letters meet (a `DeadlineCleared` row before). The origin ignores both."""

    WIRE = True
    SCHEMA_VERSION = 3
    UPCASTERS = {1: added_waiting, 2: added_met}  # noqa: RUF012 (the kernel's ClassVar)
    case_id: str
    case_number: str
    process: str
    person_key: str
    applicant_masked: str
    destination_region: str
    origins: tuple[str, ...]
    two_phase: bool
    letter_no: str
    #: 退役军人: the 军队经办机构 the origin region's node speaks for (its 部队代号), else ""
    agency: str = ""
    #: a two-way item's direction (`TransferDetails.direction`): the origin's sheet rule
    direction: str = ""
    waiting: WaitingLimit | None = None
    met: tuple[str, ...] = ()


@domain_event
class ProceedInstructed(Event):
    """Every origin holds: transfer out now (second phase)."""

    WIRE = True


@domain_event
class TransferCancelled(Event):
    """The transfer will not happen (withdrawn, or another origin refused): release if you can."""

    WIRE = True
    reason: str


@domain_event
class TransferReversed(Event):
    """Compensation: the destination sends back what it received; the origin reinstates."""

    WIRE = True
    case_id: str
    person_key: str
    scheme: str
    amount_fen: Fen
    bank_ref: str


@domain_event
class TransferConcluded(Event):
    """The destination's last word to each origin: the case's outcome; the origin may close.

    `corrections` (schema v2): how many of this origin's corrected sheets the destination had
    applied when it concluded. An origin that sent more completed on an earlier sheet than its
    latest (the correction crossed the money): it needs a person (`CorrectionNotApplied`).
    A count outside 0 to `MAX_CORRECTIONS` is refused at decoding; one above what the origin
    sent is refused by the origin (`conclusion_inconsistent`)."""

    WIRE = True
    SCHEMA_VERSION = 2
    UPCASTERS = {1: added_race_fields}  # noqa: RUF012 (the kernel's ClassVar)
    outcome: str
    corrections: Corrections | None = None


@domain_event
class ExcessReturned(Event):
    """Compensation: the destination's finance sends back what came beyond the origin's sheet
    (a double payment, a sheet corrected downwards); its received total drops by the amount.

    `kept_fen` (schema v2): what the destination keeps from this origin after the return (its
    sheet's amount, which may be older than the origin's: a correction still in flight). The
    origin books as sent back what it had sent beyond that, whatever its own sheet says."""

    WIRE = True
    SCHEMA_VERSION = 2
    UPCASTERS = {1: added_race_fields}  # noqa: RUF012 (the kernel's ClassVar)
    amount_fen: Fen
    bank_ref: str
    kept_fen: Fen | None = None


@domain_event
class LateFundsReturned(Event):
    """Money from an origin that reached this destination after it completed (the origin
    remitted the rest of a corrected sheet between an excess return and the conclusion):
    recorded (the notice's `notice_ref`) and sent back at once (`bank_ref`), never refused —
    the case credited what it concluded on (`kept_fen`), so the whole notice is beyond it. An
    annotation: it moves no status, before or after the end."""

    WIRE = True
    amount_fen: Fen
    notice_ref: str
    bank_ref: str
    kept_fen: Fen


@domain_event
class FundsReceived(Event):
    """The destination's finance side saw money arrive (bank notice or staff entry)."""

    from_region: str
    amount_fen: Fen
    bank_ref: str
    value_date: dt.date
    waiting: WaitingLimit | None = None


@domain_event
class Reconciled(Event):
    """核对: one origin's sheet against the funds received from it."""

    from_region: str
    matched: bool
    stated_fen: Fen
    received_fen: Fen
    difference_fen: FenDelta  # stated - received


@domain_event
class RelationshipTakenOver(RelationshipEvent):
    """接续 of the relationship before the money (unemployment benefit, medical cover).
    `met`: the step it meets (`transfer_in`; a `DeadlineCleared` row before issue 17's rows)."""

    months: int
    met: tuple[str, ...] = ()


@domain_event
class BenefitStarted(Event):
    """The unemployment benefit is paid from now on, whether or not the money has arrived."""

    monthly_fen: Fen
    period_months: int


@dataclass(frozen=True)
class Reconciliation:
    """A matched 核对 of one origin (`Reconciled` with `matched` true) that a completion
    carries: the sheet's amount and the funds received from that origin, equal."""

    from_region: str
    stated_fen: Fen
    received_fen: Fen


@domain_event
class TransferCompleted(RelationshipEvent):
    """办结: sheets and funds matched, credited to the person.

    `reconciled` (schema v2, issue 17's rows): the match of the last origin, when its
    reconciliation completed the case in the same decision — a `Reconciled` row of its own
    before (and still for any other reconciliation); v1 has that row and None here."""

    SCHEMA_VERSION = 2
    UPCASTERS = {1: added_reconciled}  # noqa: RUF012 (the kernel's ClassVar)
    credited_fen: Fen
    credited_months: int
    opens_relationship: bool
    reconciled: Reconciliation | None = None


@domain_event
class TransferCaseClosed(Event):
    """The case ended without a transfer: withdrawn, refused by an origin, or closed by the
    destination's staff with their reason (`TransferCloseOrdered`)."""

    outcome: Literal["withdrawn", "refused_by_origin", "closed"]
    reason: str = ""


@domain_event
class TransferCloseOrdered(Event):
    """The destination's staff close a transfer that needs attention, with the reason: the
    origins are asked to cancel, and the case ends "closed" once each has answered (or
    completes, if one had already transferred out: money sent is never closed away)."""

    reason: str
    waiting: WaitingLimit | None = None


@domain_event
class TransferReversalOrdered(Event):
    """An operator reverses a transfer an origin already made (an exceptional act, with a reason):
    what arrived is returned and the origins reinstate the relationship."""

    reason: str
    waiting: WaitingLimit | None = None


# --------------------------------------------------------------------------- events: origin


@domain_event
class ContactLetterConfirmed(Event):
    """反馈确认: the origin confirms it received the letter (housing fund)."""

    WIRE = True


@domain_event
class TransferOutHeld(RelationshipEvent):
    """The origin found the transfer eligible and holds the relationship for it.

    `waiting` (schema v2): the origin's own waiting limit of the status this starts; the
    destination ignores it."""

    WIRE = True
    SCHEMA_VERSION = 2
    UPCASTERS = {1: added_waiting}  # noqa: RUF012 (the kernel's ClassVar)
    suspended_on: dt.date | None = None
    waiting: WaitingLimit | None = None


@domain_event
class TransferOutRefused(Event):
    """不符合转出条件: the origin refuses, with its reason."""

    WIRE = True
    reason: str


@domain_event
class InfoSheetIssued(RelationshipEvent):
    """信息表 sent: the transfer out is done and cannot be withdrawn; the relationship ends.

    `waiting` (schema v2): the origin's own waiting limit of the status this starts; the
    destination ignores it."""

    WIRE = True
    SCHEMA_VERSION = 2
    UPCASTERS = {1: added_waiting}  # noqa: RUF012 (the kernel's ClassVar)
    sheet: InfoSheet
    waiting: WaitingLimit | None = None


@domain_event
class InfoSheetCorrected(Event):
    """Compensation: the origin replaces its info sheet (a wrong balance, a missed year). The
    first sheet stays on record; the destination reconciles against the corrected one."""

    WIRE = True
    sheet: InfoSheet
    reason: str


@domain_event
class FundsRemitted(Event):
    """基金划转 by the origin's finance (local: the destination reconciles its own bank notice).
    `met`: the step it meets (`transfer_out` or `funds_remittance`; a `DeadlineCleared` row
    before issue 17's rows)."""

    amount_fen: Fen
    bank_ref: str
    waiting: WaitingLimit | None = None
    met: tuple[str, ...] = ()


@domain_event
class HoldReleased(RelationshipEvent):
    """The hold on the relationship is released: it stays here."""



@domain_event
class CancellationAnswered(Event):
    """The origin's answer to a cancellation: released, or too late (already transferred)."""

    WIRE = True
    outcome: Literal["released", "already_transferred"]


@domain_event
class TransferOutReversed(RelationshipEvent):
    """The funds came back: the relationship is reinstated here (compensation)."""

    amount_fen: Fen
    waiting: WaitingLimit | None = None


@domain_event
class CorrectionNotApplied(Event):
    """The destination completed on an earlier sheet than this origin's latest: it had applied
    `applied` of the `corrections` this side sent (the last crossed the money or the
    conclusion and reached a completed case). The transfer-out is over, but the person's record
    at the destination is not what this side's sheet states (`sheet_fen`; `sent_fen` is what
    this side sent, net, which the destination holds): a 补转 or a return after completion is
    a person's decision, so the side needs attention until staff resolve it."""

    corrections: int
    applied: int
    sheet_fen: Fen
    sent_fen: Fen


@domain_event
class CorrectionForNewCase(Event):
    """Staff resolved an origin the destination completed without its last correction
    (`CorrectionNotApplied`): this transfer ends on the sheet the destination concluded on
    (`concluded`), and the corrected sheet's difference (`latest` less `concluded`: a 补转 when
    it asks for more, a return after completion when less) is left to a new case. Recorded
    before the resolution that ends the side, so the joint view and the invariants judge the
    ended side against the destination's sheet and name the difference."""

    concluded: InfoSheet
    latest: InfoSheet
    difference_fen: FenDelta
    difference_months: int
