"""`tongban bench --hops` switches the hop stamps on; without it the nodes run unwrapped.

Why: the stamps wrap calls on the nodes' path, which a run of a tree older than the instrument
does not pay; a default run must compare like for like with one, and `--hops` must still reach
both workers (`WorkerSettings.hops`) or `phases[*].hops` would silently read off.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from simulations.bench.services import BenchError


@pytest.mark.parametrize(("args", "stamped"), [((), False), (("--hops",), True)])
def test_the_switch_reaches_the_run(monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...],
                                    stamped: bool) -> None:
    seen: dict[str, Any] = {}

    def run_bench(*given: Any) -> dict[str, Any]:
        seen["stamp_hops"] = given[4]
        raise BenchError("not run here")

    monkeypatch.setattr(sys.modules["api.cli.bench"], "run_bench", run_bench)
    result = CliRunner().invoke(app, ["bench", "--quick", *args])
    assert result.exit_code == 1 and seen == {"stamp_hops": stamped}

