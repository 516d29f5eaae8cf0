"""High-water marks in their canonical bytes, without the CloudEvents SDK: the links' hot path.

Why: every relay announces every link's mark on each heartbeat, so marks are most messages on
the links (in a simulation, hundreds per case), and building each through the SDK (attribute
validation, `dateutil`, a generic JSON encoder) and reading it back cost most of the codec's
time. A mark has four fields and one layout, so this module writes the exact bytes
`regions.wire.control.encode_control` writes through the SDK, and reads a message only when it
is byte for byte that canonical form of a valid mark: it parses the fields, builds the mark
(which checks its link and instant) and re-encodes it; anything else — another layout, another
key order, a bad region, an inconsistent id — returns None and goes the generic way, which
gives the precise refusal. So the fast path never accepts what the generic one refuses, and
never yields another message than it would (`tests/unit/test_marks_fast_path.py` holds the
two paths to the same bytes and the same messages).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from domain.kernel import DomainError
from regions.core.messages import HighWaterMark

_ZERO: Final = dt.timedelta(0)
_CANONICAL: Final = re.compile(
    rb'\{"datacontenttype": "application/json", "destination": "([0-9]{6})", "id": "[^"]*", '
    rb'"origin": "([0-9]{6})", "source": "/tongban/regions/[0-9]{6}", "specversion": "1\.0", '
    rb'"time": "[^"]*", "type": "cn\.tongban\.link\.HighWaterMark", "data": \{"at": '
    rb'"([0-9T:.+\-]{19,40})", "destination": "[0-9]{6}", "link_seq": (0|[1-9][0-9]{0,17}), '
    rb'"origin": "[0-9]{6}"\}\}')


def encode(mark: HighWaterMark) -> bytes | None:
    """The canonical bytes of `mark`, or None when its instant is not in UTC (the generic
    encoder then writes it: a UTC offset renders differently)."""
    at = mark.at
    if at.utcoffset() != _ZERO:
        return None
    text = at.isoformat()
    if not text.endswith("+00:00"):
        return None
    d, o = mark.destination, mark.origin  # one f-string: `str.format` by keyword cost more
    return (f'{{"datacontenttype": "application/json", "destination": "{d}", "id": '
            f'"{mark.id}", "origin": "{o}", "source": "/tongban/regions/{o}", '
            f'"specversion": "1.0", "time": "{text[:-6]}Z", '
            f'"type": "cn.tongban.link.HighWaterMark", "data": {{"at": "{text}", '
            f'"destination": "{d}", "link_seq": {mark.link_seq}, "origin": "{o}"}}}}').encode()


def decode(data: bytes | str) -> HighWaterMark | None:
    """The mark `data` is the canonical form of, or None (decode it the generic way)."""
    raw = data.encode() if isinstance(data, str) else data
    found = _CANONICAL.fullmatch(raw)
    if found is None:
        return None
    destination, origin, at, seq = (g.decode() for g in found.groups())
    try:
        mark = HighWaterMark(origin, destination, int(seq), dt.datetime.fromisoformat(at))
    except (DomainError, ValueError, TypeError):  # InvalidValue, a bad date
        return None
    return mark if encode(mark) == raw else None
