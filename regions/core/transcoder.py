"""The event store's JSON transcoder: the library's format, written and read with orjson.

Why: turning each event's state into JSON and back (eventsourcing's `JSONTranscoder`, the
standard library's `json` with a Python `default` and `object_hook`) was ~11 % of a node's
database thread (docs/performance.md, the fourth session's `--gil` profile). orjson does the
same work in Rust.

The bytes are the library's, unchanged, so rows written before read the same, and rows
written now read with the library's own transcoder (`tests/unit/test_orjson_transcoder.py`
holds both, byte for byte over a simulated run's events):

- encoding: orjson's compact output with non-ASCII text as UTF-8 is what the library's
  `json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)` writes for the values a store
  holds (strings, 64-bit integers, booleans, None, lists, string-keyed dicts: the payloads are
  strict, `domain.payloads`, and the store's aggregates hold nothing else). Datetimes and
  `Decimal` go through the library's registered transcodings (`{"_type_", "_data_"}`), as
  before. Anything orjson would write differently is refused by it or sent to the library's
  encoder: subclasses, dataclasses and dates pass through to `default`; a value orjson
  refuses (a key that is not a string, an integer over 64 bits) is encoded the library's way,
  and so is a state whose bytes hold `null` (orjson writes NaN and infinities as null, the
  library as `NaN`, `Infinity`; a None is rare in a stored event: 12 of 390 in a simulated run).
  One difference cannot be caught so: orjson writes a `UUID` as a bare string where the library
  writes `{"_type_": "uuid_hex", ...}`. No stored event holds one: the store's aggregates hold
  strings (`originator_id`, the one UUID of an event, is not in its state), and the payloads
  are plain JSON values (`domain.payloads`). An event attribute that is a `UUID`, or a state
  that is not a dict, is encoded the library's way; a walk of every value to look for one
  deeper down cost more than orjson saves, so a deeper one is the store's code's to avoid.
- decoding: orjson parses; the envelopes are turned back into values by the library's own
  `_decode_obj`. A state whose only envelopes are its top-level values (an event's `timestamp`)
  is finished there; anything else (an envelope deeper down, bytes orjson refuses: NaN, bad
  UTF-8; a run of 19 digits, as orjson reads an integer over 64 bits as a float) is decoded by
  the library's decoder, errors and all.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import JSONTranscoder

_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
            | orjson.OPT_PASSTHROUGH_DATACLASS)
_ENVELOPE = b'"_type_"'
#: Digits kept, every other byte a space: 19 digits in a row may be an integer over 64 bits,
#: which orjson reads as a float (the library as an int), so such bytes (or a long run of digits
#: in a string) are read the library's way. `bytes.translate` and `in`: a regular expression
#: searching for the run cost more than orjson saves.
_DIGITS = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))
_LONG_NUMBER = b"0" * 19


class OrjsonTranscoder(JSONTranscoder):
    """`JSONTranscoder`'s bytes, by orjson; registrations as the library's (`register`)."""

    def encode(self, obj: Any) -> bytes:
        if type(obj) is not dict or UUID in map(type, obj.values()):
            return super().encode(obj)
        try:
            data = orjson.dumps(obj, default=self._encode_obj, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().encode(obj)  # the library's result, or the library's error
        if b"null" in data:  # None, or a NaN or infinity orjson wrote as null
            return super().encode(obj)
        return data

    def decode(self, data: bytes) -> Any:
        if _LONG_NUMBER in data.translate(_DIGITS):
            return super().decode(data)
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return super().decode(data)
        envelopes = data.count(_ENVELOPE)
        if type(obj) is not dict:
            return super().decode(data) if envelopes else obj
        if envelopes:
            found = 0
            for key, value in obj.items():
                if type(value) is dict and "_type_" in value:
                    obj[key] = self._decode_obj(value)
                    found += 1
            if found != envelopes:  # one deeper down, or the text counted one: the library's way
                return super().decode(data)
        return self._decode_obj(obj)
