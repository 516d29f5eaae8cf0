"""A lone surrogate sent to the HTTP API is refused with a 4xx problem naming where it was, on
every operation the node's OpenAPI document lists — never a 500, never echoed.

Why it matters: JSON may escape a UTF-16 half (`"\\ud800"`) that no UTF-8 text can hold; a route
that echoed it in its answer, stored it (PostgreSQL refuses it in `text` and `jsonb`) or logged
it would fail with a 500 after, or while, acting on it.

Why no gate of the API's own: the request's validation refuses it already, before any handler
runs. pydantic hands a `str` to its Rust core, which cannot hold a lone surrogate, so every `str`
field, key and `Literal` answers `string_unicode` ("unable to parse raw data as a unicode
string"), and the problem names the field (a key: `body`) without echoing the value. The query
and the path cannot carry one at all: the server percent-decodes them with U+FFFD for what is
not UTF-8 (`%ED%A0%80` is three of them) and answers 400 to raw bytes that are not ASCII. These
tests pin all of that, so an upgrade of pydantic, FastAPI or uvicorn that let one through fails
here first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import problems
from api.http import HttpServer, bind
from api.node import api_routers
from api.staff import ROLES, TokenFile
from api.web import WebContext

HOME = "150600"
NUMBER = "150600-20261205-0000000001"
LONE = "\ud800"
PATHS = {"{case_number}": NUMBER, "{number}": NUMBER, "{item_id}": "b1-7", "{doc_id}": "d1"}


def app_with_staff(tmp: Path) -> tuple[FastAPI, dict[str, str]]:
    """Every router the node serves, with a staff token of each role of this region, so a staff
    operation gets as far as reading its body (no node runs: nothing valid is ever done)."""
    file = tmp / "staff.json"
    now = dt.datetime.now(dt.UTC)
    tokens = {role: TokenFile(file).issue(HOME, role, f"{role[0].upper()}0001", 1, now)
              for role in ROLES}
    config = SimpleNamespace(staff_tokens=file, region=HOME, register_key="k" * 32,
                             peers=(HOME, "610800"))
    context = WebContext(HOME, status=SimpleNamespace(config=config, views=None, driver=None))
    app = FastAPI(openapi_url="/openapi.json")
    problems.install(app)
    for router in api_routers(context):
        app.include_router(router)
    return app, tokens


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app, tokens = app_with_staff(tmp_path_factory.mktemp("surrogates"))
    yield TestClient(app, raise_server_exceptions=False), tokens


def example_body(spec: dict[str, Any], op: dict[str, Any]) -> Any:
    """The operation's own documented JSON example (what a valid request looks like)."""
    content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    found = schema.get("examples") or ([content["example"]] if "example" in content else [])
    return found[0] if found else None


def spoiled(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Each way to put a lone surrogate in `value`: after any string, or as an added key."""
    if isinstance(value, str):
        yield ".".join(path), value + LONE
    elif isinstance(value, dict):
        yield ".".join(path) or "body", {**value, "k" + LONE: "x"}
        for key, inner in value.items():
            for where, changed in spoiled(inner, (*path, key)):
                yield where, {**value, key: changed}
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            for where, changed in spoiled(inner, (*path, str(i))):
                yield where, [*value[:i], changed, *value[i + 1:]]


def role_for(path: str) -> str:
    if any(step in path for step in ("proxy-applications", "/forward", "/hand-over")):
        return "window"
    return "department" if path.startswith("/api/v1/staff/") else "supervisor"


def refused(answer: Any) -> dict[str, Any]:
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith(problems.MEDIA_TYPE), answer.text
    body: dict[str, Any] = answer.json()
    assert LONE not in json.dumps(body, ensure_ascii=False)  # not echoed, not even escaped
    return body


def test_a_lone_surrogate_anywhere_in_a_json_body_is_a_422_naming_its_field(
        api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    spec = client.get("/openapi.json").json()
    tried = set()
    for template, item in spec["paths"].items():
        for method, op in item.items():
            body = example_body(spec, op)
            if body is None:
                continue
            path = template
            for name, value in PATHS.items():
                path = path.replace(name, value)
            headers = {"Idempotency-Key": "k" * 10, "X-Query-Code": "X" * 10,
                       "Content-Type": "application/json",
                       "Authorization": f"Bearer {tokens[role_for(template)]}"}
            for where, changed in spoiled(body):
                answer = client.request(method.upper(), path, content=json.dumps(changed),
                                        headers=headers)
                problem = refused(answer)
                assert (answer.status_code, problem["code"]) == (422, "invalid_request"), \
                    (method, template, where, answer.text)
                assert where in {e["field"] for e in problem["errors"]}, (template, where)
                tried.add(f"{method.upper()} {template}")
    # the applicant's, the staff's and the consultations' writes are all here
    assert {"POST /api/v1/applications", "POST /api/v1/cases/{case_number}/rating",
            "POST /api/v1/consultations", "POST /api/v1/staff/cases/{case_number}/info-sheet",
            "POST /api/v1/staff/consultations/{number}/reply"} <= tried
    assert len(tried) >= 20


APPLICATION = {"item_id": "b1-7" + LONE, "applicant_id": "120101197601310292",
               "origin": "610800"}


@pytest.mark.parametrize("raw", [
    json.dumps(APPLICATION, ensure_ascii=False).encode("utf-8", "surrogatepass"),
    json.dumps(APPLICATION, ensure_ascii=False).encode("utf-16", "surrogatepass")],
    ids=["utf-8 bytes of a surrogate", "utf-16 body"])
def test_a_surrogate_as_raw_bytes_of_the_body_is_a_422_naming_its_field(
        api: tuple[TestClient, dict[str, str]], raw: bytes) -> None:
    """`json.loads` decodes a body's bytes with `surrogatepass` (and takes UTF-16 too), so the
    bytes ED A0 80 arrive as the same lone surrogate an escape does: refused the same way."""
    client, _ = api
    answer = client.post("/api/v1/applications", content=raw,
                         headers={"Idempotency-Key": "k" * 10,
                                  "Content-Type": "application/json"})
    assert (answer.status_code, refused(answer)["field"]) == (422, "item_id"), answer.text


@pytest.mark.parametrize("target", [
    "/api/v1/items/%ED%A0%80", "/api/v1/items/%5Cud800", "/api/v1/cases/%ED%A0%80",
    "/api/v1/cases/%ED%A0%80/rating", "/api/v1/consultations/%ED%A0%80",
    "/api/v1/staff/cases/%ED%A0%80", "/api/v1/supervision/joint-cases/%ED%A0%80",
    "/api/v1/staff/audit?case_number=%ED%A0%80", "/api/v1/staff/materials?title=%ED%A0%80"])
def test_a_surrogate_in_a_path_or_query_is_a_4xx_problem(
        api: tuple[TestClient, dict[str, str]], target: str) -> None:
    client, tokens = api
    method = "POST" if target.endswith(("rating", "title=%ED%A0%80")) else "GET"
    role = "supervisor" if "audit" in target or "supervision" in target else "department"
    answer = client.request(method, target, json={"score": 5},
                            headers={"X-Query-Code": "X" * 10, "Idempotency-Key": "k" * 10,
                                     "Authorization": f"Bearer {tokens[role]}"})
    if answer.status_code == 503:  # past every check of the request: only no node runs here
        assert answer.json()["code"] == "unavailable", answer.text
        return
    refused(answer)


def test_raw_bytes_of_a_surrogate_in_the_request_line_are_refused_by_the_server(
        tmp_path: Path) -> None:
    """Over a socket to the real server: non-ASCII bytes in the target never reach a route
    (400), and their percent-escapes arrive as U+FFFD (a 4xx problem, not a 500)."""
    app, _ = app_with_staff(tmp_path)

    async def ask(targets: list[bytes]) -> list[bytes]:
        server = HttpServer(app, bind("127.0.0.1:0"))
        await server.start()
        host, port = server.address.rsplit(":", 1)
        answers = []
        try:
            for target in targets:
                reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
                             b"X-Query-Code: XXXXXXXXXX\r\nConnection: close\r\n\r\n")
                await writer.drain()
                answers.append(await asyncio.wait_for(reader.read(), 10))
                writer.close()
        finally:
            await server.stop()
        return answers

    raw = [b"/api/v1/items/\xed\xa0\x80", b"/api/v1/cases/\xed\xa0\x80",
           b"/api/v1/items?q=\xed\xa0\x80"]
    escaped = [b"/api/v1/items/%ED%A0%80", b"/api/v1/cases/%ED%A0%80",
               b"/api/v1/consultations/%ED%A0%80"]
    answers = asyncio.run(ask(raw + escaped))
    for target, answer in zip(raw + escaped, answers, strict=True):
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 500, (target, answer[:200])
        if target in raw:
            assert status == 400, (target, answer[:200])
        else:
            assert problems.MEDIA_TYPE.encode() in answer, (target, answer[:200])
