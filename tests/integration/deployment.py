"""What the deployment tests share: the shipped files, and a private nats-server running them.

`DeployedNats` runs a NATS configuration file as shipped — only its listen and monitor addresses
and its store directory are rewritten — so a test exercises *that* file's users and permissions.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from regions.adapters.brokers.nats_server import NatsServer, NatsServerError

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
NATS_CONF = ROOT / "deploy" / "nats" / "nats.conf"
INIT_SQL = ROOT / "deploy" / "postgres" / "init.sql"


@dataclass
class DeployedNats(NatsServer):
    """A private nats-server running `conf` (deploy/nats/nats.conf unless told otherwise)."""

    conf: Path = field(default=NATS_CONF)

    def _launch(self, timeout: float) -> None:
        text = self.conf.read_text(encoding="utf-8")
        for key, value in (("listen", f"{self.host}:{self.port}"),
                           ("http", f"{self.host}:{self.monitor_port}"),
                           ("store_dir", str(self.store_dir))):
            text, count = re.subn(rf'(?m)^(\s*{key}:\s*)"[^"]*"', rf'\g<1>"{value}"', text)
            assert count == 1, f"{self.conf.name} must set {key} once"
        self.config_path.write_text(text)
        assert self.binary is not None
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "-c", str(self.config_path)], stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.wait_healthy(timeout)
        except NatsServerError:
            with contextlib.suppress(NatsServerError):
                self.kill()
            raise

    def user_url(self, user: str, password: str) -> str:
        return f"nats://{user}:{password}@{self.host}:{self.port}"


def on_server(url: str, server: NatsServer) -> str:
    """A compose NATS URL (`nats://user:pw@nats:4222`) pointed at the private server."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{server.host}:{server.port}" if userinfo else \
        f"{server.host}:{server.port}"
    return urlunsplit(parts._replace(netloc=netloc))
