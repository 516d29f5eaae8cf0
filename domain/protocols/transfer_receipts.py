"""What each side of a transfer records on receiving its counterpart's event (`Receipt`s; see
`domain.protocols.transfer`): the destination's of an origin's hold, sheet, correction,
refusal and answer; the origin's of the letter, cancellation, reversal, returned money and
conclusion.

Why apart from `transfer_events`: those are what a side decides and sends; these only note
what came (with the `ref` that makes a second delivery a no-op), and most are read by the
folds alone. Events are stored by type name (`TYPE`), never by module.
"""

from __future__ import annotations

from typing import Literal

from domain.kernel import Receipt, domain_event
from domain.protocols.transfer_sheets import InfoSheet
from domain.reckoning import WaitingLimit
from domain.values import Fen


@domain_event
class TransferMessageReceived(Receipt):
    """Receipt of a counterpart event whose only content is its type."""

    event_type: str
    waiting: WaitingLimit | None = None


@domain_event
class ContactLetterReceived(Receipt):
    case_id: str
    case_number: str
    process: str
    person_key: str
    applicant_masked: str
    region: str
    origins: tuple[str, ...]
    two_phase: bool
    letter_no: str
    agency: str = ""
    direction: str = ""
    waiting: WaitingLimit | None = None


@domain_event
class InfoSheetReceived(Receipt):
    sheet: InfoSheet


@domain_event
class OriginRefusalReceived(Receipt):
    reason: str
    waiting: WaitingLimit | None = None


@domain_event
class CancellationReceived(Receipt):
    reason: str
    waiting: WaitingLimit | None = None


@domain_event
class CancellationAnswerReceived(Receipt):
    outcome: Literal["released", "already_transferred"]


@domain_event
class TransferReversalReceived(Receipt):
    amount_fen: Fen
    bank_ref: str


@domain_event
class InfoSheetCorrectionReceived(Receipt):
    sheet: InfoSheet
    reason: str


@domain_event
class LateCorrectionReceived(Receipt):
    """A corrected sheet that reached this destination after it concluded (it crossed the money
    or the conclusion): kept on record, not applied, never refused — the origin learns from the
    conclusion that it was not applied (`CorrectionNotApplied`) and its staff decide the 补转.
    An annotation: it moves no status."""

    sheet: InfoSheet
    reason: str


@domain_event
class ExcessReturnReceived(Receipt):
    amount_fen: Fen
    bank_ref: str
    kept_fen: Fen | None = None


@domain_event
class LateFundsReturnReceived(Receipt):
    """The origin's receipt of `LateFundsReturned`: booked as sent back like an excess return
    (what it had sent beyond `kept_fen`); an annotation — the side may have ended already."""

    amount_fen: Fen
    bank_ref: str
    kept_fen: Fen


@domain_event
class ConclusionReceived(Receipt):
    outcome: str
    corrections: int | None = None
