"""The deployment files work, tested without Docker.

- `docker-compose.yml` validates against the compose specification and has a node (with a
  /readyz health check) and a back-end for every pilot region, provisioned before they start.
- `deploy/nats/nats.conf` is exactly what `tongban nats config` generates from the subject
  grammar, passes `nats-server -t`, grants nobody the shared `_INBOX.>`, and a private server
  runs *that* file (only its addresses and store directory rewritten); region users can publish
  only as their region (isolation in depth: `test_nats_isolation.py`).
- `deploy/postgres/init.sql` runs on the test PostgreSQL (role and schema names rewritten into
  this run's prefix, dropped afterwards); a region's role cannot touch another region's schema.
- Every node service's command and environment from the compose file, with host names and ports
  rewritten to the private nats-server and the test PostgreSQL, starts as a local process and
  answers `/readyz` with 200, then stops cleanly on SIGTERM.
- Two regions' node and back-end services, as the compose file runs them, carry a pension
  transfer to completion under the shipped permissions without one permissions violation, and
  everything they send on the broker is what asyncapi.yaml describes (`ContractTap`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import nats.errors
import nats.js.errors
import psycopg
import pytest
import yaml
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from domain.kernel import Actor
from domain.protocols import pension
from domain.protocols.transfer import application
from regions.adapters.brokers import nats_conf
from regions.adapters.brokers.nats_server import NatsServer, free_port
from regions.sdk.client import RegionClient
from simulations.workload import draw_applicant
from tests.integration.contract_watch import tapped
from tests.integration.deployment import COMPOSE, INIT_SQL, NATS_CONF, ROOT, DeployedNats, on_server
from tests.integration.realworld import new_case_number
from tests.services.nats_server import pinned_binary
from tests.services.postgres import PostgresService

pytestmark = pytest.mark.timeout(180)

PILOTS = ["150600", "610800", "152900", "640100", "150900", "140200", "130700"]
READY_TIMEOUT = 60.0


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def node_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if name.startswith("node-")}


def flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


# --------------------------------------------------------------------------- static checks


def _check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
         "vendor.compose-spec", str(path)], capture_output=True, text=True, timeout=60,
        check=False)


def test_the_compose_file_validates_against_the_compose_specification(tmp_path: Path) -> None:
    checked = _check_compose(COMPOSE)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = tmp_path / "docker-compose.yml"  # the validator can fail: an unknown condition
    broken.write_text(COMPOSE.read_text(encoding="utf-8").replace(
        "condition: service_completed_successfully", "condition: when_it_feels_like_it", 1))
    assert _check_compose(broken).returncode != 0


def test_every_pilot_region_has_a_ready_checked_node_and_a_back_end_after_provisioning() -> None:
    services = compose()["services"]
    nodes = node_services()
    assert sorted(flag(s["command"], "--region") for s in nodes.values()) == sorted(PILOTS)
    provision = services["provision"]["command"]
    assert provision[:2] == ["nats", "provision"]
    assert flag(provision, "--regions").split(",") == PILOTS
    for name, service in nodes.items():
        command = service["command"]
        region = flag(command, "--region")
        assert name == f"node-{region}"
        assert flag(command, "--store") == "postgres" and flag(command, "--broker") == "nats"
        assert flag(command, "--schema") == f"tb_{region}"
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["depends_on"]["provision"]["condition"] == \
            "service_completed_successfully"
        backend = services[f"backend-{region}"]
        assert backend["command"][:2] == ["backend", "pension"]
        assert flag(backend["command"], "--region") == region
        assert backend["depends_on"][name]["condition"] == "service_healthy"


def _nats_config_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(pinned_binary()), "-t", "-c", str(path)], capture_output=True,
                          text=True, timeout=30, check=False)


def test_the_shipped_nats_configuration_is_the_one_generated_from_the_subject_grammar() -> None:
    """For the regions and back-ends the compose file runs; the file names its own command."""
    provision = compose()["services"]["provision"]["command"]
    regions, backend = flag(provision, "--regions"), flag(provision, "--backend")
    shipped = NATS_CONF.read_text(encoding="utf-8")
    command = ["nats", "config", "--regions", regions, "--backend", backend]
    assert f"tongban {' '.join(command)}\n" in shipped
    assert shipped == nats_conf.render(nats_conf.Site(tuple(regions.split(",")), (backend,))), \
        f"regenerate it: tongban {' '.join(command)} --output deploy/nats/nats.conf"
    checked = subprocess.run(
        [sys.executable, "-m", "api", *command, "--output", str(NATS_CONF), "--check"],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)
    assert checked.returncode == 0, checked.stderr
    stale = subprocess.run(
        [sys.executable, "-m", "api", *command, "--backend", "audit", "--output",
         str(NATS_CONF), "--check"], capture_output=True, text=True, timeout=60, check=False,
        cwd=ROOT)
    assert stale.returncode == 1 and "out of date" in stale.stderr  # the check can fail


def test_nobody_may_subscribe_to_the_shared_reply_namespace() -> None:
    shipped = NATS_CONF.read_text(encoding="utf-8")
    assert "_INBOX.>" not in shipped
    users = nats_conf.Site(tuple(PILOTS)).users()
    assert len(users) == 1 + 2 * len(PILOTS)
    for user in users:
        if user.name == nats_conf.ADMIN:
            continue
        assert user.subscribe[-1] == f"{user.inbox_prefix}.>"
        assert all(not p.startswith("_INBOX") for p in user.subscribe[:-1])
        assert not any("CONSUMER.CREATE" in p or "CONSUMER.DURABLE" in p or "DELETE" in p
                       or p.endswith(".*.>") for p in user.publish)


def test_the_nats_configuration_passes_the_servers_own_check(tmp_path: Path) -> None:
    checked = _nats_config_check(NATS_CONF)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = NATS_CONF.read_text(encoding="utf-8")
    assert re.search(r"jetstream\s*\{[^}]*sync_interval:\s*always", text)
    broken = tmp_path / "nats.conf"  # the check can fail: an unbalanced block
    broken.write_text(text.replace("jetstream {", "jetstream {{", 1))
    assert _nats_config_check(broken).returncode != 0


# --------------------------------------------------------------------------- PostgreSQL


@dataclass
class Database:
    """The test PostgreSQL with init.sql applied under this run's prefix instead of `tb_`."""

    dsn: str
    prefix: str

    def rename(self, name: str) -> str:
        assert name.startswith("tb_"), name
        return self.prefix + name.removeprefix("tb_")

    def dsn_for(self, compose_dsn: str) -> str:
        """The compose DSN's role and password on the test server and database."""
        given, test = conninfo_to_dict(compose_dsn), conninfo_to_dict(self.dsn)
        target = {k: v for k, v in test.items() if k in ("host", "port", "dbname")}
        return make_conninfo(**target, user=self.rename(str(given["user"])),
                             password=given["password"])


@pytest.fixture(scope="module")
def database(postgres_service: PostgresService) -> Iterator[Database]:
    prefix = postgres_service.new_prefix()
    script = INIT_SQL.read_text(encoding="utf-8")
    assert script.count("'tb_'") == 1, "init.sql must build every name from one 'tb_' literal"
    roles = [prefix + code for code in PILOTS]
    with psycopg.connect(postgres_service.dsn, autocommit=True) as conn:
        try:
            conn.execute(script.replace("'tb_'", sql.quote(prefix)).encode())
            yield Database(postgres_service.dsn, prefix)
        finally:
            for role in roles:
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
                    conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_init_sql_gives_each_region_a_schema_its_own_role_owns_and_no_other_can_touch(
    database: Database,
) -> None:
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        owners = dict(conn.execute(
            "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname LIKE %s",
            (database.prefix + "%",)).fetchall())
    assert owners == {database.prefix + c: database.prefix + c for c in PILOTS}
    own, other = database.rename("tb_150600"), database.rename("tb_610800")
    dsn = database.dsn_for("postgresql://tb_150600:tongban-dev-150600@postgres/tongban")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {}.probe (x int)").format(sql.Identifier(own)))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(sql.SQL("CREATE TABLE {}.probe (x int)").format(sql.Identifier(other)))


# --------------------------------------------------------------------------- NATS


@pytest.fixture(scope="module")
def deployed_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedNats]:
    server = DeployedNats(workdir=tmp_path_factory.mktemp("deployed-nats"), binary=pinned_binary())
    server.start()
    try:
        command = compose()["services"]["provision"]["command"]
        command[command.index("--nats-url") + 1] = on_server(flag(command, "--nats-url"), server)
        done = subprocess.run([sys.executable, "-m", "api", *command], capture_output=True,
                              text=True, timeout=60, check=False, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        yield server
    finally:
        server.stop()


def test_a_region_user_may_publish_its_own_events_and_not_another_regions(
    deployed_nats: NatsServer,
) -> None:
    async def attempt() -> tuple[int, list[str]]:
        errors: list[str] = []

        async def on_error(exc: Exception) -> None:
            errors.append(str(exc))
        nc = await nats.connect(on_server("nats://node_150600:tongban-dev-150600@nats:4222",
                                          deployed_nats), error_cb=on_error,
                                inbox_prefix="_INBOX_150600")
        try:
            js = nc.jetstream(timeout=1.0)
            ack = await js.publish("tb.v1.evt.610800.150600", b"{}",
                                   headers={"Nats-Msg-Id": "probe-own:610800"})
            with pytest.raises(nats.errors.TimeoutError):  # a denied publish gets no answer
                await js.publish("tb.v1.evt.640100.610800", b"{}",
                                 headers={"Nats-Msg-Id": "probe-forged:640100"})
            return ack.seq, errors
        finally:
            await nc.close()

    seq, errors = asyncio.run(attempt())
    assert seq >= 1
    assert any('permissions violation for publish to "tb.v1.evt.640100.610800"' in e
               for e in errors), errors


# --------------------------------------------------------------------------- the nodes


def node_process(name: str, service: dict[str, Any], server: NatsServer, db: Database,
                 port: int, logs: Path) -> subprocess.Popen[bytes]:
    command = list(service["command"])
    command[command.index("--nats-url") + 1] = on_server(flag(command, "--nats-url"), server)
    command[command.index("--dsn") + 1] = db.dsn_for(flag(command, "--dsn"))
    command[command.index("--schema") + 1] = db.rename(flag(command, "--schema"))
    command[command.index("--http") + 1] = f"127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
    env.update({k: str(v) for k, v in (service.get("environment") or {}).items()})
    with (logs / f"{name}.log").open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "api", *command], cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def readyz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def test_every_node_service_starts_from_its_compose_command_and_answers_readyz(
    deployed_nats: NatsServer, database: Database, tmp_path: Path,
) -> None:
    services = node_services()
    ports = {name: free_port() for name in services}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, service in services.items():
            processes[name] = node_process(name, service, deployed_nats, database, ports[name],
                                           tmp_path)
        waiting = set(services)
        deadline = time.monotonic() + READY_TIMEOUT
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                assert processes[name].poll() is None, \
                    f"{name} exited: {(tmp_path / f'{name}.log').read_text()[-2000:]}"
                if readyz(ports[name]) == 200:
                    waiting.discard(name)
            time.sleep(0.2)
        assert not waiting, {n: (tmp_path / f"{n}.log").read_text()[-1500:] for n in waiting}
        for process in processes.values():
            os.killpg(process.pid, signal.SIGTERM)
        codes = {name: p.wait(timeout=30) for name, p in processes.items()}
        assert codes == dict.fromkeys(services, 0)
        # Nothing a node did (subscribe, pull its inbox, consumer info) broke its permissions.
        assert violations(deployed_nats) == []
    finally:
        for process in processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def backend_process(name: str, service: dict[str, Any], server: NatsServer,
                    logs: Path) -> subprocess.Popen[bytes]:
    command = list(service["command"])
    command[command.index("--nats-url") + 1] = on_server(flag(command, "--nats-url"), server)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
    with (logs / f"{name}.log").open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "api", *command], cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def violations(server: NatsServer) -> list[str]:
    """Permission violations in the server's log, except this module's deliberate probes."""
    return [line for line in server.log_path.read_text().splitlines()
            if "Violation" in line and "640100.610800" not in line]


@contextlib.contextmanager
def running(processes: dict[str, subprocess.Popen[bytes]]) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def stop_all(processes: dict[str, subprocess.Popen[bytes]]) -> dict[str, int]:
    for process in processes.values():
        os.killpg(process.pid, signal.SIGTERM)
    return {name: p.wait(timeout=30) for name, p in processes.items()}


def test_every_back_end_service_attaches_to_its_provisioned_durable_with_its_own_user(
    deployed_nats: DeployedNats, tmp_path: Path,
) -> None:
    backends = {name: s for name, s in compose()["services"].items()
                if name.startswith("backend-")}
    assert flag(compose()["services"]["provision"]["command"], "--backend") == "pension"
    processes: dict[str, subprocess.Popen[bytes]] = {}
    with running(processes):
        for name, service in backends.items():
            processes[name] = backend_process(name, service, deployed_nats, tmp_path)
        waiting = set(backends)
        deadline = time.monotonic() + READY_TIMEOUT
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                log = (tmp_path / f"{name}.log").read_text()
                assert processes[name].poll() is None, f"{name} exited: {log[-2000:]}"
                if "consuming tb.v1.feed." in log:
                    waiting.discard(name)
            time.sleep(0.2)
        assert not waiting, {n: (tmp_path / f"{n}.log").read_text()[-1500:] for n in waiting}
        assert stop_all(processes) == dict.fromkeys(backends, 0)
    assert violations(deployed_nats) == []


async def completed(server: DeployedNats, region: str, case_id: str) -> bool:
    """Whether the region's feed holds the case's `TransferCompleted` (read as the admin)."""
    admin = nats_conf.admin_user()
    nc = await nats.connect(server.user_url(admin.name, admin.password))
    try:
        js = nc.jetstream()
        last = (await js.stream_info(f"TB_FEED_{region}")).state.last_seq
        for seq in range(last, 0, -1):  # one message per commit and process, newest first
            msg = await js.get_msg(f"TB_FEED_{region}", seq)
            if any(event.get("type") == "cn.tongban.TransferCompleted"
                   and event.get("caseid") == case_id for event in json.loads(msg.data or b"[]")):
                return True
    except nats.js.errors.NotFoundError:
        return False
    finally:
        await nc.close()
    return False


def test_two_regions_complete_a_pension_transfer_as_deployed_without_a_permissions_violation(
    deployed_nats: DeployedNats, database: Database, tmp_path: Path,
) -> None:
    """鄂尔多斯 and 榆林: their node and back-end services from the compose file; the transfer is
    submitted by 鄂尔多斯's pension back-end user, then decided by the back-ends alone."""
    dest, origin = "150600", "610800"
    services = compose()["services"]
    processes: dict[str, subprocess.Popen[bytes]] = {}
    ports = {code: free_port() for code in (dest, origin)}
    user = nats_conf.backend_user(dest, "pension")
    admin = nats_conf.admin_user()  # the tap listens on every subject, as only the admin may

    async def submit() -> str:
        person = draw_applicant(random.Random(11))
        number = new_case_number(dest)
        command = application(pension.PROCESS, number, "", [origin],
                              Actor("applicant", person.citizen.masked, dest), item_id="b1-7")
        async with RegionClient(deployed_nats.user_url(user.name, user.password), dest,
                                "pension", timeout=2.0) as client:
            outcome = await client.submit(str(number), pension.PROCESS, command,
                                          command_id=f"deployed-{number}",
                                          applicant_id=person.citizen.number)
        assert outcome.ok, outcome
        return outcome.case_id

    with running(processes), tapped(deployed_nats.user_url(admin.name, admin.password)) \
            as contract:
        for code in (dest, origin):
            processes[f"node-{code}"] = node_process(
                f"node-{code}", services[f"node-{code}"], deployed_nats, database, ports[code],
                tmp_path)
            processes[f"backend-{code}"] = backend_process(
                f"backend-{code}", services[f"backend-{code}"], deployed_nats, tmp_path)
        deadline = time.monotonic() + READY_TIMEOUT
        while any(readyz(port) != 200 for port in ports.values()):
            assert time.monotonic() < deadline, "the nodes never became ready"
            time.sleep(0.2)
        case_id = asyncio.run(submit())
        deadline = time.monotonic() + READY_TIMEOUT
        while not asyncio.run(completed(deployed_nats, dest, case_id)):
            for name, process in processes.items():
                assert process.poll() is None, \
                    f"{name} exited: {(tmp_path / f'{name}.log').read_text()[-2000:]}"
            assert time.monotonic() < deadline, {
                n: (tmp_path / f"{n}.log").read_text()[-1200:] for n in processes}
            time.sleep(0.3)
        assert stop_all(processes) == dict.fromkeys(processes, 0)
    assert violations(deployed_nats) == []
    assert contract.violations == []  # all the nodes sent is what asyncapi.yaml describes
    assert {"FeedEvent", "CommandReply", "HighWaterMark"} <= contract.checked.keys(), \
        contract.checked
