"""An armed crash point kills its process exactly at the planned pass — the fault tests
(`test_process_faults.py`) rely on it; here a child Python process is the victim."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from regions.runtime import crashpoints

ROOT = Path(__file__).resolve().parents[2]


def test_an_armed_point_kills_the_process_on_the_planned_pass_only() -> None:
    script = ("import sys; from regions.runtime import crashpoints as c; c.arm(); "
              "c.reached(c.AFTER_COMMIT_BEFORE_ACK); c.reached(c.AFTER_COMMIT_BEFORE_PUBLISH); "
              "print('survived pass 1', flush=True); c.reached(c.AFTER_COMMIT_BEFORE_ACK); "
              "print('survived pass 2', flush=True)")
    child = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                           text=True, timeout=30, start_new_session=True,
                           env={"PYTHONPATH": str(ROOT),
                                crashpoints.ENV: "after_commit_before_ack:2"})
    assert child.returncode == -signal.SIGKILL
    assert child.stdout == "survived pass 1\n"
    assert "CRASH POINT after_commit_before_ack pass 2: SIGKILL" in child.stderr
