"""The applicant's and the answering staff's operations without a running node: every write
answers an anonymous empty POST with a 4xx problem+json, never 2xx or 5xx; the OpenAPI document
lists them with examples."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import problems
from api.applicant_actions import applicant_actions_router
from api.consultations import consultations_router
from api.web import WebContext

N = "150600-20261205-0000000001"
WRITES = [f"/api/v1/cases/{N}/rating", f"/api/v1/cases/{N}/supplement", "/api/v1/consultations",
          f"/api/v1/staff/consultations/{N}/reply"]


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI(openapi_url="/openapi.json")
    problems.install(app)
    context = WebContext("150600")
    for router in (applicant_actions_router, consultations_router):
        app.include_router(router(context))
    return TestClient(app, raise_server_exceptions=False)


def problem(answer: Any) -> dict[str, Any]:
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["title"] and body["detail"] and body["code"]
    return body


@pytest.mark.parametrize("path", WRITES)
def test_an_anonymous_empty_post_is_a_4xx_problem(client: TestClient, path: str) -> None:
    problem(client.post(path))


def test_a_rating_out_of_range_names_the_field(client: TestClient) -> None:
    body = problem(client.post(f"/api/v1/cases/{N}/rating", json={"score": 6},
                               headers={"X-Query-Code": "X" * 10, "Idempotency-Key": "k" * 10}))
    assert body["field"] == "score"


def test_without_a_node_the_query_code_is_refused_and_nothing_crashes(client: TestClient) -> None:
    answer = client.post(f"/api/v1/cases/{N}/rating", json={"score": 5},
                         headers={"X-Query-Code": "X" * 10, "Idempotency-Key": "k" * 10})
    assert problem(answer)["field"] == "X-Query-Code"
    consult = client.post("/api/v1/consultations", headers={"Idempotency-Key": "k" * 10},
                          json={"kind": "consult", "subject": "材料", "text": "要带什么？"})
    assert consult.status_code == 503
    staff = client.get("/api/v1/staff/consultations")
    assert problem(staff)["code"] == "unauthenticated"


def test_openapi_lists_every_new_operation_with_an_example(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operations = {(method.upper(), path) for path, item in spec["paths"].items()
                  for method in item}
    assert {("POST", "/api/v1/cases/{case_number}/rating"),
            ("POST", "/api/v1/cases/{case_number}/supplement"),
            ("POST", "/api/v1/consultations"), ("GET", "/api/v1/consultations/{number}"),
            ("GET", "/api/v1/staff/consultations"),
            ("POST", "/api/v1/staff/consultations/{number}/reply"),
            ("GET", "/api/v1/supervision/complaints")} <= operations
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            ok = operation["responses"].get("200") or operation["responses"].get("201")
            assert "example" in ok["content"]["application/json"], (method, path)
