"""The README's quick-start site as OS processes: two nodes with `--http`, two example back-ends.

鄂尔多斯 (150600) and 榆林 (610800), SQLite stores, a private pinned nats-server, the example
pension back-ends deciding on their own — what a new user runs from the README, and what the
pages are tested against. Every process is stopped at the end; their logs are printed if the
test failed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODES = ("150600", "610800")
START_TIMEOUT = 45.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    nats_url: str
    workdir: Path
    urls: dict[str, str] = field(default_factory=dict)
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def spawn(self, name: str, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
        env.update(TONGBAN_DEVELOPMENT="true", TONGBAN_HEARTBEAT_SECONDS="0.5",
                   TONGBAN_GAP_BOUND_SECONDS="1", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
                   TONGBAN_BLOB_DIR=str(self.workdir / "blobs"),  # not the checkout's ./data
                   TONGBAN_NOTIFICATIONS_DIR=str(self.workdir / "notifications"),
                   **self.env)
        log = (self.workdir / f"{name}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "api", *args], cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.processes.append((name, proc))

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        for code, url in self.urls.items():
            while True:
                with contextlib.suppress(OSError), \
                        urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        break
                if time.monotonic() > deadline:
                    raise AssertionError(f"node {code} not ready:\n{self.logs()}")
                time.sleep(0.2)

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
                         for path in sorted(self.workdir.glob("*.log")))

    def stop(self) -> None:
        for _, proc in reversed(self.processes):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc in self.processes:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextlib.contextmanager
def quick_start(nats_url: str, workdir: Path, *, backends: bool = True,
                env: dict[str, str] | None = None,
                store: Callable[[str], list[str]] | None = None) -> Iterator[Site]:
    """`store(code)` gives a node's store flags (default: SQLite files under `workdir`)."""
    provisioned = subprocess.run(
        [sys.executable, "-m", "api", "nats", "provision", "--nats-url", nats_url,
         "--regions", ",".join(CODES), "--backend", "pension"],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert provisioned.returncode == 0, provisioned.stderr
    site = Site(nats_url, workdir, env=dict(env or {}))
    try:
        for code in CODES:
            peers = ",".join(c for c in CODES if c != code)
            port = free_port()
            site.urls[code] = f"http://127.0.0.1:{port}"
            flags = (store(code) if store is not None
                     else ["--store", "sqlite", "--sqlite-dir", str(workdir / "data")])
            site.spawn(f"node-{code}", "node", "--region", code, "--peers", peers, *flags,
                       "--broker", "nats", "--nats-url", nats_url, "--http", f"127.0.0.1:{port}")
        site.wait_ready()
        if backends:
            for code in CODES:
                site.spawn(f"backend-{code}", "backend", "pension", "--region", code,
                           "--nats-url", nats_url)
        yield site
    except BaseException:
        print(site.logs())
        raise
    finally:
        site.stop()
