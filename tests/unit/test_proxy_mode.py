"""异地代收代办 as the window and the handler really work it (issue 15 item 7): routing by the
competent level, marriage and divorce registered locally, 形式审查 with 一次性告知 from the
operator's materials file, originals and results mailed with tracking numbers, and acceptance
deemed after 5 working days of silence (行政许可法 art. 32)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import uuid
from typing import Any

import pytest

from domain.catalogue import load_catalogue
from domain.kernel import Actor
from domain.protocols.application_events import (
    ApplicationForwarded,
    Approve,
    SendResult,
    VerifyAndForward,
)
from domain.protocols.details import ApplicationDetails, NoDetails
from domain.protocols.intake import (
    AcceptIntake,
    IntakeAccepted,
    ProvideSupplement,
    Submit,
    SupplementRequested,
)
from domain.settling import execute
from domain.values import CaseNumber, RegionCode
from regions.core.admission import admit
from regions.core.errors import InvalidRequest
from simulations.workload import draw_applicant
from tests.fixtures.sides import shared
from tests.unit.test_application import (
    APPLICANT,
    AWAY,
    DECIDER,
    HANDLER,
    HOME,
    T0,
    WINDOW,
    Proxy,
    doc,
    submit,
)

KEY = b"k" * 32


def admitted(item: str, process: str, mode: str, handling: str = "", **extra: Any) -> Submit:
    person = draw_applicant(random.Random(7))
    number = CaseNumber.new(RegionCode(HOME), T0.date(), uuid.UUID(int=7))
    details = ApplicationDetails(handling) if handling else NoDetails()
    command = Submit(actor=WINDOW, case_number=str(number), item_id=item, process=process,
                     mode=mode, person_key="", applicant_masked="", channel="window",
                     details=details)
    result = admit(command, region=HOME, now=T0, applicant_id=person.citizen.number,
                   register_key=KEY, **extra)
    assert isinstance(result, Submit)
    return result


# --------------------------------------------------------------------------- routing


def test_every_proxy_item_names_its_competent_level() -> None:
    items = [i for i in load_catalogue().items if "proxy" in i.modes]
    assert [i.id for i in items if i.level is None] == []


@pytest.mark.parametrize(("item", "process", "place", "routed"), [
    ("b1-55", "single_region_approval", "610802", "610000"),  # 执业药师注册: 省级药监
    ("b2-43", "registration", "610802", "610800"),           # 公积金: 设区市 centre
    ("b2-66", "card_service", "610802", "610802"),           # 残疾人证: 县级残联
])
def test_a_proxy_application_is_routed_to_the_competent_level(item: str, process: str,
                                                              place: str, routed: str) -> None:
    command = admitted(item, process, "proxy", place)
    assert isinstance(command.details, ApplicationDetails)
    assert command.details.handling_region == routed


def test_a_place_coarser_than_the_competent_level_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidRequest) as info:
        admitted("b2-66", "card_service", "proxy", "610000")
    assert (info.value.code, info.value.field) == ("handling_level", "command.details.handling_region")


# --------------------------------------------------------------------------- marriage


@pytest.mark.parametrize("item", ["b3-3", "b3-4"])
def test_marriage_and_divorce_are_registered_by_the_local_office_itself(item: str) -> None:
    assert load_catalogue().get(item).modes == ("local",)
    with pytest.raises(InvalidRequest) as info:
        admitted(item, "registration", "proxy", AWAY)
    assert info.value.code == "invalid_mode"
    s, _ = execute(DECIDER, None, dataclasses.replace(
        submit(process="registration"), item_id=item, mode="local", channel="window"), T0)
    assert DECIDER.summary(s).role == "single" and DECIDER.summary(s).peer_regions == ()


# --------------------------------------------------------------------------- 形式审查


def test_the_window_tells_everything_missing_from_the_materials_file_at_once() -> None:
    from domain.catalogue.materials import parse_materials

    book = parse_materials({"format": "tongban.materials/1", "regions": {AWAY: {
        "name": "榆林市", "items": {"b2-43": {"materials": [
            {"title": "申请表", "kind": "form"},
            {"title": "居民身份证", "kind": "original"},
            {"title": "营业执照", "kind": "copy"},
            {"title": "授权委托书", "kind": "original", "required": False}]}}}}},
        load_catalogue())
    command = admitted("b2-43", "registration", "proxy", AWAY, materials=book)
    assert command.required == ("申请表", "居民身份证", "营业执照")
    r, _ = execute(DECIDER, None, dataclasses.replace(command, person_key="b2" * 32,
                                                      materials=(doc("申请表"),)), T0)
    r, told = execute(DECIDER, r, VerifyAndForward(actor=WINDOW, identity_verified=True), T0)
    [asked] = [e for e in told if isinstance(e, SupplementRequested)]
    assert asked.missing_kinds == ("居民身份证", "营业执照") and shared(told) == []
    r, _ = execute(DECIDER, r, ProvideSupplement(
        actor=APPLICANT, materials=(doc("居民身份证"), doc("营业执照"))), T0)
    assert DECIDER.status(r) == "submitted"
    r, events = execute(DECIDER, r, VerifyAndForward(actor=WINDOW, identity_verified=True), T0)
    [forwarded] = shared(events)
    assert isinstance(forwarded, ApplicationForwarded) and len(forwarded.materials) == 3


# --------------------------------------------------------------------------- mailing


def test_originals_travel_with_a_tracking_number_and_the_handler_accepts_after_they_arrive() -> None:
    from domain.protocols.application_events import ConfirmOriginalsReceived

    p = Proxy()
    sent = p.at_r(VerifyAndForward(actor=WINDOW, identity_verified=True,
                                   originals_tracking_no="EMS1234567890"))
    [forwarded] = shared(sent)
    assert isinstance(forwarded, ApplicationForwarded)
    assert forwarded.originals_tracking_no == "EMS1234567890"
    p.to_handler(sent)
    from tests.fixtures.sides import assert_refused

    assert_refused(DECIDER, p.h, AcceptIntake(actor=HANDLER), "originals_not_received", T0)
    p.at_h(ConfirmOriginalsReceived(actor=HANDLER, tracking_no="EMS1234567890"))
    p.to_receiver(p.at_h(AcceptIntake(actor=HANDLER)))
    assert p.statuses() == ("under_review", "under_review")


def test_the_handler_may_post_the_result_straight_to_the_applicant() -> None:
    p = Proxy().forwarded()
    p.to_receiver(p.at_h(AcceptIntake(actor=HANDLER)))
    p.to_receiver(p.at_h(Approve(actor=HANDLER, result=(doc("证书"),))))
    sent = p.at_h(SendResult(actor=HANDLER, channel="post", tracking_no="EMS99",
                             to_applicant=True))
    p.to_handler(p.to_receiver(sent))
    assert p.statuses() == ("completed", "completed")


# --------------------------------------------------------------------------- deemed acceptance


def test_acceptance_is_deemed_after_5_working_days_without_an_answer() -> None:
    p = Proxy().forwarded()
    late = T0 + dt.timedelta(days=8)  # Monday 2025-03-03 + 5 WD = 2025-03-10 (end of day)
    early = DECIDER.timers(p.h, T0 + dt.timedelta(days=6))
    assert not any(getattr(c, "step", "") == "acceptance_notice" for c in early)
    [timer] = [c for c in DECIDER.timers(p.h, late)
               if getattr(c, "step", "") == "acceptance_notice"]
    events = p.at_h(timer, late)
    assert any(isinstance(e, IntakeAccepted) for e in events)
    p.to_receiver(events, late)
    assert p.statuses() == ("under_review", "under_review")
    assert timer.actor == Actor.system("deadline_timer", AWAY)


def test_a_result_posted_to_the_applicant_carries_its_tracking_number_and_skips_the_window() -> None:
    """The result is mailed with a tracking number (the window's copy of the notice has it), and
    when it goes straight to the applicant the window completes on the notice: it hands nothing
    over (no DeliverResult of its own), and a result by post without a tracking number, or
    "to the applicant" other than by post, is refused."""
    from domain.protocols.application_events import (
        CaseCompleted,
        DeliverResult,
        HandlingResultSent,
    )
    from tests.fixtures.sides import assert_refused

    p = Proxy().forwarded()
    p.to_receiver(p.at_h(AcceptIntake(actor=HANDLER)))
    p.to_receiver(p.at_h(Approve(actor=HANDLER, result=(doc("证书"),))))
    assert_refused(DECIDER, p.h, SendResult(actor=HANDLER, channel="post", tracking_no=" ",
                                            to_applicant=True), "tracking_no_required", T0)
    assert_refused(DECIDER, p.h, SendResult(actor=HANDLER, channel="online",
                                            to_applicant=True), "invalid_channel", T0)
    sent = p.at_h(SendResult(actor=HANDLER, channel="post", tracking_no="EMS99",
                             to_applicant=True))
    [notice] = [e for e in shared(sent) if isinstance(e, HandlingResultSent)]
    assert (notice.channel, notice.tracking_no, notice.to_applicant) == ("post", "EMS99", True)
    at_window = p.to_receiver(sent)
    assert any(isinstance(e, CaseCompleted) for e in at_window)
    receipt = next(e for e in at_window if type(e).__name__ == "HandlingNoticeReceived")
    assert receipt.tracking_no == "EMS99"  # type: ignore[attr-defined]
    assert DECIDER.status(p.r) == "completed"
    assert_refused(DECIDER, p.r, DeliverResult(actor=WINDOW, channel="window"), "case_closed", T0)
