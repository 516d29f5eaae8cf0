"""The bare pipeline's cases: the two regions' aggregates and what each region does with what
arrives (simulations.bench.bare). Apart from the pipeline's plumbing so that each stays small.

11 event rows per case: the destination saves `Submitted`, `Accepted`, `ContactLetterIssued`;
the origin answers the letter with 4 events; the destination records the info sheet and the
funds, reconciles and completes (4 events).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import ProcessRecorder, StoredEvent


class TransferCase(Aggregate):
    """The destination's case."""

    @event("Submitted")
    def __init__(self, case_ref: str, amount: int) -> None:
        self.case_ref, self.amount = case_ref, amount
        self.status = "submitted"
        self.funds: int | None = None

    @event("Accepted")
    def accept(self) -> None:
        self.status = "accepted"

    class ContactLetterIssued(Aggregate.Event):
        case_ref: str
        amount: int

    @event(ContactLetterIssued)
    def issue_contact_letter(self, case_ref: str, amount: int) -> None:
        self.status = "letter_issued"

    @event("InfoSheetReceived")
    def receive_info_sheet(self, sheet_ref: str) -> None:
        self.sheet_ref = sheet_ref

    @event("FundsReceived")
    def receive_funds(self, amount: int) -> None:
        self.funds = amount

    @event("Reconciled")
    def reconcile(self, matched: bool) -> None:
        self.status = "reconciled" if matched else "mismatch"

    @event("Completed")
    def complete(self) -> None:
        self.status = "completed"


class OutboundTransfer(Aggregate):
    """The origin's side of the same case (same id)."""

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return case_id

    @event("TransferRequestReceived")
    def __init__(self, case_id: UUID, case_ref: str, amount: int) -> None:
        self.case_ref, self.amount = case_ref, amount

    @event("TransferOutApproved")
    def approve(self) -> None:
        self.approved = True

    class InfoSheetIssued(Aggregate.Event):
        sheet_ref: str

    class FundsRemitted(Aggregate.Event):
        amount: int

    @event(InfoSheetIssued)
    def issue_info_sheet(self, sheet_ref: str) -> None:
        self.sheet_ref = sheet_ref

    @event(FundsRemitted)
    def remit_funds(self, amount: int) -> None:
        self.remitted = amount


class BareRegion(Application[UUID]):
    """Events and inbox tracking in one transaction: the process recorder."""

    recorder: ProcessRecorder

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()


def encode(notifications: list[Any]) -> bytes:
    return json.dumps([[str(n.originator_id), n.originator_version, n.topic, n.state.decode()]
                       for n in notifications]).encode()


def decode(app: BareRegion, data: bytes) -> list[Any]:
    return [app.mapper.to_domain_event(StoredEvent(UUID(o), v, t, s.encode()))
            for o, v, t, s in json.loads(data)]


Process = Callable[[BareRegion, list[Any]], tuple[list[UUID], list[Aggregate]]]


def process_origin(app: BareRegion, events: list[Any]) -> tuple[list[UUID], list[Aggregate]]:
    """A contact letter in: approve, issue the info sheet, remit (4 events)."""
    touched: list[Aggregate] = []
    for e in events:
        transfer = OutboundTransfer(case_id=e.originator_id, case_ref=e.case_ref,
                                    amount=e.amount)
        transfer.approve()
        transfer.issue_info_sheet("IS-" + e.case_ref)
        transfer.remit_funds(e.amount)
        touched.append(transfer)
    return [], touched


def process_destination(app: BareRegion, events: list[Any]
                        ) -> tuple[list[UUID], list[Aggregate]]:
    """Info sheet and funds in: record both, reconcile, complete (4 events)."""
    cases: dict[UUID, TransferCase] = {}
    done: list[UUID] = []
    for e in events:
        case = cases.get(e.originator_id) or app.repository.get(e.originator_id)
        cases[e.originator_id] = case
        if isinstance(e, OutboundTransfer.InfoSheetIssued):
            case.receive_info_sheet(e.sheet_ref)
        elif isinstance(e, OutboundTransfer.FundsRemitted):
            case.receive_funds(e.amount)
            case.reconcile(e.amount == case.amount)
            case.complete()
            done.append(case.id)
    return done, list(cases.values())
