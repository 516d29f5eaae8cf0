"""The committed asyncapi.yaml documents the document request/reply exactly as it is encoded."""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from regions.contract.asyncapi import DEFAULT_PATH
from regions.core.documents import ERROR_CODES, DocError, DocRequest
from regions.wire import subjects
from regions.wire.documents import DocChunk, encode_chunk, encode_error, encode_request

SHA = "ab" * 32


@functools.cache
def committed() -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(DEFAULT_PATH.read_text(encoding="utf-8"),
                                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return document


def payload(name: str) -> Draft7Validator:
    return Draft7Validator(committed()["components"]["messages"][name]["payload"])


def test_the_documents_channel_is_the_subject_grammars() -> None:
    channel = committed()["channels"]["regionDocuments"]
    assert channel["address"].replace("{region}", "150600") == \
        subjects.materials_subject("150600")
    serve = committed()["operations"]["serveDocuments"]
    assert serve["bindings"]["nats"]["queue"] == "tb_doc_{region}"


def test_an_encoded_request_is_a_documented_request() -> None:
    body = json.loads(encode_request(DocRequest("610800", str(uuid.uuid4()),
                                                    f"sha256:{SHA}", 524288)))
    assert list(payload("DocumentRequest").iter_errors(body)) == []
    assert list(payload("DocumentRequest").iter_errors({**body, "extra": 1})) != []


@pytest.mark.parametrize("reply", [
    encode_chunk(DocChunk(f"sha256:{SHA}", SHA, "application/pdf", 3, 0, b"%PD")),
    *(encode_error(DocError(code, "why", "doc_id")) for code in ERROR_CODES),  # type: ignore[arg-type]
])
def test_every_encoded_reply_is_a_documented_reply(reply: bytes) -> None:
    assert list(payload("DocumentReply").iter_errors(json.loads(reply))) == []
