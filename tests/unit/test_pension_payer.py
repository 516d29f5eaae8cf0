"""待遇领取地 (国办发〔2009〕66号 第六条): which place pays the pension, clause by clause, and
that a place holding only a 临时缴费账户 never does. Regions: 610800 榆林 and 610100 西安
(陕西 61), 150600 鄂尔多斯 (内蒙古 15), 140200 大同 (山西 14), 110101 (北京 11)."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.kernel import Actor, DomainError, to_payload
from domain.limits import Rules
from domain.protocols import PROTOCOLS, transfer
from domain.protocols.details import PensionStint
from domain.protocols.intake import Submit
from domain.protocols.pension_payer import BenefitRegionDetermined, Stint, benefit_region
from domain.values import CaseNumber
from projections import cases
from projections.records import SideEvent
from tests.fixtures.world import FastCalendar

YULIN, XIAN, ORDOS, DATONG, BEIJING = "610800", "610100", "150600", "140200", "110101"


def test_the_relationship_in_the_hukou_province_is_paid_there() -> None:
    payer = benefit_region(XIAN, [Stint(ORDOS, 200), Stint(YULIN, 12)])
    assert (payer.region, payer.clause) == (YULIN, "hukou")


def test_ten_years_where_the_relationship_is_pay_there() -> None:
    payer = benefit_region(XIAN, [Stint(YULIN, 60), Stint(ORDOS, 70), Stint(ORDOS, 50)])
    assert (payer.region, payer.clause) == (ORDOS, "ten_years_here")


def test_under_ten_years_there_goes_back_to_the_last_place_with_ten() -> None:
    payer = benefit_region(XIAN, [Stint(DATONG, 130), Stint(ORDOS, 125), Stint(BEIJING, 40)])
    assert (payer.region, payer.clause) == (ORDOS, "last_ten_years")


def test_under_ten_years_everywhere_is_collected_into_the_hukou() -> None:
    payer = benefit_region(XIAN, [Stint(DATONG, 119), Stint(ORDOS, 100), Stint(BEIJING, 40)])
    assert (payer.region, payer.clause) == (XIAN, "collected_to_hukou")


def test_months_accumulate_over_separate_stints_in_one_province() -> None:
    """累计: 60 + 60 months in 内蒙古 with 北京 between make ten years there."""
    payer = benefit_region(XIAN, [Stint(ORDOS, 60), Stint(BEIJING, 30), Stint(ORDOS, 60),
                                  Stint(BEIJING, 10)])
    assert (payer.region, payer.clause) == (ORDOS, "last_ten_years")


def test_a_temporary_account_never_makes_its_place_the_payer() -> None:
    """A 临时缴费账户 is not the relationship: 15 years in one at 北京 leave the relationship
    at 鄂尔多斯, where it has ten years."""
    payer = benefit_region(XIAN, [Stint(ORDOS, 130), Stint(BEIJING, 180, temporary=True)])
    assert (payer.region, payer.clause) == (ORDOS, "ten_years_here")
    with pytest.raises(DomainError):
        benefit_region(XIAN, [Stint(BEIJING, 180, temporary=True)])


@pytest.mark.parametrize("stints", [[], [Stint("999999", 12)], [Stint(YULIN, 0)]])
def test_a_record_that_cannot_be_routed_is_refused_clearly(stints: list[Stint]) -> None:
    with pytest.raises(DomainError):
        benefit_region(XIAN, stints)


# --------------------------------------------------------------------------- the runtime

NUMBER = CaseNumber.parse("150600-20250303-0000000001")  # 鄂尔多斯 is the destination
MONDAY = dt.datetime(2025, 3, 3, 1, 0, tzinfo=dt.UTC)
WINDOW = Actor("staff", "w-1", ORDOS)


def at_retirement(stints: tuple[PensionStint, ...], hukou: str = XIAN) -> Submit:
    return transfer.application("pension_transfer", NUMBER, "e1" * 32, (YULIN,), WINDOW,
                                hukou_region=hukou, stints=stints)


def test_a_transfer_at_retirement_to_a_place_that_does_not_pay_is_refused() -> None:
    """Ten years in 榆林 (陕西, the 户籍 province) is where the relationship ends up paying:
    bringing it to 鄂尔多斯 at retirement is refused, naming the 待遇领取地."""
    decider = PROTOCOLS["pension_transfer"].decider(Rules(FastCalendar()))
    with pytest.raises(DomainError) as caught:
        decider.decide(None, at_retirement((PensionStint(ORDOS, 50), PensionStint(YULIN, 130))),
                       MONDAY)
    assert caught.value.code == "wrong_benefit_region"
    assert YULIN in str(caught.value)


def test_the_case_view_says_which_region_will_pay() -> None:
    """户籍 in 北京; ten years in 鄂尔多斯, the relationship last in 榆林 with three: the last
    place with ten years pays — the destination — and its case view says so."""
    decider = PROTOCOLS["pension_transfer"].decider(Rules(FastCalendar()))
    events = decider.decide(None, at_retirement((PensionStint(ORDOS, 130),
                                                 PensionStint(YULIN, 36)), BEIJING), MONDAY)
    routed = [e for e in events if isinstance(e, BenefitRegionDetermined)]
    assert [(e.region, e.clause) for e in routed] == [(ORDOS, "last_ten_years")]
    view = None
    for position, event in enumerate(events, 1):
        record = SideEvent(position, ORDOS, str(NUMBER.case_id), str(NUMBER),
                           "pension_transfer", "side", position, event.TYPE,
                           event.SCHEMA_VERSION, to_payload(event))
        view = cases.apply(view, record, decider)
    assert view is not None and view.benefit_region == ORDOS
    assert "10 years" in view.benefit_region_reason


def test_only_a_pension_transfer_is_routed_to_a_benefit_region() -> None:
    decider = PROTOCOLS["unemployment_transfer"].decider(Rules(FastCalendar()))
    submit = transfer.application("unemployment_transfer", NUMBER, "e1" * 32, (YULIN,), WINDOW,
                                  hukou_region=XIAN, stints=(PensionStint(ORDOS, 130),))
    with pytest.raises(DomainError) as caught:
        decider.decide(None, submit, MONDAY)
    assert caught.value.code == "invalid_details"
