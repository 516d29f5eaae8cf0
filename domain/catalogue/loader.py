"""Load, validate and search the catalogue (搜索服务).

Why validate by hand: the data is curated by people, and a mistake must be found where it is —
every refusal is a `CatalogueError` naming the entry (its id, or its index when the id itself is
bad) and the field. Parsing is pure (`parse_catalogue` takes decoded JSON); only
`load_catalogue` touches a file, the packaged `items.json` by default.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

from domain.catalogue.model import (
    BATCH_LABELS,
    CORRECTABLE_FIELDS,
    LEVELS,
    LIMIT_UNITS,
    MODES,
    PROCESSES,
    SIDES,
    Correction,
    Item,
    Level,
    LimitUnit,
    Mode,
    Side,
    StepLimit,
)
from domain.kernel import DomainError, InvalidValue, UnknownItem

FORMAT = "tongban.catalogue/1"
_REQUIRED = ("id", "batch", "batch_label", "seq", "name", "scenario", "lead_unit", "co_units",
             "modes", "process", "basis", "limits", "see_also", "corrections", "notes", "raw")
_OPTIONAL = ("deadline_text", "level")
_LIMIT_KEYS = ("step", "days", "unit", "side", "starts", "source")
_CORRECTION_KEYS = ("field", "from", "to", "why")
_RAW_KEYS = {1: ("seq", "name", "scenario", "lead_unit", "co_units"),
             2: ("seq", "name", "scenario", "lead_unit", "co_units"),
             3: ("seq", "name", "scenario", "lead_unit", "deadline_text")}
_ID = re.compile(r"b([1-9][0-9]*)-([1-9][0-9]*)")
_WHITESPACE = re.compile(r"\s")


class CatalogueError(DomainError):
    """The catalogue data is malformed; the message names the entry and the field."""

    code = "malformed_catalogue"


def normalise(text: str) -> str:
    """The form names and queries are compared in: NFKC (full/half-width alike), case-folded,
    without whitespace (the cleaned Chinese fields have none)."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


class Catalogue:
    """The validated items, in plan order, with lookups by id and by name and a text search."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.items: tuple[Item, ...] = tuple(items)
        self._by_id = {item.id: item for item in self.items}
        self._by_name = {normalise(item.name): item for item in self.items}

    def __len__(self) -> int:
        return len(self.items)

    def get(self, item_id: str) -> Item:
        try:
            return self._by_id[item_id]
        except KeyError:
            raise UnknownItem(f"no catalogue item with id {item_id!r}") from None

    def by_name(self, name: str) -> Item:
        """The item of that name; full- and half-width punctuation and spacing do not matter."""
        try:
            return self._by_name[normalise(name)]
        except KeyError:
            raise UnknownItem(f"no catalogue item named {name!r}") from None

    def select(self, *, batch: int | None = None, mode: str | None = None,
               process: str | None = None) -> list[Item]:
        """Items of the given batch, offering the given mode, following the given process."""
        return [item for item in self.items
                if (batch is None or item.batch == batch)
                and (mode is None or mode in item.modes)
                and (process is None or item.process == process)]

    def search(self, text: str) -> list[Item]:
        """Case-insensitive substring search over name, scenario, lead unit and co-units.

        Ranking: name hits first, then scenario hits, then unit hits; plan order within a rank.
        """
        query = normalise(text)
        if not query:
            raise InvalidValue("search text is empty")
        ranked: list[tuple[int, int, Item]] = []
        for position, item in enumerate(self.items):
            if query in normalise(item.name):
                rank = 0
            elif query in normalise(item.scenario):
                rank = 1
            elif any(query in normalise(unit) for unit in (item.lead_unit, *item.co_units)):
                rank = 2
            else:
                continue
            ranked.append((rank, position, item))
        return [item for _, _, item in sorted(ranked, key=lambda hit: hit[:2])]


# --------------------------------------------------------------------------- loading


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """The catalogue in `path`, or the packaged `items.json` (parsed once, then shared)."""
    if path is None:
        return _packaged()
    return parse_catalogue(_decode(Path(path).read_text(encoding="utf-8"), str(path)))


@cache
def _packaged() -> Catalogue:
    text = resources.files("domain.catalogue").joinpath("items.json").read_text(encoding="utf-8")
    return parse_catalogue(_decode(text, "items.json"))


def _decode(text: str, origin: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"{origin}: not valid JSON ({exc})") from None


def parse_catalogue(data: Any) -> Catalogue:
    """Validate decoded catalogue JSON and build the `Catalogue`, or raise `CatalogueError`."""
    if not isinstance(data, dict):
        raise CatalogueError("catalogue: the document must be a JSON object")
    if data.get("format") != FORMAT:
        raise CatalogueError(
            f"catalogue: field 'format' must be {FORMAT!r}, got {data.get('format')!r}")
    entries = data.get("items")
    if not isinstance(entries, list):
        raise CatalogueError("catalogue: field 'items' must be a list")
    items: list[Item] = []
    seen_ids: dict[str, int] = {}
    seen_names: dict[str, str] = {}
    for index, entry in enumerate(entries):
        item = _Entry(entry, index).item()
        if item.id in seen_ids:
            raise CatalogueError(
                f"catalogue entry {item.id} (index {index}): field 'id': duplicate of index "
                f"{seen_ids[item.id]}")
        key = normalise(item.name)
        if key in seen_names:
            raise CatalogueError(
                f"catalogue entry {item.id}: field 'name': same name as {seen_names[key]}")
        seen_ids[item.id] = index
        seen_names[key] = item.id
        items.append(item)
    _check_see_also(items)
    return Catalogue(items)


def _check_see_also(items: Sequence[Item]) -> None:
    by_id = {item.id: item for item in items}
    for item in items:
        for other in item.see_also:
            if other == item.id:
                raise CatalogueError(
                    f"catalogue entry {item.id}: field 'see_also': points at itself")
            if other not in by_id:
                raise CatalogueError(
                    f"catalogue entry {item.id}: field 'see_also': dangling reference {other!r}")
            if item.id not in by_id[other].see_also:
                raise CatalogueError(
                    f"catalogue entry {item.id}: field 'see_also': {other} does not point back")


class _Entry:
    """One raw entry being validated; every error names the entry and the field."""

    def __init__(self, data: Any, index: int) -> None:
        self.data = data
        self.where = f"#{index}"
        if not isinstance(data, dict):
            raise CatalogueError(f"catalogue entry {self.where}: must be a JSON object")
        item_id = data.get("id")
        if isinstance(item_id, str) and _ID.fullmatch(item_id):
            self.where = item_id

    def fail(self, name: str, problem: str) -> CatalogueError:
        return CatalogueError(f"catalogue entry {self.where}: field {name!r}: {problem}")

    def field(self, name: str) -> Any:
        if name not in self.data:
            raise self.fail(name, "missing")
        return self.data[name]

    def string(self, name: str, *, compact: bool = False) -> str:
        value = self.field(name)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, f"must be a non-empty string, got {value!r}")
        if compact and _WHITESPACE.search(value):
            raise self.fail(name, f"must be cleaned (no spaces or line breaks): {value!r}")
        return value

    def integer(self, name: str) -> int:
        value = self.field(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(name, f"must be a positive integer, got {value!r}")
        return value

    def strings(self, name: str, *, compact: bool = False, unique: bool = True) -> tuple[str, ...]:
        value = self.field(name)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(name, f"must be a list of non-empty strings, got {value!r}")
        if compact and any(_WHITESPACE.search(v) for v in value):
            raise self.fail(name, f"must be cleaned (no spaces or line breaks): {value!r}")
        if unique and len(set(value)) != len(value):
            raise self.fail(name, f"has duplicates: {value!r}")
        return tuple(value)

    def objects(self, name: str) -> list[dict[str, Any]]:
        value = self.field(name)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(name, "must be a list of objects")
        return value

    def item(self) -> Item:
        unknown = sorted(set(self.data) - set(_REQUIRED) - set(_OPTIONAL))
        if unknown:
            raise self.fail(unknown[0], "unknown field")
        item_id = self.string("id")
        match = _ID.fullmatch(item_id)
        if not match:
            raise self.fail("id", f"must look like 'b1-7', got {item_id!r}")
        batch = self.integer("batch")
        if batch not in BATCH_LABELS:
            raise self.fail("batch", f"must be 1, 2 or 3, got {batch}")
        label = self.string("batch_label")
        if label != BATCH_LABELS[batch]:
            raise self.fail("batch_label",
                            f"batch {batch} is {BATCH_LABELS[batch]!r}, got {label!r}")
        seq = self.integer("seq")
        if item_id != f"b{batch}-{seq}":
            raise self.fail("id", f"must be 'b{batch}-{seq}' (batch and seq), got {item_id!r}")
        return Item(
            id=item_id, batch=batch, batch_label=label, seq=seq,
            name=self.string("name", compact=True),
            scenario=self.string("scenario", compact=True),
            lead_unit=self.string("lead_unit", compact=True),
            co_units=self.strings("co_units", compact=True),
            deadline_text=self.deadline_text(batch),
            modes=self.modes(), process=self.process(), level=self.level(),
            basis=self.string("basis"),
            limits=self.limits(), see_also=self.strings("see_also"),
            corrections=self.corrections(), notes=self.strings("notes", unique=False),
            raw=self.raw(batch),
        )

    def deadline_text(self, batch: int) -> str | None:
        if batch == 3:
            return self.string("deadline_text", compact=True)
        if self.data.get("deadline_text") is not None:
            raise self.fail("deadline_text",
                            f"only batch 3 has a 完成时限 column, this is batch {batch}")
        return None

    def modes(self) -> tuple[Mode, ...]:
        modes = self.strings("modes")
        if not modes:
            raise self.fail("modes", "must name at least one mode")
        for mode in modes:
            if mode not in MODES:
                raise self.fail("modes", f"unknown mode {mode!r} (known: {', '.join(MODES)})")
        return cast(tuple[Mode, ...], modes)

    def level(self) -> Level | None:
        """办理层级: required where the item is offered by proxy (the window routes by it)."""
        level = self.data.get("level")
        if level is None:
            if "proxy" in self.data.get("modes", ()):
                raise self.fail("level", "a proxy item names its competent level (办理层级)")
            return None
        self.one_of("level", level, LEVELS)
        return cast(Level, level)

    def process(self) -> str:
        process = self.string("process")
        if process not in PROCESSES:
            raise self.fail("process", f"unknown process {process!r}")
        return process

    def limits(self) -> tuple[StepLimit, ...]:
        limits = []
        for n, limit in enumerate(self.objects("limits")):
            name = f"limits[{n}]"
            for key in _LIMIT_KEYS:
                if key not in limit:
                    raise self.fail(f"{name}.{key}", "missing")
            for key in sorted(set(limit) - set(_LIMIT_KEYS)):
                raise self.fail(f"{name}.{key}", "unknown field")
            days = limit["days"]
            if isinstance(days, bool) or not isinstance(days, int) or days < 1:
                raise self.fail(f"{name}.days", f"must be a positive integer, got {days!r}")
            self.one_of(f"{name}.unit", limit["unit"], LIMIT_UNITS)
            self.one_of(f"{name}.side", limit["side"], SIDES)
            for key in ("step", "starts", "source"):
                if not isinstance(limit[key], str) or not limit[key].strip():
                    raise self.fail(f"{name}.{key}",
                                    f"must be a non-empty string, got {limit[key]!r}")
            limits.append(StepLimit(
                step=limit["step"], days=days, unit=cast(LimitUnit, limit["unit"]),
                side=cast(Side, limit["side"]), starts=limit["starts"], source=limit["source"]))
        return tuple(limits)

    def one_of(self, name: str, value: Any, allowed: Sequence[str]) -> None:
        if value not in allowed:
            raise self.fail(name, f"must be one of {', '.join(allowed)}, got {value!r}")

    def corrections(self) -> tuple[Correction, ...]:
        corrections = []
        for n, correction in enumerate(self.objects("corrections")):
            name = f"corrections[{n}]"
            missing = [k for k in _CORRECTION_KEYS if k not in correction]
            if missing:
                raise self.fail(name, f"missing {missing}")
            if correction["field"] not in CORRECTABLE_FIELDS:
                raise self.fail(f"{name}.field",
                                f"not a correctable field: {correction['field']!r}")
            if not isinstance(correction["why"], str) or not correction["why"].strip():
                raise self.fail(f"{name}.why", "must say why")
            corrections.append(Correction(
                field=correction["field"], original=self.value(f"{name}.from", correction["from"]),
                corrected=self.value(f"{name}.to", correction["to"]), why=correction["why"]))
        return tuple(corrections)

    def value(self, name: str, value: Any) -> str | tuple[str, ...]:
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise self.fail(name, f"must be a string or a list of strings, got {value!r}")

    def raw(self, batch: int) -> Mapping[str, str]:
        raw = self.field("raw")
        expected = _RAW_KEYS[batch]
        if not isinstance(raw, dict) or sorted(raw) != sorted(expected):
            raise self.fail("raw", f"must be an object with exactly the cells {list(expected)}")
        for key, cell in raw.items():
            if not isinstance(cell, str):
                raise self.fail(f"raw.{key}", f"must be the seed's cell as a string, got {cell!r}")
        return dict(raw)
