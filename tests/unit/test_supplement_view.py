"""The clerk's 补正 note reaches the applicant's case view (issue 13): with the missing kinds,
at the side the applicant deals with — the online side, and the receiving window in proxy mode,
where the handling region asked — and it goes once the documents are supplied."""

from __future__ import annotations

from collections.abc import Sequence

from domain.kernel import Event, to_payload
from domain.protocols.application_events import VerifyAndForward
from domain.protocols.intake import ProvideSupplement, RequestSupplement
from projections.cases import CaseView, apply
from projections.documents import from_document, to_document
from projections.records import SideEvent
from tests.unit.test_application import (
    APPLICANT,
    AWAY,
    DECIDER,
    HANDLER,
    HOME,
    NUMBER,
    WINDOW,
    Proxy,
    doc,
    run,
    submit,
)

NOTE = "户口簿须为原件扫描件，照片为近六个月内的白底证件照"


def viewed(events: Sequence[Event], region: str = HOME) -> CaseView:
    view = None
    for position, event in enumerate(events, 1):
        record = SideEvent(position, region, str(NUMBER.case_id), str(NUMBER),
                           "single_region_approval", "side", position, event.TYPE,
                           event.SCHEMA_VERSION, to_payload(event))
        view = apply(view, record, DECIDER)
    assert view is not None
    return view


def test_the_online_applicant_sees_the_clerks_note_until_the_supplement() -> None:
    state, events = run(None, submit())
    state, asked = run(state, RequestSupplement(actor=WINDOW, missing_kinds=("户口簿",),
                                                note=NOTE))
    view = viewed(events + asked)
    assert (view.supplement, view.supplement_note) == (("户口簿",), NOTE)
    assert from_document(to_document(view)).supplement_note == NOTE
    _, supplied = run(state, ProvideSupplement(actor=APPLICANT, materials=(doc("户口簿"),)))
    assert viewed(events + asked + supplied).supplement_note == ""


def test_the_proxy_applicant_sees_the_handlers_note_at_the_receiving_window() -> None:
    p = Proxy()
    p.r, receiving = run(None, submit("proxy", handling_region=AWAY))  # the window's side
    forwarded = p.at_r(VerifyAndForward(actor=WINDOW, identity_verified=True))
    p.to_handler(forwarded)
    asked = p.at_h(RequestSupplement(actor=HANDLER, missing_kinds=("户口簿", "照片"),
                                     note=NOTE))
    told = p.to_receiver(asked)
    view = viewed([*receiving, *forwarded, *told])
    assert view.status == "supplement_requested"
    assert (view.supplement, view.supplement_note) == (("户口簿", "照片"), NOTE)
