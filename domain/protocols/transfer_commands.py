"""The commands of the transfer protocol (see `domain.protocols.transfer`): what a back-end,
staff or the protocol's own policies ask a side to do.

Why a module of their own: the events (`transfer_events`, `transfer_receipts`) are what both
sides store and send; these are what the command codec (`regions.wire.commands`), the authority
table and the API build. Commands travel and are kept (idempotency) by class name, never by module, so
moving them here changed nothing on the wire (tests/unit/test_transfer_modules.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domain.kernel import Command
from domain.protocols.transfer_sheets import InfoSheet
from domain.values import Fen


@dataclass(frozen=True, kw_only=True)
class RecordFundsReceived(Command):
    from_region: str
    amount_fen: Fen
    bank_ref: str
    value_date: dt.date


@dataclass(frozen=True, kw_only=True)
class StartBenefit(Command):
    monthly_fen: Fen
    period_months: int


@dataclass(frozen=True, kw_only=True)
class ApproveTransferOut(Command):
    suspended_on: dt.date | None = None


@dataclass(frozen=True, kw_only=True)
class RefuseTransferOut(Command):
    reason: str


@dataclass(frozen=True, kw_only=True)
class IssueInfoSheet(Command):
    sheet: InfoSheet


@dataclass(frozen=True, kw_only=True)
class CorrectInfoSheet(Command):
    """The origin corrects the sheet it sent (before the destination concluded the case)."""

    sheet: InfoSheet
    reason: str


@dataclass(frozen=True, kw_only=True)
class ReturnExcess(Command):
    """The destination's finance returns what it received from `from_region` beyond its sheet."""

    from_region: str
    bank_ref: str


@dataclass(frozen=True, kw_only=True)
class RemitFunds(Command):
    amount_fen: Fen
    bank_ref: str


@dataclass(frozen=True, kw_only=True)
class SendContactLetters(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class InstructProceed(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class Reconcile(Command):
    from_region: str


@dataclass(frozen=True, kw_only=True)
class TakeOverRelationship(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class CompleteTransfer(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class ReverseTransfer(Command):
    """Operator only: undo a transfer an origin already made (see `TransferReversalOrdered`)."""

    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class CloseTransfer(Command):
    """Staff end a transfer that needs attention, with the reason (`TransferCloseOrdered`; at an
    origin that has not decided, a refusal with that reason)."""

    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ReturnFunds(Command):
    to_region: str


@dataclass(frozen=True, kw_only=True)
class CloseCase(Command):
    pass
