"""Property suite: both sides of every transfer scheme under faulty delivery, in one world.

Each example starts one or two applications, then interleaves staff and applicant actions, the
network (delivery across links in any order, re-delivery of recorded events to the domain),
the bank (split or repeated notices), withdrawals and the passage of time; the invariants of
`domain.invariants` are checked after every step, and after a final drain (faults stop) every
side must have ended in an allowed pair or be explicitly needs_attention. The world and the
property live in `tests.fixtures` because `test_invariants_catch_broken.py` runs the very same
property against deliberately broken protocols and expects it to fail.
"""

from __future__ import annotations

from tests.fixtures.transfers import (
    TRANSFERS,
    concurrent_transfers,
    property_test,
    several_origins,
    single_origin,
)


def test_single_origin_transfers_keep_every_invariant_under_faulty_delivery() -> None:
    property_test(TRANSFERS, single_origin())()


def test_several_origins_answer_together_and_keep_every_invariant() -> None:
    property_test(TRANSFERS, several_origins())()


def test_two_concurrent_transfers_of_one_person_never_leave_two_relationships() -> None:
    property_test(TRANSFERS, concurrent_transfers())()
