"""The envelope's JSON without the CloudEvents SDK: writing through a C encoder made once, and
reading a message of the common form directly (`regions.wire.envelope` calls both).

Why: every feed event and link message is written, and every link message read, on a node's
hot path — the feed's encoding was ~8 % of a node's CPU at burst and the link codec ~8 % of the
simulator's, most of it `json.dumps` making two encoder objects per call and the SDK's reader
(`dateutil`, a validating `CloudEvent`) repeating checks the strict envelope schemas make anyway.
Neither changes a byte or a verdict: `dumps` gives `json.dumps`' text and raises its errors, and
`read` takes only messages the SDK accepts, giving what the SDK gives
(`tests/unit/test_wire_fast_read.py`, `tests/unit/test_envelope_write.py`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from json import encoder as json_encoder
from json.encoder import encode_basestring_ascii
from typing import Any, Final, cast

from pydantic import TypeAdapter

from regions.wire.attributes import EVENT_ENVELOPE


def rules(adapter: TypeAdapter[Any]) -> dict[str, tuple[bool, dict[str, Any]]]:
    """An envelope schema's attributes as pydantic validates them: name -> (required, its rule
    in the core schema — `literal` with `expected`, `str` with `min_length` or `pattern`, `int`
    with `ge`, `datetime`). The fast checks below take their values from it, and
    `tests/unit/test_wire_plain_schema.py` holds each check to its attribute's rule, so the two
    cannot drift apart unnoticed."""
    schema = cast(dict[str, Any], adapter.core_schema)
    while schema["type"] != "typed-dict":
        schema = schema["schema"]
    return {name: (field.get("required", True), field["schema"])
            for name, field in schema["fields"].items()}


_EVENT_RULES: Final = rules(EVENT_ENVELOPE)
#: The CloudEvents version the envelope speaks and its data's content type (the schema's).
SPECVERSION: Final[str] = _EVENT_RULES["specversion"][1]["expected"][0]
DATA_CONTENT_TYPE: Final[str] = _EVENT_RULES["datacontenttype"][1]["expected"][0]


def instant_text(value: Any) -> str:
    """An instant as the SDK's JSON encoder writes it (RFC 3339, `Z` for UTC)."""
    if isinstance(value, dt.datetime):
        text = value.isoformat()
        return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _c_encoder(sort_keys: bool) -> Any:
    """`json`'s C encoder as `json.dumps(..., sort_keys=sort_keys, default=instant_text)` makes
    it (ASCII, `", "` and `": "`, NaN allowed), minus the circular-reference markers; None where
    the C accelerator is absent (`dumps` then calls `json.dumps`)."""
    make = getattr(json_encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has it
        return None
    return make(None, instant_text, json_encoder.encode_basestring_ascii, None, ": ", ", ",
                sort_keys, False, True)


_ENCODERS: Final = {flag: encoder for flag in (False, True)
                    if (encoder := _c_encoder(flag)) is not None}


def dumps(value: dict[str, Any], *, sort_keys: bool) -> str:
    """`json.dumps(value, sort_keys=sort_keys, default=instant_text)`, the same text, through
    a C encoder made once (`_ENCODERS`) rather than the two encoder objects `json.dumps` makes
    on every call: about half of what `json.dumps` cost a feed event's payload (issue 17, WIRE).
    The encoder kept keeps no circular-reference markers (they would be shared between calls
    and threads); a value it fails on — circular, too deep, not JSON — is encoded again by
    `json.dumps`, which raises exactly what it always raised."""
    encode = _ENCODERS.get(sort_keys)
    if encode is not None:
        try:
            return "".join(encode(value, 0))
        except Exception:  # json.dumps below raises the error precisely
            pass
    return json.dumps(value, sort_keys=sort_keys, default=instant_text)


#: The sorted text (`dumps(payload, sort_keys=True)`) of the shared events' payload objects
#: written last: id -> (the payload, its text). At most `PAYLOAD_TEXTS_KEPT`, then afresh.
_PAYLOAD_TEXTS: Final[dict[int, tuple[dict[str, Any], str]]] = {}
PAYLOAD_TEXTS_KEPT: Final = 1024
_SORTED: Final = _ENCODERS.get(True) or (
    lambda value, _: json.dumps(value, sort_keys=True, default=instant_text))


def payload_text(payload: dict[str, Any]) -> str:
    """`dumps(payload, sort_keys=True)`: an event's `data` on the links and on the feed, written
    once per shared event's payload object.

    Why (issue 17, PAYLOAD): a shared event's payload went out twice in the same text — in its
    feed event (`regions.wire.feed`) and in its link message (`event_written_out`) — from the
    same dict (the stored event's, which the node's feed and relay both take from its recent
    log), at ~5-8 µs of the loop's time each. Only a payload with a `to_region` goes on a link
    (`envelope.encode_payload` holds it to the destination), so only those are kept: the
    others are written once anyway and keeping them would only cost. Kept by identity with
    the payload itself, so an id is never another object's while its entry lives; exact
    because a stored payload is never changed once written (`to_payload` builds it; the store,
    the recent log, the out-link record, the relay and the feed only read it; an upcast builds
    a new one: `tests/unit/test_payload_text.py` checks a simulated run). A payload that is not
    JSON raises as `dumps` does, and is not kept."""
    shared = payload.get("to_region")
    if shared:
        found = _PAYLOAD_TEXTS.get(id(payload))
        if found is not None and found[0] is payload:
            return found[1]
    try:  # `dumps(payload, sort_keys=True)` without its call: most payloads pass here once
        text = "".join(_SORTED(payload, 0))
    except Exception:  # json.dumps raises the error precisely
        text = json.dumps(payload, sort_keys=True, default=instant_text)
    if not shared:
        return text
    keep(_PAYLOAD_TEXTS, id(payload), (payload, text), PAYLOAD_TEXTS_KEPT)
    return text


def event_written_out(a: dict[str, Any], payload: dict[str, Any]) -> bytes:
    """`regions.wire.envelope.write(a, payload)` for a link event's attributes as
    `encode_payload` makes them without the trust fields, written out: the names in sorted
    order, each value as `json`'s encoder writes it (strings escaped to ASCII by the same C
    function, integers by `int.__repr__`, the instant by `instant_text`), which the strict
    schema has made strings, integers and an instant. Why: a dict sorted and encoded per
    message cost about what the payload did."""
    text, number = encode_basestring_ascii, int.__repr__
    trace = f'"traceparent": {text(a["traceparent"])}, ' if "traceparent" in a else ""
    return (f'{{"caseid": {text(a["caseid"])}, "datacontenttype": "{DATA_CONTENT_TYPE}", '
            f'"destination": {text(a["destination"])}, "id": {text(a["id"])}, '
            f'"linkseq": {number(a["linkseq"])}, "origin": {text(a["origin"])}, '
            f'"originatorid": {text(a["originatorid"])}, '
            f'"originatorversion": {number(a["originatorversion"])}, '
            f'"process": {text(a["process"])}, "schemaversion": {number(a["schemaversion"])}, '
            f'"source": {text(a["source"])}, "specversion": "{SPECVERSION}", '
            f'"subject": {text(a["subject"])}, "time": {text(instant_text(a["time"]))}, '
            f'{trace}"type": {text(a["type"])}, "data": '
            f'{payload_text(payload)}}}').encode()


class Accepted:
    """The strings one envelope attribute held in messages its strict schema accepted, each
    with its JSON text (`encode_basestring_ascii`): a region, a process, an event type.

    Why: the attribute schemas (`regions.wire.envelope`, `regions.wire.feed`) are TypedDicts
    with a rule per attribute and none across attributes (extras ignored), so a value accepted
    in one message is accepted in any; a message whose every attribute is either a value kept
    here or plainly valid (`plain_text`, `plain_count`, an instant at a fixed offset) is one
    the schema accepts, and the writers skip its validation (pydantic's, ~4 us a message,
    with the attribute dict made for it). Anything else is validated as before, which refuses
    precisely; only then are its values kept. Bounded: past `limit` values it starts afresh."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._texts: dict[str, str] = {}

    def text(self, value: Any) -> str | None:
        """The JSON text of `value` if the schema accepted it before, else None."""
        return self._texts.get(value) if type(value) is str else None

    def add(self, value: Any) -> str:
        """Keep `value`, which the schema has just accepted; its JSON text."""
        text = encode_basestring_ascii(value)
        if type(value) is str:
            keep(self._texts, value, text, self.limit)
        return text


def keep(cache: dict[Any, Any], key: Any, value: Any, most: int) -> None:
    """`cache[key] = value`, the cache emptied first when it holds `most`: the wire's memos
    (texts, kinds, instants) are bounded so, and a full one starts afresh rather than tracking
    what was used last (a miss costs one ordinary write)."""
    if len(cache) >= most:
        cache.clear()
    cache[key] = value


def plain_text(value: Any) -> bool:
    """A non-empty ASCII `str`: what every `NonEmpty` attribute accepts (pydantic refuses a
    string with lone surrogates, which is not ASCII; other non-ASCII text is validated)."""
    return type(value) is str and value != "" and value.isascii()


def plain_count(value: Any) -> bool:
    """An `int` (not a bool) >= 1: what every count attribute (`ge=1`, strict) accepts."""
    return type(value) is int and value >= 1


def plain_instant(value: Any) -> bool:
    """An aware instant at a fixed offset (`datetime.timezone`): what `AwareDatetime` accepts."""
    return type(value) is dt.datetime and type(value.tzinfo) is dt.timezone


#: Per attribute of a link event, the values of a few (the link's ends, the source, the
#: process, the event type) that its schema (`regions.wire.attributes.EVENT_ENVELOPE`) accepted.
_EVENT_KEPT: Final = {name: Accepted() for name in ("origin", "destination", "source",
                                                     "process", "type")}
#: The schema's `traceparent` pattern without its anchors (`fullmatch` anchors, and takes no
#: trailing newline as `$` would; the schema's engine does not either); ASCII classes only, so
#: it matches what the schema's engine matches.
TRACEPARENT: Final = re.compile(
    _EVENT_RULES["traceparent"][1]["pattern"].removeprefix("^").removesuffix("$"))


#: `own_attributes_plain`'s trace context for an event that carries none (the writers leave a
#: falsy one out; a message's attributes may lack it).
NO_TRACE: Final = object()


def own_attributes_plain(case_id: Any, case_number: Any, side_id: Any, version: Any,
                         position: Any, trace: object = NO_TRACE) -> bool:
    """Whether the attributes a link or feed event holds of its own, not shared with its kind,
    are plainly ones its schema accepts: the case's id and number (`caseid`, `subject`) and its
    side's id (`originatorid`) non-empty ASCII strings, its version in the side
    (`originatorversion`) and its position (`linkseq`, `feedseq`) counts, and its trace context
    (`traceparent`) none or of the schema's pattern. The instant is `plain_instant`'s (the feed
    keeps its texts by the stored one).

    Why one predicate: the link's and the feed's writers (`regions.wire.link._written`,
    `regions.wire.feed._element`) and the link event's check (`event_attributes_accepted`)
    each wrote these tests out, so a rule changed in one would have left the others behind
    (`tests/unit/test_wire_plain_schema.py` holds them to the schema's rules)."""
    return (plain_text(case_id) and plain_text(case_number) and plain_text(side_id)
            and plain_count(version) and plain_count(position)
            and (trace is NO_TRACE
                 or (type(trace) is str and TRACEPARENT.fullmatch(trace) is not None)))


def event_attributes_accepted(a: dict[str, Any]) -> bool:
    """Whether the link event schema surely accepts attributes `a` (False: ask it). Yes when
    every required attribute is there and plainly valid — `specversion` "1.0", the kept values,
    the event's own (`own_attributes_plain`), its `id` a non-empty ASCII string, its schema a
    count, an instant at a fixed offset — and the optional ones are absent or plainly valid
    (the trust attributes, not sent yet, are always asked about); extras are ignored, as the
    schema ignores them. Why: pydantic took ~4 us a message, encoding and decoding."""
    kept = _EVENT_KEPT
    try:
        if not (type(a["specversion"]) is str and a["specversion"] == SPECVERSION
                and kept["origin"].text(a["origin"]) is not None
                and kept["destination"].text(a["destination"]) is not None
                and kept["source"].text(a["source"]) is not None
                and kept["process"].text(a["process"]) is not None
                and kept["type"].text(a["type"]) is not None
                and own_attributes_plain(a["caseid"], a["subject"], a["originatorid"],
                                         a["originatorversion"], a["linkseq"],
                                         a.get("traceparent", NO_TRACE))
                and plain_text(a["id"]) and plain_count(a["schemaversion"])
                and plain_instant(a["time"])):
            return False
    except KeyError:
        return False
    if "datacontenttype" in a and not (type(a["datacontenttype"]) is str
                                       and a["datacontenttype"] == DATA_CONTENT_TYPE):
        return False
    return "receiptof" not in a and "prevhash" not in a and "keyid" not in a and "sig" not in a


def event_attributes_kept(a: dict[str, Any]) -> None:
    """Keep the few values of attributes `a` the schema has just accepted."""
    for name, accepted in _EVENT_KEPT.items():
        accepted.add(a[name])


#: The attribute names the CloudEvents SDK knows (v1.0); any other is an extension attribute,
#: whose name it requires to be lower-case letters and digits.
_SDK_ATTRIBUTES: Final = frozenset({"id", "source", "type", "specversion", "datacontenttype",
                                    "dataschema", "subject", "time"})
_EXTENSION_NAME: Final = re.compile(r"[a-z0-9]+")
#: Names surely accepted: the SDK's own, and the link event envelope's that the extension
#: pattern takes (matched once, here). A link message's names are all of these, so `read_parsed`
#: matches none one by one (that loop was ~2 us of its ~4 us a message).
_KNOWN_NAMES: Final = _SDK_ATTRIBUTES | frozenset(
    name for name in _EVENT_RULES if _EXTENSION_NAME.fullmatch(name))
#: An instant as our writers write it (`instant_text`, `isoformat`): whole or microsecond
#: seconds, `Z` or a `±hh:mm` offset. On these, `datetime.fromisoformat` and the SDK's
#: `dateutil.isoparse` agree (the same instant; `tests/unit/test_wire_fast_read.py`).
_PLAIN_TIME: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])")


def read(data: bytes | str) -> tuple[dict[str, Any], Any] | None:
    """What `regions.wire.envelope.read` gets from the SDK for a message of the common form, or
    None when the message is not of it (then the SDK reads it, and refuses it if it must).

    Why: the SDK read a link message in ~25 µs — `dateutil`'s parser for `time`, a
    `CloudEvent` whose constructor checks every attribute with regular expressions — of which
    the strict checks after it (`check_attributes`, `event_from`) repeat most. The common form:
    a UTF-8 JSON object whose `data` is an object; `specversion` "1.0"; `id`, `source`, `type`
    non-empty strings; `time` a string of `_PLAIN_TIME`; `subject`, `datacontenttype`,
    `dataschema`, where present, non-empty strings; every other name an extension name the SDK
    accepts. That is every check the SDK (and `_strict`) makes of such a message, so one read
    here is one the SDK accepts, with the same attributes (the instant equal, its zone
    `datetime.UTC` or a fixed offset where `dateutil` gives its own) and the same data; the
    checks after `read` are unchanged."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        if not isinstance(text, str):
            return None
        parsed = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return None
    return read_parsed(parsed)


def read_parsed(parsed: Any) -> tuple[dict[str, Any], Any] | None:
    """`read` of a message already parsed (`json.loads` of its text): a batch's member, which
    the parse that split the array read already (`regions.wire.link.decode_all`). Takes
    `parsed` over: its `data` is popped and its `time` replaced."""
    if type(parsed) is not dict:
        return None
    payload = parsed.pop("data", None)
    at = parsed.get("time")
    if type(payload) is not dict or type(at) is not str or not _PLAIN_TIME.fullmatch(at) \
            or parsed.get("specversion") != SPECVERSION:
        return None
    for name in ("id", "source", "type"):
        value = parsed.get(name)
        if type(value) is not str or not value:
            return None
    for name in ("subject", "datacontenttype", "dataschema"):
        if name in parsed:
            value = parsed[name]
            if type(value) is not str or not value:
                return None
    if not _KNOWN_NAMES.issuperset(parsed):
        for name in parsed:
            if name not in _SDK_ATTRIBUTES and not _EXTENSION_NAME.fullmatch(name):
                return None
    try:
        parsed["time"] = dt.datetime.fromisoformat(at)
    except ValueError:
        return None
    return parsed, payload
