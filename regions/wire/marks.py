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
    # Each of the mark's fields is read once — destination (1), origin (2), link_seq (3), its
    # instant's date and time as the id writes them (4-10) — and every other place the
    # canonical form writes a field is a back-reference to it: a match is consistent by
    # construction, so `decode` need not write the mark again to compare (see there).
    rb'\{"datacontenttype": "application/json", "destination": "([0-9]{6})", "id": "hwm\.'
    rb'([0-9]{6})\.\1\.(0|[1-9][0-9]{0,17})\.([1-9][0-9]{3})([0-9]{2})([0-9]{2})T([0-9]{2})'
    rb'([0-9]{2})([0-9]{2})\.([0-9]{6})Z", "origin": "\2", "source": "/tongban/regions/\2", '
    rb'"specversion": "1\.0", "time": "(\4-\5-\6T\7:\8:\9(\.\10)?)Z", '
    rb'"type": "cn\.tongban\.link\.HighWaterMark", "data": \{"at": "\11\+00:00", '
    rb'"destination": "\1", "link_seq": \3, "origin": "\2"\}\}')
#: A whole second: `isoformat` writes no fraction, the id `.000000`.
_WHOLE: Final = b"000000"


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
    """The mark `data` is the canonical form of, or None (decode it the generic way).

    `data` is `encode(mark)` exactly when the pattern matches (every repeated field equal to
    its first writing, the id's instant the one `time` and `at` write), the instant's fraction
    is written as `isoformat` writes it (none for a whole second, else all six digits), the
    instant is a real one and the mark is valid (its regions, its link). Checking that instead
    of writing the mark again and comparing (as before) took half of a mark's decoding; years
    before 1000 (whose id `strftime` may write unpadded) go the generic way. Held to the old
    check by `tests/unit/test_marks_fast_path.py`."""
    raw = data.encode() if isinstance(data, str) else data
    found = _CANONICAL.fullmatch(raw)
    if found is None or (found[12] is None) != (found[10] == _WHOLE):
        return None
    try:
        at = dt.datetime.fromisoformat(found[11].decode() + "+00:00")
        return HighWaterMark(found[2].decode(), found[1].decode(), int(found[3]), at)
    except (DomainError, ValueError, TypeError):  # InvalidValue, a bad date
        return None
