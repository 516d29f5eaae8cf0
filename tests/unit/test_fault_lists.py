"""`--faults LIST` names a set of fault kinds: their order and repeats make no other schedule."""

from __future__ import annotations

from simulations.faults import ALL_FAULTS, parse_faults


def test_a_fault_list_is_read_in_all_faults_order_without_repeats() -> None:
    assert parse_faults("timing_edges, drop,duplicate,drop") == ("drop", "duplicate",
                                                                  "timing_edges")
    assert parse_faults(",".join(reversed(ALL_FAULTS))) == parse_faults("all") == ALL_FAULTS
