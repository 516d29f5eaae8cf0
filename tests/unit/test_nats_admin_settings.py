"""A stream's provisioning settings are named parameters: a misspelt one is refused at the call.

Why: `ensure_*_stream` took `**settings` typed by a `TypedDict`, so only mypy saw a misspelt
name; at run time `replica=3` was dropped (the stream got one replica) and `duplicate_windw=60`
surfaced as a `KeyError` deep in the call, after the connection was asked for. Keyword-only
parameters make either a `TypeError` when the call is made, before any request.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import pytest

from regions.adapters.brokers.nats_admin import JetStreamAdmin

STREAMS = ["ensure_stream", "ensure_dead_letter_stream", "ensure_feed_stream",
           "ensure_outbound_stream"]


def call(method: str, **settings: Any) -> None:
    """Call `method` on an unconnected admin; close the coroutine if the call made one."""
    made: Coroutine[Any, Any, Any] = getattr(JetStreamAdmin(), method)("150600", **settings)
    made.close()


@pytest.mark.parametrize("method", STREAMS)
@pytest.mark.parametrize("settings", [
    {"duplicate_window": 60.0, "replica": 3},
    {"duplicate_windw": 60.0},
    {"duplicate_window": 60.0, "retentoin": None},
], ids=["replica", "duplicate_windw", "retentoin"])
def test_a_misspelt_stream_setting_is_a_type_error_at_the_call(
        method: str, settings: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        call(method, **settings)


@pytest.mark.parametrize("method", STREAMS)
def test_the_stream_settings_spelt_right_are_taken(method: str) -> None:
    call(method, duplicate_window=60.0, replicas=1, retention=None)
