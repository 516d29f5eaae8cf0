"""The generic transfer protocol (转移接续, 多地联办): one destination, one or several origins.

Why one machine for four schemes: pension, unemployment, medical insurance and the housing fund
all follow reference/domain.md §1 — the destination (转入地) accepts and sends a contact letter
(联系函), each origin (转出地) checks, issues an info sheet (信息表), remits the funds and ends the
local relationship, and the destination completes only when sheet and money match. The scheme
modules (`pension`, `unemployment`, `medical`, `housing_fund`) supply a `TransferSpec`: the sheet
rule, whether the relationship moves before the money, whether receipt is confirmed, and so on.

Both sides are deciders of one `TransferDecider`; the side state's type says the role. The code:
`transfer_events` (the vocabulary: the events each side sends; the info sheet and the scheme
specification in `transfer_sheets`, the receipts in `transfer_receipts`, the commands in
`transfer_commands`, the waiting limit's events and readers in `transfer_waiting`),
`transfer_bookkeeping` (met steps carried by their events, the waiting limit a fold takes),
`transfer_states` (side states, terminal pairs, transition table, shared base),
`transfer_application` (the origins, agency and direction an application names),
`transfer_destination` and `transfer_origin` (each role's rules; the destination's receipt of
an origin's messages in `transfer_destination_inbox`, its money — bank notices,
reconciliation, returns — in `transfer_money`, its fold in `transfer_destination_fold`;
the origin's receipt of the destination's messages in `transfer_origin_inbox`),
`transfer_options` (what people plausibly do next, for the simulator),
`transfer_schemes` (register effects, each scheme's interface), `transfer_decider` (the decider:
summary, timers, decide with its bookkeeping, evolve) and this module (all of it in one import,
and `application`).

The state tables (each role's input → events → next status), the close handshake, the allowed
terminal pairs, the design decisions and why, and what is not yet in scope: docs/transfer.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.kernel import (
    Actor,
)
from domain.protocols.details import PensionStint, TransferDetails
from domain.protocols.intake import (
    Channel,
    Submit,
)
from domain.protocols.transfer_application import origins_of
from domain.protocols.transfer_commands import (
    ApproveTransferOut,
    CloseCase,
    CloseTransfer,
    CompleteTransfer,
    CorrectInfoSheet,
    InstructProceed,
    IssueInfoSheet,
    Reconcile,
    RecordFundsReceived,
    RefuseTransferOut,
    RemitFunds,
    ReturnExcess,
    ReturnFunds,
    ReverseTransfer,
    SendContactLetters,
    StartBenefit,
    TakeOverRelationship,
)
from domain.protocols.transfer_decider import TransferDecider
from domain.protocols.transfer_destination import DestinationSide
from domain.protocols.transfer_events import (
    BenefitStarted,
    CancellationAnswered,
    ContactLetterConfirmed,
    ContactLetterIssued,
    CorrectionForNewCase,
    CorrectionNotApplied,
    ExcessReturned,
    FundsReceived,
    FundsRemitted,
    HoldReleased,
    InfoSheetCorrected,
    InfoSheetIssued,
    LateFundsReturned,
    ProceedInstructed,
    Reconciled,
    RelationshipEvent,
    RelationshipTakenOver,
    TransferCancelled,
    TransferCaseClosed,
    TransferCompleted,
    TransferConcluded,
    TransferOutHeld,
    TransferOutRefused,
    TransferOutReversed,
    TransferReversalOrdered,
    TransferReversed,
)
from domain.protocols.transfer_options import options
from domain.protocols.transfer_origin import OriginSide
from domain.protocols.transfer_receipts import (
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
from domain.protocols.transfer_sheets import (
    Component,
    ContributionYear,
    InfoSheet,
    SheetRule,
    SheetSampler,
    TransferSpec,
    check_sheet_shape,
)
from domain.protocols.transfer_states import (
    ABSENT,
    CONCLUSION_FITS,
    DESTINATION_TERMINAL,
    ORIGIN_ENDS,
    REPEATABLE_WIRE_TYPES,
    TERMINAL_PAIRS,
    TRANSITIONS,
    DestinationState,
    OriginState,
    OriginTrack,
    SideState,
    TransferBase,
    waiting_name,
)
from domain.protocols.transfer_waiting import (
    TransferWaitingTimerSet,
)
from domain.values import CaseNumber, MaterialRef, RegionCode

# --------------------------------------------------------------------------- helpers


def application(
    process: str, case_number: CaseNumber, person_key: str, origins: Sequence[RegionCode | str],
    actor: Actor, *, applicant_masked: str = "", item_id: str = "", channel: Channel = "window",
    materials: tuple[MaterialRef, ...] = (), agency: str = "", direction: str = "",
    employee_months: int = 0, hukou_region: str | None = None, stints: tuple[PensionStint, ...] = (),
) -> Submit:
    """The `Submit` command of a transfer application accepted by the case number's region
    (`agency`: the 军队经办机构 a veteran's pension comes from, reached through `origins`;
    `direction`, `employee_months`: a two-way item's; `hukou_region`, `stints`: a pension
    transfer at retirement's — `TransferDetails`)."""
    return Submit(
        actor=actor, case_number=str(case_number), item_id=item_id or process, process=process,
        mode="joint", person_key=person_key, applicant_masked=applicant_masked,
        channel=channel, materials=materials,
        details=TransferDetails(tuple(str(o) for o in origins), agency=agency,
                                direction=direction, employee_months=employee_months,
                                hukou_region=hukou_region, stints=stints))


__all__ = [
    "ABSENT",
    "CONCLUSION_FITS",
    "DESTINATION_TERMINAL",
    "ORIGIN_ENDS",
    "REPEATABLE_WIRE_TYPES",
    "TERMINAL_PAIRS",
    "TRANSITIONS",
    "ApproveTransferOut",
    "BenefitStarted",
    "CancellationAnswerReceived",
    "CancellationAnswered",
    "CancellationReceived",
    "CloseCase",
    "CloseTransfer",
    "CompleteTransfer",
    "Component",
    "ConclusionReceived",
    "ContactLetterConfirmed",
    "ContactLetterIssued",
    "ContactLetterReceived",
    "ContributionYear",
    "CorrectInfoSheet",
    "CorrectionForNewCase",
    "CorrectionNotApplied",
    "DestinationSide",
    "DestinationState",
    "ExcessReturnReceived",
    "ExcessReturned",
    "FundsReceived",
    "FundsRemitted",
    "HoldReleased",
    "InfoSheet",
    "InfoSheetCorrected",
    "InfoSheetCorrectionReceived",
    "InfoSheetIssued",
    "InfoSheetReceived",
    "InstructProceed",
    "IssueInfoSheet",
    "LateCorrectionReceived",
    "LateFundsReturnReceived",
    "LateFundsReturned",
    "OriginRefusalReceived",
    "OriginSide",
    "OriginState",
    "OriginTrack",
    "ProceedInstructed",
    "Reconcile",
    "Reconciled",
    "RecordFundsReceived",
    "RefuseTransferOut",
    "RelationshipEvent",
    "RelationshipTakenOver",
    "RemitFunds",
    "ReturnExcess",
    "ReturnFunds",
    "ReverseTransfer",
    "SendContactLetters",
    "SheetRule",
    "SheetSampler",
    "SideState",
    "StartBenefit",
    "TakeOverRelationship",
    "TransferBase",
    "TransferCancelled",
    "TransferCaseClosed",
    "TransferCompleted",
    "TransferConcluded",
    "TransferDecider",
    "TransferMessageReceived",
    "TransferOutHeld",
    "TransferOutRefused",
    "TransferOutReversed",
    "TransferReversalOrdered",
    "TransferReversalReceived",
    "TransferReversed",
    "TransferSpec",
    "TransferWaitingTimerSet",
    "application",
    "check_sheet_shape",
    "options",
    "origins_of",
    "waiting_name",
]
