"""The event store's rows with less Python than the library's generic path: the same objects,
the same stored bytes.

Why (issue 17, docs/performance.md "The event store's row"): each of a case's ~37 stored rows
went through eventsourcing's generic plumbing — `trigger_event`/`_create` building the domain
event by a frozen dataclass's `__init__` (one `object.__setattr__` per field), the mapper's JSON
through `json.JSONEncoder.encode` (a new C encoder per call) with the event's `timestamp` handed
to a Python `default`, and a frozen `StoredEvent`, `Notification` and `Recording` per row. Each
is a few microseconds; together they were a sixth of a node's commit path.

What stays the library's, by construction and by test (`tests/unit/test_rows.py`: every event
class of a simulated run, byte for byte against the library's own mapper and constructors):
- the event's attributes and their order: built in the dataclass's field order, which is checked
  against `dataclasses.fields` when a class is first used (a library upgrade that adds a field
  fails loudly, not silently);
- the stored state: the same dict, the same C encoder (`json.encoder.c_make_encoder`) with the
  library's separators, `ensure_ascii=False` and its `default`; only the top-level `timestamp`
  is handed over already transcoded — the `{"_type_": …, "_data_": …}` the library's `default`
  returns for it, from the transcoding registered for its exact type, kept for the last instant
  (a unit of work's events share theirs). Anything else non-JSON still goes through `default`;
- compression and the cipher, applied as the library applies them; a transcoder that is not the
  library's `JSONTranscoder` (or a Python without the C encoder) goes the library's way whole.
The one difference: no circular-reference bookkeeping (a cycle in a payload raises
`RecursionError` instead of `ValueError`; either way nothing is stored, and payloads are trees
built by `to_payload`).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Sequence
from json import encoder as json_encoder
from typing import Any
from uuid import UUID

from eventsourcing.domain import (
    Aggregate,
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    DomainEvent,
    _init_mentions_id,
)
from eventsourcing.persistence import (
    EventStore as LibraryEventStore,
)
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    Notification,
    Recording,
    StoredEvent,
    Transcoder,
)
from eventsourcing.utils import get_topic, resolve_topic

_new = object.__new__
_set = object.__setattr__
#: Each class built here: its fields, in its `__init__`'s order.
_fields: dict[type, tuple[str, ...]] = {}

#: The common attributes of every aggregate event, in the library's field order.
BASE = ("originator_id", "originator_version", "timestamp")


def frozen(cls: type, state: dict[str, Any]) -> Any:
    """An instance of the frozen dataclass `cls` holding `state` (keys in field order), built as
    the library's mapper builds the events it reads (`object.__new__`, the `__dict__` set)."""
    obj: Any = _new(cls)
    _set(obj, "__dict__", state)
    return obj


def _check(cls: type, state: dict[str, Any]) -> None:
    """`state` must be what `cls.__init__` would set, in its order, and `cls` must validate no
    more than `DomainEvent.__post_init__` (repeated by the callers)."""
    names = _fields.get(cls)
    if names is None:
        names = tuple(field.name for field in dataclasses.fields(cls))
        if issubclass(cls, DomainEvent) and cls.__post_init__ is not DomainEvent.__post_init__:
            raise TypeError(f"{cls.__qualname__} validates more than DomainEvent does")
        _fields[cls] = names
    if tuple(state) != names:
        raise TypeError(f"{cls.__qualname__}: fields {names}, built with {tuple(state)}")


def _event(cls: type, state: dict[str, Any]) -> Any:
    if _fields.get(cls) != tuple(state):  # every call: two call sites may differ
        _check(cls, state)
    if not isinstance(state["originator_id"], UUID):  # DomainEvent.__post_init__
        raise TypeError(f"{cls} was initialized with a non-UUID originator_id: "
                        f"{state['originator_id']!r}")
    return frozen(cls, state)


def trigger(aggregate: Aggregate, cls: type, timestamp: Any, **fields: Any) -> None:
    """`aggregate.trigger_event(cls, timestamp=timestamp, **fields)` for this package's own event
    classes (no explicit `TOPIC`, a timestamp always given): the next event, built, applied as
    the library's `mutate` applies it and left pending. `fields` in the class's field order.

    The library's `mutate` checks that the event is the aggregate's and next in its sequence
    (true by construction here: both taken from the aggregate), calls `apply`, and sets the
    version and the modified time through their property setters; this does the same without
    the checks and the setters, for an event class whose `mutate` is the library's and an
    aggregate whose `version`/`modified_on` are the library's (`_plain_mutate`, checked once per
    pair of classes; any other goes the library's way)."""
    version = aggregate._version + 1
    state = {"originator_id": aggregate._id, "originator_version": version,
             "timestamp": timestamp}
    state.update(fields)
    event = _event(cls, state)
    if _plain_mutate(type(aggregate), cls):
        event.apply(aggregate)
        attributes = aggregate.__dict__
        attributes["_version"] = version
        attributes["_modified_on"] = timestamp
    else:
        event.mutate(aggregate)
    aggregate._pending_events.append(event)


def create(aggregate_cls: type[Any], cls: type, id_: UUID, timestamp: Any, **fields: Any) -> Any:
    """`aggregate_cls._create(cls, id=id_, timestamp=timestamp, **fields)` the same way: the
    created event built, the aggregate made from it as the library's `mutate` makes it — a
    shell of `aggregate_cls`, the base attributes `__base_init__` sets, `__init__` with the
    event's own fields, then `apply` — without its per-call reflection (the topic resolved
    back to the class, the event's fields filtered twice by `inspect` signatures: ~half of a
    created row's Python, docs/performance.md, CPU4). For a class whose `__init__` takes
    exactly the event's own fields, no `id`, and whose topic resolves to itself
    (`_plain_init`, checked once per pair of classes); any other goes the library's way."""
    state = {"originator_id": id_, "originator_version": aggregate_cls.INITIAL_VERSION,
             "timestamp": timestamp, "originator_topic": get_topic(aggregate_cls)}
    state.update(fields)
    event = _event(cls, state)
    if _plain_init(aggregate_cls, cls):  # type: ignore[arg-type]
        aggregate = _new(aggregate_cls)
        aggregate.__dict__.update(_id=id_, _version=state["originator_version"],
                                  _created_on=timestamp, _modified_on=timestamp,
                                  _pending_events=[])
        aggregate.__init__(**fields)
        event.apply(aggregate)
    else:
        aggregate = event.mutate(None)
    aggregate._pending_events.append(event)
    return aggregate


@functools.cache
def _plain_mutate(aggregate_cls: type, cls: type) -> bool:
    """Whether the library's `mutate` of a `cls` event on an `aggregate_cls` is `apply`, then
    `_version` and `_modified_on` set (its own code, its own properties)."""
    return (getattr(cls, "mutate", None) is CanMutateAggregate.mutate
            and getattr(aggregate_cls, "version", None) is BaseAggregate.version
            and getattr(aggregate_cls, "modified_on", None) is BaseAggregate.modified_on)


@functools.cache
def _plain_init(aggregate_cls: type, cls: type) -> bool:
    """Whether the library's `mutate` of a created `cls` event makes an `aggregate_cls` as
    `create` does: its `mutate` and `__base_init__` the library's, the topic resolving to the
    class, an `__init__` taking exactly the event's own fields (not `id`), no `__new__` of its
    own."""
    names = _fields.get(cls)
    if names is None:
        return False  # `_event` has checked the class before any call here
    try:
        params = list(inspect.signature(aggregate_cls.__init__).parameters)[1:]  # type: ignore[misc]
    except (TypeError, ValueError):
        return False
    own = [name for name in names if name not in (*BASE, "originator_topic")]
    return (getattr(cls, "mutate", None) is CanInitAggregate.mutate
            and getattr(aggregate_cls, "__base_init__", None) is BaseAggregate.__base_init__
            and aggregate_cls.__new__ is object.__new__
            and resolve_topic(get_topic(aggregate_cls)) is aggregate_cls
            and aggregate_cls not in _init_mentions_id
            and params == own)


def _c_encoder(transcoder: Transcoder) -> Callable[[Any, int], Sequence[str]] | None:
    """The C encoder the library's `JSONTranscoder.encode` builds at every call, built once;
    None where it would not be the same encoder."""
    make = getattr(json_encoder, "c_make_encoder", None)
    library = getattr(transcoder, "encoder", None)
    if make is None or type(transcoder) is not JSONTranscoder or library is None or (
            library.indent is not None or library.sort_keys or library.skipkeys
            or library.ensure_ascii or not library.allow_nan):
        return None
    return make(None, library.default, json_encoder.encode_basestring, None,
                library.key_separator, library.item_separator, False, False, True)


class RowMapper(Mapper[UUID]):
    """The library's `Mapper` (reading is its own), storing with the same bytes for less."""

    def __init__(self, transcoder: Transcoder, compressor: Any = None, cipher: Any = None) -> None:
        super().__init__(transcoder, compressor=compressor, cipher=cipher)
        self._encoder = _c_encoder(transcoder)
        self._types = getattr(transcoder, "types", {})
        self._last: tuple[Any, Any] = (None, None)

    def _instant(self, timestamp: Any) -> Any:
        last = self._last
        if last[0] is timestamp:
            return last[1]
        transcoding = self._types.get(type(timestamp))
        if transcoding is None:
            return timestamp  # the library's `default` says what it says
        encoded = {"_type_": transcoding.name, "_data_": transcoding.encode(timestamp)}
        self._last = (timestamp, encoded)
        return encoded

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        encoder = self._encoder
        state = getattr(domain_event, "__dict__", None)
        if encoder is None or state is None:
            return super().to_stored_event(domain_event)
        cls = type(domain_event)
        state = state.copy()
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        if "timestamp" in state:
            state["timestamp"] = self._instant(state["timestamp"])
        stored = "".join(encoder(state, 0)).encode("utf8")
        if self.compressor:
            stored = self.compressor.compress(stored)
        if self.cipher:
            stored = self.cipher.encrypt(stored)
        return frozen(StoredEvent, {"originator_id": originator_id,
                                    "originator_version": originator_version,
                                    "topic": get_topic(cls), "state": stored})


class RowEventStore(LibraryEventStore[UUID]):
    """The library's `EventStore`; `put` builds each row's `Notification` and `Recording`
    without their frozen `__init__`s."""

    def put(self, domain_events: Sequence[Any], **kwargs: Any) -> list[Recording[UUID]]:
        stored_events = list(map(self.mapper.to_stored_event, domain_events))
        notification_ids = self.recorder.insert_events(stored_events, **kwargs)
        if not notification_ids:
            return []
        assert len(notification_ids) == len(stored_events)
        recordings = []
        for event, stored, id_ in zip(domain_events, stored_events, notification_ids,
                                      strict=True):
            notification = stored.__dict__.copy()
            notification["id"] = id_
            recordings.append(frozen(Recording, {
                "domain_event": event, "notification": frozen(Notification, notification)}))
        return recordings


for _cls, _names in ((StoredEvent, ("originator_id", "originator_version", "topic", "state")),
                     (Notification, ("originator_id", "originator_version", "topic", "state",
                                     "id")),
                     (Recording, ("domain_event", "notification"))):
    _check(_cls, dict.fromkeys(_names))
