"""How busy the machine was while something was measured, and how much of it was ours.

Why: on a shared 2-core machine a figure measured over a second or two moves with what the other
processes do in that second (issue 17: the bare pipeline moved 266-709 cases/s between runs
minutes apart). Each measured round records the CPU its own processes used and the machine's
total, so a slow round can be told from a busy machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from simulations.bench.services import postgres_cpu_seconds, process_cpu_seconds


def machine_busy_seconds() -> float:
    """CPU seconds every core has spent on anything but idle and I/O wait since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def servers_seconds(nats_pid: int) -> float:
    """CPU of the nats-server and of every PostgreSQL process (the server is shared: an upper
    bound of our share of it)."""
    return (process_cpu_seconds(nats_pid) if nats_pid else 0.0) + postgres_cpu_seconds()


@dataclass(frozen=True)
class Sample:
    at: float
    machine: float
    processes: float
    servers: float

    @classmethod
    def take(cls, pids: Iterable[int], nats_pid: int) -> Sample:
        return cls(time.monotonic(), machine_busy_seconds(),
                   sum(process_cpu_seconds(pid) for pid in pids if pid), servers_seconds(nats_pid))


def usage(before: Sample, after: Sample, cases: int) -> dict[str, float]:
    """Between two samples: CPU ms per case of the measured processes and of the servers, and
    the cores the machine's other processes kept busy (0..cores)."""
    wall = max(after.at - before.at, 1e-9)
    processes, servers = after.processes - before.processes, after.servers - before.servers
    others = max(0.0, after.machine - before.machine - processes - servers)
    per_case = 1000 / max(cases, 1)
    return {"cpu_ms_per_case": round(per_case * processes, 2),
            "servers_cpu_ms_per_case": round(per_case * servers, 2),
            "other_cores_busy": round(others / wall, 2)}
