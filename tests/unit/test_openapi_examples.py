"""Every operation of the node's OpenAPI document carries examples (issue 13: "OpenAPI ... with
examples on every operation"): a request example where it takes a body, an example of each
success (2xx) answer, and an example of each problem (4xx/5xx, `application/problem+json`) it
documents. The examples must be true to the document (each validates against its own schema),
and problems must read like the server's own: the status they are documented under, an English
`title`, a Chinese `detail`. Case numbers and region codes in them must be real ones.

The app is built from the node's own router list (`api.node.api_routers`), so an operation added
to the node without examples fails here, by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from api.http import build_app
from api.node import api_routers
from api.web import WebContext
from domain.kernel import InvalidValue, event_type
from domain.protocols import PROTOCOLS, SERVICE_PROTOCOLS, statuses
from domain.values import CaseNumber, RegionCode
from regions.core.config import RegionConfig
from regions.runtime.status import NodeStatus

PROBLEM = "application/problem+json"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
CASE_NUMBER = re.compile(r"^[0-9]{6}-[0-9]{8}-[0-9A-Z]{10}$")
REGION = re.compile(r"^[0-9]{6}$")
REGION_FIELDS = {"origin", "handling_region", "from_region", "region", "destination",
                 "to_region", "accepting_region"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    status = NodeStatus(RegionConfig(region="150600", peers=("610800",)), None,  # type: ignore[arg-type]
                        None)  # type: ignore[arg-type]
    app = build_app(status, *api_routers(WebContext("150600", status=status)))
    document: dict[str, Any] = TestClient(app).get("/openapi.json").json()
    return document


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield f"{method.upper()} {path}", op


def resolved(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A `$ref` (or a nullable `anyOf: [$ref, null]`, an optional body) to the named schema."""
    refs = [schema] if "$ref" in schema else [s for s in schema.get("anyOf", []) if "$ref" in s]
    if not refs:
        return schema
    named: dict[str, Any] = spec["components"]["schemas"][refs[0]["$ref"].rsplit("/", 1)[-1]]
    return named


def examples_of(spec: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """The media type's examples, or its schema's (pydantic puts a body's there)."""
    if "example" in media:
        return [media["example"]]
    if "examples" in media:
        return [e["value"] for e in media["examples"].values()]
    schema = resolved(spec, media.get("schema", {}))
    return list(schema.get("examples", []))


def untrue(spec: dict[str, Any], media_type: str, media: dict[str, Any],
           example: Any) -> str:
    """Why `example` contradicts its media type's schema ("" when it does not)."""
    if "json" not in media_type:
        return "" if isinstance(example, str) and example else "not a non-empty text"
    validator = jsonschema.Draft202012Validator(
        {**media.get("schema", {}), "components": spec["components"]})
    error = jsonschema.exceptions.best_match(validator.iter_errors(example))
    return "" if error is None else f"{list(error.absolute_path)}: {error.message}"


STATUSES = frozenset().union(*(statuses(spec) for spec in (*PROTOCOLS.values(),
                                                           *SERVICE_PROTOCOLS.values())))


def unreal(value: Any, key: str = "") -> list[str]:
    """Case numbers, region codes, statuses and event names in an example that no node would
    write (a case's `status` is one its protocols report; `events` are registered types)."""
    if isinstance(value, dict):
        wrong = [w for k, v in value.items() for w in unreal(v, k)]
        if ("case_number" in value or "number" in value) and \
                value.get("status", "submitted") not in STATUSES:
            wrong.append(f"status {value['status']}: no protocol reports it")
        for name in value.get("events", []):
            try:
                event_type(name)
            except Exception:
                wrong.append(f"event {name}: no such event type")
        return wrong
    if isinstance(value, list):
        return [w for v in value for w in unreal(v, key)]
    if not isinstance(value, str):
        return []
    wrong = []
    if CASE_NUMBER.match(value):
        try:
            number = CaseNumber.parse(value)
        except InvalidValue as exc:
            wrong.append(f"{value}: {exc}")
        else:
            value, key = str(number.region), "region"
    if key in REGION_FIELDS and REGION.match(value):
        try:
            named = RegionCode(value).name
        except InvalidValue:
            named = ""
        if not named:
            wrong.append(f"{key} {value}: not a region code with a name")
    return wrong


def test_every_operation_with_a_body_has_a_true_request_example(spec: dict[str, Any]) -> None:
    missing, untrue_ones = [], []
    for name, op in operations(spec):
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            found = examples_of(spec, media)
            if not found:
                missing.append(f"{name} ({media_type})")
            untrue_ones += [f"{name}: {why}" for example in found
                            if (why := untrue(spec, media_type, media, example))]
            untrue_ones += [f"{name}: {why}" for example in found for why in unreal(example)]
    assert missing == [], "operations without a request example:\n" + "\n".join(missing)
    assert untrue_ones == [], "request examples the document contradicts:\n" + \
        "\n".join(untrue_ones)


def test_every_success_answer_has_a_true_example(spec: dict[str, Any]) -> None:
    missing, untrue_ones = [], []
    for name, op in operations(spec):
        for status, answer in op["responses"].items():
            if not status.startswith("2"):
                continue
            if not answer.get("content"):
                missing.append(f"{name} {status}: no media type")
            for media_type, media in answer.get("content", {}).items():
                found = examples_of(spec, media)
                if not found:
                    missing.append(f"{name} {status} ({media_type})")
                untrue_ones += [f"{name} {status}: {why}" for example in found
                                if (why := untrue(spec, media_type, media, example))]
                untrue_ones += [f"{name} {status}: {why}" for example in found
                                for why in unreal(example)]
    assert missing == [], "operations without a success example:\n" + "\n".join(missing)
    assert untrue_ones == [], "success examples the document contradicts:\n" + \
        "\n".join(untrue_ones)


def test_every_error_answer_has_an_example_and_problems_read_like_the_server(
        spec: dict[str, Any]) -> None:
    """Every 4xx/5xx documented has an example; every operation documents at least one
    `application/problem+json` answer, and a problem example has the status it is documented
    under, the problem fields, an English title and a Chinese detail. (An error answer that is
    not a problem — /readyz's 503 is the readiness verdict — is documented as what it is.)"""
    wrong = []
    for name, op in operations(spec):
        errors = {s: a for s, a in op["responses"].items() if s[0] in "45"}
        if not any(PROBLEM in a.get("content", {}) for a in errors.values()):
            wrong.append(f"{name}: documents no {PROBLEM} answer")
        for status, answer in errors.items():
            if not answer.get("content"):
                wrong.append(f"{name} {status}: no media type (a problem answer says {PROBLEM})")
            for media_type, media in answer.get("content", {}).items():
                found = examples_of(spec, media)
                if not found:
                    wrong.append(f"{name} {status}: no example ({media_type})")
                for example in found:
                    why = untrue(spec, media_type, media, example)
                    if why:
                        wrong.append(f"{name} {status}: {why}")
                    elif media_type == PROBLEM and (
                            example["status"] != int(status) or not example["title"].isascii()
                            or not CHINESE.search(example["detail"])):
                        wrong.append(f"{name} {status}: {example} (wanted status {status}, "
                                     "an English title, a Chinese detail)")
                    wrong += [f"{name} {status}: {w}" for w in unreal(example)]
    assert wrong == [], "error answers without a true example:\n" + "\n".join(wrong)


def test_the_remittance_example_lists_the_events_a_remittance_records(
        spec: dict[str, Any]) -> None:
    from domain.protocols.transfer import RemitFunds
    from tests.unit.test_transfer_origin import (
        DEST,
        ORIGIN,
        SHEET,
        TRANSFERS,
        accepted_case,
        staff,
    )

    (op,) = [op for name, op in operations(spec) if name.endswith("/remit-funds")]
    example = op["responses"]["200"]["content"]["application/json"]["example"]
    world, case = accepted_case(TRANSFERS, "pension_transfer", (ORIGIN,), DEST)
    world.transfer_out(case, ORIGIN, SHEET, remit=False)
    recorded = world.act(case, ORIGIN, RemitFunds(actor=staff(ORIGIN),
                                                  amount_fen=SHEET.amount_fen, bank_ref="R"))
    assert example["events"] == [type(e).__name__ for e in recorded]
