"""The property suite can fail: run it on deliberately broken protocols and expect it to.

The property (`tests.fixtures.property_test`) is exactly the one the real protocols pass in
`test_transfer_properties.py`; only the protocol modules differ. Shrinking is skipped (we only
need to know that a counterexample exists) and nothing is saved to the example database.
"""

from __future__ import annotations

import pytest
from hypothesis import Phase

from tests.fixtures.broken_protocols import (
    destination_completes_without_funds,
    origin_proceeds_without_all_hold,
)
from tests.fixtures.transfers import property_test, several_origins, single_origin

CATCH = {"phases": [Phase.generate], "database": None, "max_examples": 200}


def test_property_suite_catches_a_destination_that_completes_without_the_funds() -> None:
    with pytest.raises(AssertionError, match=r"conservation"):
        property_test(destination_completes_without_funds(), single_origin(), **CATCH)()


def test_property_suite_catches_an_origin_that_proceeds_without_the_all_hold_instruction() -> None:
    with pytest.raises(AssertionError, match=r"split_outcome"):
        property_test(origin_proceeds_without_all_hold(), several_origins(), **CATCH)()
