"""The pages' multipart reader: binary files intact with UTF-8 names, text fields, empty file
fields left out, and a body over the cap refused."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from api.web.uploads import TooLarge, read_multipart


def client(cap: int) -> TestClient:
    app = FastAPI()

    @app.post("/")
    async def upload(request: Request) -> dict[str, Any]:
        try:
            fields, files = await read_multipart(request, cap)
        except TooLarge:
            return {"too_large": True}
        return {"fields": fields, "files": {k: [f.filename, f.media_type, f.data.hex()]
                                            for k, f in files.items()}}
    return TestClient(app)


def test_files_and_fields_come_back_as_sent() -> None:
    blob = os.urandom(3000) + b"\r\n--boundary"
    answer = client(10_000).post("/", data={"key": "k1"}, files={
        "file-0": ("身份证.pdf", blob, "application/pdf")}).json()
    assert answer["fields"] == {"key": "k1"}
    assert answer["files"] == {"file-0": ["身份证.pdf", "application/pdf", blob.hex()]}


def test_a_body_over_the_cap_is_refused() -> None:
    answer = client(1000).post("/", files={"file-0": ("a.pdf", b"x" * 2000, "application/pdf")})
    assert answer.json() == {"too_large": True}


def test_a_form_that_is_not_multipart_has_nothing() -> None:
    assert client(1000).post("/", data={"a": "b"}).json() == {"fields": {}, "files": {}}


def test_a_file_field_left_empty_is_no_file() -> None:
    body = (b'--b\r\nContent-Disposition: form-data; name="file-0"; filename=""\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n")
    answer = client(1000).post("/", content=body,
                               headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert answer.json() == {"fields": {}, "files": {}}
