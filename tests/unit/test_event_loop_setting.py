"""`TONGBAN_EVENT_LOOP=asyncio|uvloop`: which event loop a node process runs on. Why a setting:
uvloop costs the nodes less CPU (docs/performance.md, UVLOOP), and the standard loop must stay
one variable away — for tests of both, and for a platform without uvloop's wheels. A value no
loop answers to stops the process at start, naming the variable."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop
from typer.testing import CliRunner

from api.cli import app
from regions.runtime import event_loop


async def running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_uvloop_runs_the_node_loop_when_the_setting_says_so() -> None:
    loop = event_loop.run(running_loop(), {"TONGBAN_EVENT_LOOP": "uvloop"})
    assert isinstance(loop, uvloop.Loop)


def test_asyncio_keeps_the_standard_loop() -> None:
    loop = event_loop.run(running_loop(), {"TONGBAN_EVENT_LOOP": "asyncio"})
    assert not isinstance(loop, uvloop.Loop)
    assert type(loop).__module__.startswith("asyncio.")


def test_without_the_setting_uvloop_is_the_default_when_it_is_installed() -> None:
    assert event_loop.chosen({}) == "uvloop"
    assert isinstance(event_loop.run(running_loop(), {}), uvloop.Loop)


def test_the_setting_is_read_case_and_space_insensitively() -> None:
    assert event_loop.chosen({"TONGBAN_EVENT_LOOP": " AsyncIO "}) == "asyncio"


def test_a_loop_it_does_not_know_is_refused_naming_the_variable_and_the_choices() -> None:
    with pytest.raises(event_loop.EventLoopError) as refused:
        event_loop.run(running_loop(), {"TONGBAN_EVENT_LOOP": "trio"})
    message = str(refused.value)
    assert "TONGBAN_EVENT_LOOP" in message and "'trio'" in message
    assert "asyncio" in message and "uvloop" in message


def test_without_uvloop_installed_the_default_is_asyncio_and_asking_for_uvloop_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` raises ImportError
    assert event_loop.chosen({}) == "asyncio"
    assert event_loop.factory({}) is None
    with pytest.raises(event_loop.EventLoopError, match="not installed"):
        event_loop.chosen({"TONGBAN_EVENT_LOOP": "uvloop"})


def test_tongban_node_refuses_a_bad_event_loop_at_start_before_it_connects() -> None:
    result = CliRunner(env={"TONGBAN_EVENT_LOOP": "tokio"}).invoke(
        app, ["node", "--region", "150600", "--broker", "nats", "--development",
              "--nats-url", "nats://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "TONGBAN_EVENT_LOOP" in result.output and "tokio" in result.output


def test_tongban_backend_refuses_a_bad_event_loop_at_start_before_it_connects() -> None:
    result = CliRunner(env={"TONGBAN_EVENT_LOOP": "tokio"}).invoke(
        app, ["backend", "pension", "--region", "150600", "--nats-url", "nats://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "TONGBAN_EVENT_LOOP" in result.output
