"""Personal data in the node (issue 11 item 10): the node, not the back-end, turns a 身份证号
into the register's person key and the masked form; the plaintext is never stored or sent; the
node will not run with the development key outside a development run; stored events are
encrypted with the event store library's own cipher, and keys rotate."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from typing import Any

import pytest

from domain.kernel import Actor, InvalidValue
from domain.protocols import pension
from domain.protocols.intake import AcceptIntake, decide_intake
from domain.protocols.transfer import application
from domain.values import CaseNumber, RegionCode
from regions.adapters.stores.memory import MemoryStore
from regions.core.commands import CommandService, InvalidRequest
from regions.core.config import DEV_REGISTER_KEY, RegionConfig, SecretsError
from regions.runtime.bootstrap import build_region
from regions.wire.commands import decode_request, encode_request

HERE, ORIGIN = "150600", "610800"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
APPLICANT_ID = "110101196504157795"
STAFF = Actor("staff", "0451", HERE, "社保经办", "W3")
NUMBER = CaseNumber.new(RegionCode(HERE), dt.date(2026, 3, 2), uuid.UUID(int=3))
SECRET = "a-register-secret-of-the-operator-0123456789"


def key(n: int) -> str:
    return base64.b64encode(bytes([n]) * 32).decode()


def node_with(store: MemoryStore, **config: Any) -> Any:
    settings = RegionConfig(region=HERE, peers=(ORIGIN,), development=True, **config)
    return build_region(settings, clock=lambda: T0, ids=uuid.uuid4, broker=None, store=store)


def submit_json(**command: Any) -> bytes:
    body: dict[str, Any] = {
        "command_id": "s-1", "case_id": None,
        "case_number": str(NUMBER), "process": pension.PROCESS,
        "command": {"type": "Submit", "actor": {"kind": "staff", "id": "0451", "region": HERE},
                    "case_number": str(NUMBER), "item_id": "b1-7", "process": pension.PROCESS,
                    "mode": "joint", "applicant_id": APPLICANT_ID, "channel": "window",
                    "details": {"origins": [ORIGIN]}, **command}}
    return json.dumps(body).encode()


def stored_bytes(app: Any) -> bytes:
    return b"".join(bytes(n.state) for n in app.recorder.select_notifications(1, 10_000))


def test_the_node_derives_the_person_key_and_the_masked_form_from_the_id_number() -> None:
    region = node_with(MemoryStore(), register_key=SECRET)
    service = CommandService.for_config(region.node, region.config)
    result = service.handle(decode_request(submit_json(), "backend:window"), T0)
    assert result.ok, result
    view = region.node.side(str(NUMBER.case_id))
    submitted = view.state.intake.submitted
    expected = hmac.new(SECRET.encode(), APPLICANT_ID.encode(), hashlib.sha256).hexdigest()
    assert submitted.person_key == expected
    assert submitted.applicant_masked == "1101**********7795"
    assert APPLICANT_ID.encode() not in stored_bytes(region.node.app)


def test_the_plaintext_is_never_stored_nor_sent() -> None:
    region = node_with(MemoryStore())
    service = CommandService.for_config(region.node, region.config)
    opened = service.handle(decode_request(submit_json(), "backend:window"), T0)
    assert opened.outcome is not None
    accepted = service.handle(decode_request(encode_request(
        AcceptIntake(actor=STAFF), command_id="a-1",
        case_id=opened.outcome.case_id), "backend:window"), T0)
    assert accepted.ok and "ContactLetterIssued" in accepted.outcome.events  # type: ignore[union-attr]
    everything = stored_bytes(region.node.app)
    assert APPLICANT_ID.encode() not in everything
    assert APPLICANT_ID[6:14].encode() not in everything  # not even the birth date


def test_a_back_end_cannot_name_the_person_key_itself() -> None:
    for field, value in (("person_key", APPLICANT_ID), ("applicant_masked", "x")):
        with pytest.raises(InvalidRequest) as exc:
            decode_request(submit_json(**{field: value}), "backend:window")
        assert (exc.value.code, exc.value.field) == ("unknown_field", f"command.{field}")
    with pytest.raises(InvalidRequest) as missing:
        body = json.loads(submit_json())
        del body["command"]["applicant_id"]
        decode_request(json.dumps(body).encode(), "backend:window")
    assert (missing.value.code, missing.value.field) == ("missing_field", "command.applicant_id")


def test_the_domain_refuses_a_person_key_that_is_not_a_keyed_hash() -> None:
    for person_key in (APPLICANT_ID, "", "person-1", "AB" * 32):
        command = application(pension.PROCESS, NUMBER, person_key, [ORIGIN], STAFF,
                              applicant_masked="1506**********001X", item_id="b1-7")
        with pytest.raises(InvalidValue) as exc:
            decide_intake(None, command, T0)
        assert exc.value.code == "invalid_person_key"
    command = application(pension.PROCESS, NUMBER, "ab" * 32, [ORIGIN], STAFF,
                          applicant_masked=APPLICANT_ID, item_id="b1-7")
    with pytest.raises(InvalidValue) as masked:
        decide_intake(None, command, T0)
    assert masked.value.code == "invalid_person_key"


def test_a_python_client_sends_the_id_number_not_the_key() -> None:
    command = application(pension.PROCESS, NUMBER, "", [ORIGIN], STAFF, item_id="b1-7")
    raw = encode_request(command, command_id="s-1",
                         case_number=str(NUMBER), process=pension.PROCESS,
                         applicant_id=APPLICANT_ID)
    sent = json.loads(raw)["command"]
    assert sent["applicant_id"] == APPLICANT_ID and "person_key" not in sent
    assert decode_request(raw, "backend:window").applicant_id == APPLICANT_ID
    with pytest.raises(ValueError, match="applicant_id"):
        encode_request(command, command_id="s-1",
                       case_number=str(NUMBER), process=pension.PROCESS)


# --------------------------------------------------------------------------- secrets


def test_the_node_refuses_the_development_key_outside_a_development_run() -> None:
    production = RegionConfig(region=HERE, cipher_key=key(1))
    assert production.register_key == DEV_REGISTER_KEY
    with pytest.raises(SecretsError, match="register_key"):
        production.check_secrets()
    RegionConfig(region=HERE, development=True).check_secrets()
    RegionConfig(region=HERE, register_key=SECRET, cipher_key=key(1)).check_secrets()


def test_the_node_refuses_an_unencrypted_or_badly_keyed_store_outside_development() -> None:
    with pytest.raises(SecretsError, match="cipher_key"):
        RegionConfig(region=HERE, register_key=SECRET).check_secrets()
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(SecretsError, match="cipher_key"):
            RegionConfig(region=HERE, register_key=SECRET, cipher_key=bad).check_secrets()
    with pytest.raises(SecretsError, match="register_key"):
        RegionConfig(region=HERE, register_key="short", cipher_key=key(1)).check_secrets()


# --------------------------------------------------------------------------- encryption


def test_stored_events_are_encrypted_and_read_back() -> None:
    store = MemoryStore(cipher_key=key(1))
    region = node_with(store, cipher_key=key(1))
    service = CommandService.for_config(region.node, region.config)
    assert service.handle(decode_request(submit_json(), "backend:window"), T0).ok
    everything = stored_bytes(region.node.app)
    assert b"ApplicationSubmitted" not in everything and b"b1-7" not in everything
    again = node_with(store, cipher_key=key(1))
    assert again.node.side(str(NUMBER.case_id)) is not None


def test_a_rotated_key_reads_old_records_and_writes_with_the_new_key() -> None:
    store = MemoryStore(cipher_key=key(1))
    region = node_with(store)
    assert CommandService(region.node).handle(decode_request(submit_json(), "backend:window"), T0).ok
    store.cipher_key = f"{key(2)},{key(1)}"  # the new key first, the old one still known
    rotated = node_with(store)
    assert rotated.node.side(str(NUMBER.case_id)) is not None
    accepted = CommandService(rotated.node).handle(decode_request(encode_request(
        AcceptIntake(actor=STAFF), command_id="a-1",
        case_id=str(NUMBER.case_id)), "backend:window"), T0)
    assert accepted.ok
    store.cipher_key = key(2)  # the old key retired: its records no longer read
    with pytest.raises(ValueError):
        node_with(store).node.app.repository.get(
            rotated.node.side(str(NUMBER.case_id)).side_id)


def test_tongban_node_will_not_start_on_the_development_key() -> None:
    from typer.testing import CliRunner

    from api.cli import app

    env = {"TONGBAN_DEVELOPMENT": None, "TONGBAN_REGISTER_KEY": None, "TONGBAN_CIPHER_KEY": None}
    result = CliRunner(env=env).invoke(app, ["node", "--region", HERE, "--broker", "nats"])
    assert result.exit_code == 2
    assert "register_key is the public development key" in result.output
    assert "TONGBAN_CIPHER_KEY" in result.output
