"""The query code's guarantees (issue 13): at least 40 bits, the same at every node holding the
register key and different for every case, and failed look-ups rate-limited per case and per
client address — the guesser is stopped, and so is the client guessing across cases."""

from __future__ import annotations

import math

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import applicants, problems
from api.rest import rest_router
from api.web import WebContext

KEY = b"register-key-of-the-federation"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_a_code_carries_at_least_40_bits_and_belongs_to_one_case() -> None:
    code = applicants.query_code(KEY, "150600-20261205-0000000001")
    assert set(code) <= set(CROCKFORD) and len(code) * math.log2(len(CROCKFORD)) >= 40
    assert applicants.query_code(KEY, "150600-20261205-0000000001") == code  # any node, same
    assert applicants.query_code(KEY, "150600-20261205-0000000002") != code
    assert applicants.query_code(b"another key", "150600-20261205-0000000001") != code
    assert applicants.code_matches(KEY, "150600-20261205-0000000001", code.lower())
    assert not applicants.code_matches(KEY, "150600-20261205-0000000001", "")


def client_with(throttle: applicants.Throttle) -> TestClient:
    app = FastAPI()
    problems.install(app)
    app.include_router(rest_router(WebContext("150600", throttle=throttle)))
    return TestClient(app, raise_server_exceptions=False)


def test_failed_codes_are_limited_per_case() -> None:
    throttle = applicants.Throttle(limit=3)
    client = client_with(throttle)
    number = "150600-20261205-0000000001"
    answers = [client.get(f"/api/v1/cases/{number}", headers={"X-Query-Code": f"WRONG{n:05d}"})
               .status_code for n in range(4)]
    assert answers == [403, 403, 403, 429]
    assert throttle.blocked(number) and throttle.blocked("testclient")


def test_failed_codes_are_limited_per_client_across_cases() -> None:
    client = client_with(applicants.Throttle(limit=3))
    answers = [client.get(f"/api/v1/cases/150600-20261205-000000000{n}",
                          headers={"X-Query-Code": "WRONG00000"}).status_code
               for n in range(1, 5)]
    assert answers == [403, 403, 403, 429]  # the fourth case was never tried before
