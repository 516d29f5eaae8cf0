"""Statutory limits, a region's shorter ones, waiting limits, escalation and clock stops."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import domain
from domain.calendar import CHINA, WorkingCalendar, parse_holiday_file
from domain.deadlines import DeadlineRules
from domain.kernel import InvalidValue
from domain.limits import Rules
from domain.statutes import (
    DEFAULT_WAITING_FALLBACK,
    STATUTORY,
    Limit,
    LimitExceedsStatute,
    RegionLimits,
)

SAMPLE_PATH = Path(domain.__file__).parent / "holidays" / "cn-2027.sample.json"


def local(year: int, month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=CHINA)


@pytest.fixture
def calendar() -> WorkingCalendar:
    data = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
    return WorkingCalendar.with_files(parse_holiday_file(data, name=SAMPLE_PATH.name))


@pytest.fixture
def rules(calendar: WorkingCalendar) -> Rules:
    return Rules(calendar)


def wd(n: int) -> Limit:
    return Limit(n, "working_days")


# --------------------------------------------------------------------------- the statute table


def test_statutory_table_has_exactly_the_referenced_limits() -> None:
    assert {key: str(s.limit) for key, s in STATUTORY.items()} == {
        ("pension_transfer", "contact_letter"): "15 working days",
        ("pension_transfer", "transfer_out"): "15 working days",
        ("pension_transfer", "completion"): "15 working days",
        ("institution_enterprise_pension_transfer", "transfer_out"): "15 working days",
        ("institution_enterprise_pension_transfer", "completion"): "15 working days",
        ("pension_scheme_switch", "contact_letter"): "15 working days",
        ("pension_scheme_switch", "transfer_out"): "15 working days",
        ("pension_scheme_switch", "completion"): "15 working days",
        ("unemployment_transfer", "contact_letter"): "5 working days",
        ("unemployment_transfer", "transfer_out"): "5 working days",
        ("unemployment_transfer", "funds_remittance"): "1 calendar month",
        ("medical_transfer", "transfer_out"): "10 working days",
        ("medical_transfer", "transfer_in"): "5 working days",
        ("housing_fund_transfer", "contact_letter"): "3 working days",
        ("housing_fund_transfer", "transfer_out"): "5 working days",
        ("personnel_file_transfer", "transfer_out"): "15 working days",
        ("household_move", "permit_validity"): "40 calendar days",
        ("*", "acceptance_notice"): "5 working days",
    }


def test_transfer_out_steps_belong_to_the_origin_and_the_others_to_the_destination() -> None:
    owners = {key: s.owner for key, s in STATUTORY.items()}
    assert {k for k, o in owners.items() if o == "origin"} == {
        ("pension_transfer", "transfer_out"),
        ("institution_enterprise_pension_transfer", "transfer_out"),
        ("pension_scheme_switch", "transfer_out"),
        ("unemployment_transfer", "transfer_out"),
        ("unemployment_transfer", "funds_remittance"),
        ("medical_transfer", "transfer_out"),
        ("housing_fund_transfer", "transfer_out"),
        ("personnel_file_transfer", "transfer_out"),
    }


# --------------------------------------------------------------------------- deadline_for


def test_statutory_deadline_spans_national_day_and_escalates_three_working_days_later(
    rules: Rules,
) -> None:
    # Receipt Mon 22 Sep 2025: 23–26 Sep, Sun 28 (调休), 29, 30, 9–11 Oct (11 is 调休), 13–17 Oct.
    spec = rules.deadline_for("pension_transfer", "transfer_out", local(2025, 9, 22, 10))
    assert spec is not None
    assert spec.due_at == local(2025, 10, 18)
    assert spec.escalate_at == local(2025, 10, 23)  # Mon 20, Tue 21, Wed 22
    assert "15 working days" in spec.basis and "66号" in spec.basis
    assert "receipt of the contact letter" in spec.basis
    assert spec.calendar_version.startswith("chinesecalendar-1.11.0+cn-2027.sample.json@")


def test_a_region_may_shorten_a_statutory_limit_and_the_basis_names_both(
    calendar: WorkingCalendar,
) -> None:
    limits = RegionLimits("150600", {("pension_transfer", "transfer_out"): wd(10)})
    spec = Rules(calendar, limits).deadline_for(
        "pension_transfer", "transfer_out", local(2025, 9, 22, 10)
    )
    assert spec is not None
    assert spec.due_at == local(2025, 10, 12)  # the tenth working day is Sat 11 Oct (调休)
    assert "region 150600" in spec.basis and "statutory maximum 15 working days" in spec.basis


def test_a_region_limit_equal_to_the_statute_is_allowed() -> None:
    assert RegionLimits("150600", {("medical_transfer", "transfer_out"): wd(10)}).limits


def test_a_region_limit_longer_than_the_statute_is_refused_naming_process_step_and_values() -> None:
    with pytest.raises(LimitExceedsStatute) as caught:
        RegionLimits("610800", {("housing_fund_transfer", "contact_letter"): wd(4)})
    message = str(caught.value)
    assert caught.value.code == "limit_exceeds_statute"
    for part in (
        "610800",
        "housing_fund_transfer/contact_letter",
        "4 working days",
        "3 working days",
    ):
        assert part in message


def test_a_region_limit_in_another_unit_than_the_statute_is_refused() -> None:
    with pytest.raises(InvalidValue) as caught:
        RegionLimits(
            "150600", {("unemployment_transfer", "funds_remittance"): Limit(20, "calendar_days")}
        )
    assert caught.value.code == "limit_unit_mismatch"


@pytest.mark.parametrize(
    ("amount", "unit"),
    [(0, "working_days"), (-3, "calendar_days"), (True, "working_days"), (3, "weeks")],
)
def test_a_limit_is_a_positive_amount_of_a_known_unit(amount: int, unit: str) -> None:
    with pytest.raises(InvalidValue):
        Limit(amount, unit)  # type: ignore[arg-type]


def test_region_configuration_refuses_bare_numbers_and_malformed_keys() -> None:
    with pytest.raises(InvalidValue, match="must be a Limit"):
        RegionLimits("150600", {("pension_transfer", "transfer_out"): 10})  # type: ignore[dict-item]
    with pytest.raises(InvalidValue, match="pairs"):
        RegionLimits("150600", {("pension_transfer",): wd(3)})  # type: ignore[dict-item]


def test_steps_without_a_statute_get_a_deadline_only_when_the_region_configures_one(
    calendar: WorkingCalendar,
) -> None:
    start = local(2025, 10, 20, 9)
    assert Rules(calendar).deadline_for("household_move", "move_out", start) is None
    configured = Rules(calendar, RegionLimits("150900", {("household_move", "move_out"): wd(3)}))
    spec = configured.deadline_for("household_move", "move_out", start)
    assert spec is not None
    assert spec.due_at == local(2025, 10, 24)
    assert "no statutory limit" in spec.basis


def test_unemployment_funds_are_due_within_one_calendar_month_of_the_transfer_out(
    rules: Rules,
) -> None:
    spec = rules.deadline_for("unemployment_transfer", "funds_remittance", local(2025, 1, 31, 16))
    assert spec is not None
    assert spec.due_at == local(2025, 3, 1)  # the month's last day, 28 Feb, included


def test_the_household_move_permit_is_valid_forty_calendar_days(rules: Rules) -> None:
    spec = rules.deadline_for("household_move", "permit_validity", local(2025, 9, 30, 15))
    assert spec is not None
    assert spec.due_at == local(2025, 11, 10)


def test_escalation_delay_is_configurable(calendar: WorkingCalendar) -> None:
    limits = RegionLimits("150600", escalation_after=Limit(2, "calendar_days"))
    spec = Rules(calendar, limits).deadline_for(
        "pension_transfer", "transfer_out", local(2025, 9, 22, 10)
    )
    assert spec is not None
    assert spec.escalate_at == local(2025, 10, 20)  # Sat 18 and Sun 19 after Fri 17
    with pytest.raises(InvalidValue, match="escalation_after"):
        RegionLimits(escalation_after=Limit(1, "calendar_months"))


def test_a_deadline_beyond_known_holiday_data_carries_the_fallback_warning(rules: Rules) -> None:
    spec = rules.deadline_for("pension_transfer", "completion", local(2027, 12, 20, 10))
    assert spec is not None
    assert spec.calendar_version.endswith("+fallback")
    assert "warning" in spec.basis and "2027-12-30" in spec.basis


# --------------------------------------------------------------------------- waiting limits


def test_supplement_waits_thirty_calendar_days_by_default(rules: Rules) -> None:
    spec = rules.waiting_limit("pension_transfer", "supplement", local(2025, 9, 30, 15))
    assert spec.due_at == local(2025, 10, 31)
    assert "not statute" in spec.basis


def test_a_region_overrides_one_processs_waiting_limit(calendar: WorkingCalendar) -> None:
    limits = RegionLimits("150600", waiting_limits={("medical_transfer", "supplement"): wd(5)})
    rules = Rules(calendar, limits)
    assert rules.waiting_limit(
        "medical_transfer", "supplement", local(2025, 9, 30, 15)
    ).due_at == local(2025, 10, 15)
    assert rules.waiting_limit(
        "pension_transfer", "supplement", local(2025, 9, 30, 15)
    ).due_at == local(2025, 10, 31)


def test_every_waiting_state_ends_even_one_nobody_configured(rules: Rules) -> None:
    spec = rules.waiting_limit(
        "housing_fund_transfer", "awaiting_applicant_confirmation", local(2025, 3, 3)
    )
    assert spec.due_at == local(2025, 3, 3) + dt.timedelta(days=DEFAULT_WAITING_FALLBACK.amount + 1)
    assert spec.escalate_at > spec.due_at


def test_waiting_for_the_counterpart_defaults_to_thirty_working_days(rules: Rules) -> None:
    spec = rules.waiting_limit("pension_transfer", "awaiting_counterpart", local(2025, 9, 22, 10))
    assert rules.calendar.working_days_between(local(2025, 9, 22, 10), spec.due_at).days == 30


# --------------------------------------------------------------------------- clock stops


def test_a_clock_stop_keeps_the_remaining_working_days_and_resume_grants_them_again(
    rules: Rules,
) -> None:
    start = local(2025, 9, 22, 10)
    spec = rules.deadline_for("pension_transfer", "transfer_out", start)
    assert spec is not None
    # Paused on Fri 26 Sep after 4 working days (23–26 Sep): 11 of 15 are left.
    remaining = rules.remaining_days(
        "pension_transfer", "transfer_out", spec.due_at, local(2025, 9, 26, 15)
    )
    assert remaining == 11
    resumed = rules.resume("pension_transfer", "transfer_out", local(2025, 10, 20, 9), remaining)
    # 21–24 Oct, 27–31 Oct, 3–4 Nov.
    assert resumed.due_at == local(2025, 11, 5)
    assert resumed.escalate_at == local(2025, 11, 8)
    assert "resumed" in resumed.basis and "11 working days" in resumed.basis


def test_a_clock_stopped_after_its_deadline_has_nothing_left(rules: Rules) -> None:
    spec = rules.deadline_for("medical_transfer", "transfer_in", local(2025, 3, 3, 9))
    assert spec is not None
    assert rules.remaining_days("medical_transfer", "transfer_in", spec.due_at, spec.due_at) == 0


def test_a_stopped_month_limit_resumes_in_calendar_days(rules: Rules) -> None:
    spec = rules.deadline_for("unemployment_transfer", "funds_remittance", local(2025, 1, 15, 9))
    assert spec is not None  # last day 15 Feb
    left = rules.remaining_days(
        "unemployment_transfer", "funds_remittance", spec.due_at, local(2025, 2, 5, 9)
    )
    assert left == 10
    resumed = rules.resume("unemployment_transfer", "funds_remittance", local(2025, 3, 1, 9), left)
    assert resumed.due_at == local(2025, 3, 12)


def test_clock_stops_on_steps_without_a_limit_or_with_negative_days_are_refused(
    rules: Rules,
) -> None:
    with pytest.raises(InvalidValue) as caught:
        rules.resume("household_move", "move_out", local(2025, 3, 3), 3)
    assert caught.value.code == "no_time_limit"
    with pytest.raises(InvalidValue, match="non-negative"):
        rules.resume("pension_transfer", "transfer_out", local(2025, 3, 3), -1)


def test_rules_implement_the_kernels_deadline_rules_port(rules: Rules) -> None:
    port: DeadlineRules = rules  # checked by mypy; at run time, the calls below
    assert port.deadline_for("pension_transfer", "nonexistent_step", local(2025, 3, 3)) is None
    assert port.waiting_limit("pension_transfer", "supplement", local(2025, 3, 3)).basis


def test_a_reckoning_kept_by_its_arguments_is_the_one_made_afresh() -> None:
    """`Rules.recompute` keeps its answers (issue 17): the same specs as a new `Rules`, and a
    `Rules` made for another calendar keeps none of the first one's."""
    import dataclasses
    import datetime as dt

    from domain.calendar import WorkingCalendar
    from domain.limits import Rules
    from domain.statutes import RegionLimits

    start = dt.datetime(2025, 9, 28, 2, 0, tzinfo=dt.UTC)  # before 国庆: rest days ahead
    kept = Rules(WorkingCalendar.with_files(), RegionLimits(region="150600"))
    for _ in range(2):
        for state in ("submitted", "awaiting_counterpart", "remitting"):
            fresh = Rules(WorkingCalendar.with_files(), RegionLimits(region="150600"))
            assert kept.waiting_limit("pension_transfer", state, start) == fresh.waiting_limit(
                "pension_transfer", state, start)
        assert kept.deadline_for("pension_transfer", "contact_letter", start) == Rules(
            WorkingCalendar.with_files()).deadline_for("pension_transfer", "contact_letter", start)
    other = dataclasses.replace(kept, calendar=WorkingCalendar.with_files())
    assert other._reckoned == {} and kept._reckoned
    assert other._asked == {} and kept._asked


def test_a_limit_kept_by_its_arguments_is_the_one_asked_afresh_in_each_zone() -> None:
    """`Rules.waiting_limit` and `deadline_for` keep their answers by process, state or step,
    start and the start's zone (issue 17): an instant asked in another zone gets its own."""
    import datetime as dt

    from domain.calendar import CHINA, WorkingCalendar
    from domain.limits import Rules
    from domain.statutes import RegionLimits

    utc = dt.datetime(2025, 9, 28, 2, 0, tzinfo=dt.UTC)
    kept = Rules(WorkingCalendar.with_files(), RegionLimits(region="150600"))
    for start in (utc, utc.astimezone(CHINA), utc, utc + dt.timedelta(days=1)):
        fresh = Rules(WorkingCalendar.with_files(), RegionLimits(region="150600"))
        got = kept.waiting_limit("pension_transfer", "submitted", start)
        assert got == fresh.waiting_limit("pension_transfer", "submitted", start)
        assert got.reckoning is not None and got.reckoning.start.tzinfo is start.tzinfo
        assert kept.deadline_for("pension_transfer", "contact_letter", start) == (
            fresh.deadline_for("pension_transfer", "contact_letter", start))
    assert kept.deadline_for("pension_transfer", "no_such_step", utc) is None


def test_a_kept_reckoning_records_the_start_it_was_asked_with() -> None:
    import datetime as dt

    from domain.calendar import CHINA, WorkingCalendar
    from domain.limits import Rules
    from domain.statutes import RegionLimits

    utc = dt.datetime(2025, 9, 28, 2, 0, tzinfo=dt.UTC)
    china = utc.astimezone(CHINA)
    kept = Rules(WorkingCalendar.with_files(), RegionLimits(region="150600"))
    kept.waiting_limit("pension_transfer", "submitted", utc)
    asked = kept.waiting_limit("pension_transfer", "submitted", china)
    fresh = Rules(WorkingCalendar.with_files(), RegionLimits(region="150600")).waiting_limit(
        "pension_transfer", "submitted", china)
    assert asked.reckoning is not None and fresh.reckoning is not None
    assert asked.reckoning.start.isoformat() == fresh.reckoning.start.isoformat()
    assert repr(asked) == repr(fresh)
