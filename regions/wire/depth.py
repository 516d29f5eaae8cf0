"""The nesting bound every reader checks on a message's bytes before it parses them.

Why before: Python's `json` recurses once a level and raises `RecursionError`, not
`ValueError`, past ~1000 levels; at that depth a finalizer the garbage collector runs fails
(an unraisable exception — tests/unit/test_link_batch_depth.py), and every later walk of the
value would recurse again. So `envelope.read`, the feed's `decode` and a link batch's split
(`regions.wire.link`) each check the text first. Its own module because the check is exact
on any text and its quick ways need their reasons beside them.
"""

from __future__ import annotations

import re
from typing import Final

from domain.payloads import MAX_DEPTH
from regions.wire.errors import WireError, WireReason

#: Deepest JSON nesting a message may have, checked on the bytes before any parser recurses.
#: Generous on purpose: a payload's own bound (`domain.payloads.MAX_DEPTH`) is checked after
#: the envelope is read, so a message nested between the two is refused *with* its link
#: position and its link steps over it.
MAX_WIRE_DEPTH: Final = 4 * MAX_DEPTH
#: A JSON string, escapes and all: what the rule skips (leftmost first, on any text).
_STRINGS: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


def check_depth(data: bytes | str, limit: int = MAX_WIRE_DEPTH) -> None:
    """`WireError(too_deep)` when the JSON text nests deeper than `limit` (strings skipped).

    Exact for any text, JSON or not: refused exactly when some prefix of the text outside its
    strings (`_STRINGS`, leftmost first) opens more than `limit` brackets beyond those it
    closes — `scan_depth`, the rule itself, which decides what the quick ways below leave open
    (tests/property/test_wire_depth.py holds them to the rule's first form). Why quick ways:
    a link batch of hundreds of members has far more brackets than `limit` (the count settles
    only small messages), and matching each of its thousands of strings with the regex, then
    stepping through its brackets in Python, cost ~25 us an event at the inbox
    (docs/performance.md). Here a batch costs a few passes of C over its bytes: its quotes and
    brackets kept (`translate`), the strings cut out of them (`_unquoted`), the levels peeled
    (`_nests_within`)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    # A small message is counted as it is (a copy costs more than it saves); a large one's
    # marks are made first and counted, shorter.
    marks = raw if len(raw) < _SMALL else raw.translate(None, _NOT_MARKS)
    if marks.count(b"{") + marks.count(b"[") <= limit:
        return  # most messages: too few brackets to nest that deep, whatever the strings hold
    if marks is raw:
        marks = raw.translate(None, _NOT_MARKS)
    outside = _STRINGS.sub(b'""', raw) if _ESCAPES.search(raw) else _unquoted(marks)
    brackets = outside.translate(_AS_SQUARE, _NOT_BRACKETS)
    if not _nests_within(brackets, limit):
        scan_depth(brackets, limit)


_SMALL: Final = 4096
#: Every byte but a quote or a bracket (deleted: what is left settles where strings are, when
#: no escape can hide a quote — `_unquoted`).
_NOT_MARKS: Final = bytes(b for b in range(256) if b not in b'"[]{}')
#: Every byte but a bracket (deleted), and the braces written as square brackets (the rule
#: counts levels, whatever their kind: a mismatch is the parser's to refuse).
_NOT_BRACKETS: Final = bytes(b for b in range(256) if b not in b"[]{}")
_AS_SQUARE: Final = bytes.maketrans(b"{}", b"[]")
#: What `_STRINGS` may read otherwise than "a quote to the next quote": a backslash before a
#: quote (an escaped quote, or an escaped backslash ending a string: either way the regex's
#: way), and a backslash before a newline, where its match fails.
_ESCAPES: Final = re.compile(rb'\\["\n]')


def _unquoted(marks: bytes) -> bytes:
    """The brackets outside the strings of a text whose quotes and brackets are `marks`, when
    it has no `_ESCAPES`: then a string is a quote to the next quote whatever it holds, and
    outside them is every other piece between quotes, and after an unpaired last quote the
    rest. Two quotes in a row (the last unpaired one set apart) are dropped first, all at once
    (`replace`: no split into thousands of pieces): an empty string, or two strings with no
    bracket between made one, either way no bracket outside lost and every quote left paired
    as it was."""
    quotes = marks.count(b'"')
    if not quotes:
        return marks
    rest = b""
    if quotes % 2:
        last = marks.rindex(b'"')
        marks, rest = marks[:last], marks[last + 1:]
    return b"".join(marks.replace(b'""', b"").split(b'"')[::2]) + rest


#: Length of a text past which a pass must remove a quarter of it, or the passes stop.
_THIN: Final = 1024


def _nests_within(brackets: bytes, limit: int) -> bool:
    """True when `brackets` (only `[` and `]`) is balanced and nests at most `limit` deep;
    False when that is not settled here. Each pass removes every innermost pair `[]`: a
    balanced text k deep becomes one k - 1 deep (every deepest opening is followed by its
    closing, and no other level changes), so it is empty after exactly k passes. A pass that
    removes nothing from a text not empty means it is unbalanced: for `scan_depth`.

    A pass over a long text that removes less than a quarter of it stops the passes too: JSON
    as written sheds most of its brackets a pass, while a thin deep text (a peer's thousands
    of `[`, or a sawtooth climbing past the bound) would take `limit` passes over nearly all
    of it — there `scan_depth` refuses at the first level past the bound, a few brackets in.
    So the passes cost at most ~4 times the text, plus `limit` passes of `_THIN` bytes."""
    for _ in range(limit):
        if not brackets:
            return True
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets) or (
                len(shorter) > _THIN and 4 * len(shorter) > 3 * len(brackets)):
            return False
        brackets = shorter
    return not brackets


def scan_depth(brackets: bytes, limit: int) -> None:
    """The rule, bracket by bracket (`[` opens, `]` closes: `_AS_SQUARE`'s text): refused when
    the levels open exceed `limit` at any point (closings beyond the openings count below 0)."""
    depth = 0
    for bracket in brackets:
        if bracket == 91:  # [
            depth += 1
            if depth > limit:
                raise WireError(WireReason.TOO_DEEP, f"JSON nested deeper than {limit} levels")
        else:
            depth -= 1
