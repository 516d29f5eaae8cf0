"""The bench's paired rounds: the median figures, the pairs' ratios, the machine's share.

Why: the quick bench's ratio to the bare pipeline is a median over pairs of rounds measured side
by side (issue 17: a single burst of each, minutes apart, put it anywhere in 0.15-0.93)."""

from __future__ import annotations

import pytest

from simulations.bench.contention import Sample, usage
from simulations.bench.figures import PhaseFigures, median, median_round, pairs, spread


def burst(rate: float, machine: dict[str, float]) -> PhaseFigures:
    figures = PhaseFigures("burst-1", None, int(rate), 1.0, [], [])
    figures.machine = machine
    return figures


def test_the_median_round_is_one_real_round_the_upper_middle_of_an_even_count() -> None:
    rounds = [{"r": 3.0}, {"r": 1.0}, {"r": 2.0}, {"r": 9.0}]
    assert median_round(rounds, lambda r: r["r"]) is rounds[0]
    assert median_round(rounds[:3], lambda r: r["r"]) is rounds[2]
    with pytest.raises(ValueError):
        median_round([], lambda r: 0.0)


def test_median_and_spread_skip_unknown_values() -> None:
    assert median([0.3, None, 0.1, 0.2]) == 0.2
    assert median([None]) is None
    assert spread([0.3, None, 0.1]) == [0.1, 0.3]
    assert spread([]) == []


def bare_round(cases: int, elapsed: float, cpu: float, others: float) -> dict[str, float]:
    return {"cases": cases, "elapsed_s": elapsed, "cases_per_second": cases / elapsed,
            "cpu_ms_per_case": cpu, "servers_cpu_ms_per_case": 1.0, "other_cores_busy": others}


def test_each_burst_is_paired_with_the_two_bare_rounds_around_it() -> None:
    product = burst(100, {"cpu_ms_per_case": 6.0, "servers_cpu_ms_per_case": 2.0,
                          "other_cores_busy": 1.2})
    before, after = bare_round(300, 1.0, 0.8, 1.6), bare_round(300, 0.5, 1.2, 1.2)
    [pair] = pairs([product], [before, after])
    assert pair["bare"] == {"cases_per_second": 400.0, "cpu_ms_per_case": 1.0,
                            "servers_cpu_ms_per_case": 1.0, "other_cores_busy": 1.4}
    assert pair["ratio"] == 0.25
    assert pair["cpu_ratio"] == 0.25  # 2 ms a case against 8
    assert pair["product"] == {"cases_per_second": 100.0, "cpu_ms_per_case": 6.0,
                               "servers_cpu_ms_per_case": 2.0, "other_cores_busy": 1.2}
    with pytest.raises(ValueError):
        pairs([product], [before])


def test_a_round_without_cpu_figures_has_no_cpu_ratio() -> None:
    [pair] = pairs([burst(100, {})], [bare_round(300, 0.75, 1.0, 0.0)] * 2)
    assert pair["ratio"] == 0.25 and pair["cpu_ratio"] is None


def test_usage_splits_the_machine_between_the_measured_processes_the_servers_and_others() -> None:
    before = Sample(at=10.0, machine=100.0, processes=5.0, servers=3.0)
    after = Sample(at=12.0, machine=103.0, processes=6.0, servers=3.5)
    assert usage(before, after, cases=500) == {"cpu_ms_per_case": 2.0,
                                               "servers_cpu_ms_per_case": 1.0,
                                               "other_cores_busy": 0.75}
    # CPU read from /proc is coarser than the machine's: others never go below zero
    assert usage(before, Sample(12.0, 101.0, 6.0, 3.5), 500)["other_cores_busy"] == 0.0


def test_a_burst_round_that_completed_nothing_is_paired_as_a_ratio_of_zero() -> None:
    from simulations.bench.run import Plan, _report

    rounds = [burst(rate, {}) for rate in (100, 0, 120)]
    for number, figures in enumerate(rounds, 1):
        figures.name = f"burst-{number}"
    bare = {"cases_per_second": 400.0, "rounds": [bare_round(300, 0.75, 1.0, 0.0)] * 4}
    report = _report(Plan.quick_plan(), "test", {}, rounds, [], {}, 0, bare)
    assert [pair["ratio"] for pair in report["burst_rounds"]] == [0.25, 0.0, 0.3]
    assert report["cases_per_second"] == 100.0  # the median of 0, 100 and 120


def test_the_full_plan_runs_as_many_cases_as_the_soak_asks_counting_every_burst_round() -> None:
    from simulations.bench.run import Plan

    plan = Plan.full_plan(cases=10_000, soak_to=100_000)
    assert sum(phase.cases * phase.rounds for phase in plan.phases) == 100_000


def test_a_paced_phase_that_keeps_up_completes_at_the_offered_rate_whatever_its_latency() -> None:
    """600 cases offered at 300/s over 2 s, each done 0.3 s after it came: arrival to last
    completion reads ~261/s (the latency counted once), the completions came at 300/s."""
    arrivals = [i / 300 for i in range(600)]
    finishes = [a + 0.3 for a in arrivals]
    phase = PhaseFigures("paced-300", 300, 600, max(finishes) - min(arrivals), [], [])
    phase.finish_span_s = max(finishes) - min(finishes)
    assert round(phase.cases_per_second) == 261 and not phase.sustained
    assert phase.completion_rate == pytest.approx(300)
    assert phase.to_dict()["completion_rate"] == 300.0


def test_a_paced_phase_that_falls_behind_completes_below_the_offered_rate() -> None:
    phase = PhaseFigures("paced-300", 300, 600, 4.3, [], [])
    phase.finish_span_s = 4.0  # 600 completions drawn out over 4 s: 150/s
    assert phase.completion_rate == pytest.approx(599 / 4.0)
    assert PhaseFigures("burst", None, 1, 1.0, [], []).completion_rate is None
