"""The levers' bench (simulations.bench.levers) measures every lever on records a simulation
stored, old and new code on the same data (timings are not asserted: the machine is shared)."""

from __future__ import annotations

from simulations.bench.levers import measure


def test_each_lever_is_measured_on_stored_records_old_and_new_alike() -> None:
    figures = measure(rounds=1, cases=12)
    assert len(figures) == 8
    for name, figure in figures.items():
        assert figure["items"] > 10, name
        assert set(figure) == {"items", "before_us", "after_us", "speedup"}, name
