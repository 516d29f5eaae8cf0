"""A multipart/form-data body read with the standard library, bounded before it is parsed.

Why not python-multipart: one file field per missing material on one page is all the pages
take, and the standard library's MIME parser reads that exactly (binary bytes intact, UTF-8
file names); a body over the cap is refused while it streams in, so a huge upload never sits
in memory whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.parser import BytesParser

from fastapi import Request


class TooLarge(Exception):
    """The body is over the cap (the page says how much it takes)."""


@dataclass(frozen=True)
class Upload:
    filename: str
    media_type: str
    data: bytes


async def read_multipart(request: Request, cap: int) -> tuple[dict[str, str], dict[str, Upload]]:
    """The text fields (first value each, 200 characters) and the files (empty ones left out)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return {}, {}
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise TooLarge(f"the body is over {cap} bytes")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + bytes(body))
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            fields.setdefault(name, data.decode("utf-8", errors="replace")[:200])
        elif data:
            files.setdefault(name, Upload(filename[:200], part.get_content_type(), data))
    return fields, files
