"""Per-region materials, fees and item codes: an operator-supplied file, never invented here.

Why a separate file: the plan lists items, not what each region asks for. 申报材料, 收费标准
and the 事项编码 differ per region and change on their own schedule ("四级四同" is the goal, not
the state), so each region's operator supplies them. Codes are kept as separate fields
(事项编码, 业务办理项编码, the implementing agency's 统一社会信用代码), never parsed out of one
string (reference/domain.md §4).
Fees are integer fen. Wherever nothing is configured the guide says "not configured".

Format (JSON, `format` = "tongban.materials/1"):

    {"format": "tongban.materials/1", "sample": false, "notice": "...",
     "regions": {"150600": {"name": "鄂尔多斯市", "items": {"b1-7": {
         "item_code": "...", "handle_item_code": "...", "impl_agency_uscc": "...",
         "fee_fen": 0, "fee_note": "...", "source": "...",
         "materials": [{"title": "...", "kind": "original|copy|form|electronic",
                        "copies": 1, "required": true, "note": "..."}]}}}}}

Empty strings and a null `fee_fen` mean "not configured". `sample: true` marks illustrative data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from domain.catalogue.loader import Catalogue
from domain.kernel import DomainError, UnknownItem

FORMAT = "tongban.materials/1"
NOT_CONFIGURED = "not configured"
MaterialKind = Literal["original", "copy", "form", "electronic"]
MATERIAL_KINDS: tuple[MaterialKind, ...] = ("original", "copy", "form", "electronic")
_REGION = re.compile(r"[1-9][0-9]{5}")
_ITEM_KEYS = {"item_code", "handle_item_code", "impl_agency_uscc", "fee_fen", "fee_note",
              "materials", "source"}
_MATERIAL_KEYS = {"title", "kind", "copies", "required", "note"}


class MaterialsError(DomainError):
    """The materials file is malformed; the message names the region, the item and the field."""

    code = "malformed_materials"


@dataclass(frozen=True)
class Material:
    """One document the applicant brings or fills in (original, copy, form, electronic)."""

    title: str
    kind: MaterialKind
    copies: int = 1
    required: bool = True
    note: str = ""


@dataclass(frozen=True)
class ItemGuide:
    """What one region asks for one item; "" / None fields are not configured."""

    item_id: str
    item_code: str
    handle_item_code: str
    impl_agency_uscc: str
    fee_fen: int | None
    fee_note: str
    materials: tuple[Material, ...]
    source: str


@dataclass(frozen=True)
class RegionGuides:
    code: str
    name: str
    items: Mapping[str, ItemGuide]


@dataclass(frozen=True)
class MaterialsBook:
    sample: bool
    notice: str
    regions: Mapping[str, RegionGuides]

    def for_item(
        self, item_id: str, region: str | None = None,
    ) -> list[tuple[RegionGuides, ItemGuide]]:
        """The configured guides for an item, per region (one region if `region` is given)."""
        codes = [region] if region is not None else sorted(self.regions)
        return [(self.regions[code], self.regions[code].items[item_id])
                for code in codes if code in self.regions and item_id in self.regions[code].items]


def load_materials(path: str | Path, catalogue: Catalogue) -> MaterialsBook:
    """Read and validate an operator's materials file against the catalogue."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MaterialsError(f"{path}: not valid JSON ({exc})") from None
    return parse_materials(data, catalogue)


def parse_materials(data: Any, catalogue: Catalogue) -> MaterialsBook:
    if not isinstance(data, dict):
        raise MaterialsError("materials: the document must be a JSON object")
    if data.get("format") != FORMAT:
        raise MaterialsError(
            f"materials: field 'format' must be {FORMAT!r}, got {data.get('format')!r}")
    sample = data.get("sample", False)
    notice = data.get("notice", "")
    if not isinstance(sample, bool) or not isinstance(notice, str):
        raise MaterialsError("materials: 'sample' must be a boolean and 'notice' a string")
    regions = data.get("regions")
    if not isinstance(regions, dict):
        raise MaterialsError("materials: field 'regions' must be an object keyed by region code")
    return MaterialsBook(sample, notice, {
        code: _region(code, body, catalogue) for code, body in regions.items()})


def _region(code: str, body: Any, catalogue: Catalogue) -> RegionGuides:
    if not _REGION.fullmatch(code):
        raise MaterialsError(f"materials region {code!r}: not a 6-digit GB/T 2260 region code")
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not isinstance(
            body.get("items"), dict):
        raise MaterialsError(f"materials region {code}: needs 'name' (string) and 'items' (object)")
    guides = {}
    for item_id, entry in body["items"].items():
        try:
            catalogue.get(item_id)
        except UnknownItem:
            raise MaterialsError(
                f"materials region {code}, item {item_id!r}: not in the catalogue") from None
        guides[item_id] = _Guide(code, item_id, entry).guide()
    return RegionGuides(code, body["name"], guides)


class _Guide:
    def __init__(self, region: str, item_id: str, data: Any) -> None:
        self.where = f"materials region {region}, item {item_id}"
        self.item_id = item_id
        if not isinstance(data, dict):
            raise MaterialsError(f"{self.where}: must be a JSON object")
        unknown = sorted(set(data) - _ITEM_KEYS)
        if unknown:
            raise self.fail(unknown[0], "unknown field")
        self.data = data

    def fail(self, name: str, problem: str) -> MaterialsError:
        return MaterialsError(f"{self.where}: field {name!r}: {problem}")

    def text(self, name: str) -> str:
        value = self.data.get(name, "")
        if not isinstance(value, str):
            raise self.fail(name, f"must be a string, got {value!r}")
        return value.strip()

    def guide(self) -> ItemGuide:
        agency = self.text("impl_agency_uscc")
        if agency:
            try:
                uscc.validate(agency)
            except ValidationError as exc:
                raise self.fail("impl_agency_uscc",
                                f"not a valid 统一社会信用代码: {exc}") from None
        fee = self.data.get("fee_fen")
        if fee is not None and (isinstance(fee, bool) or not isinstance(fee, int) or fee < 0):
            raise self.fail("fee_fen", f"must be a non-negative integer (fen) or null, got {fee!r}")
        return ItemGuide(
            item_id=self.item_id, item_code=self.text("item_code"),
            handle_item_code=self.text("handle_item_code"), impl_agency_uscc=agency,
            fee_fen=fee, fee_note=self.text("fee_note"), materials=self.materials(),
            source=self.text("source"),
        )

    def materials(self) -> tuple[Material, ...]:
        value = self.data.get("materials", [])
        if not isinstance(value, list):
            raise self.fail("materials", "must be a list")
        out = []
        for n, m in enumerate(value):
            name = f"materials[{n}]"
            if not isinstance(m, dict):
                raise self.fail(name, "must be an object")
            unknown = sorted(set(m) - _MATERIAL_KEYS)
            if unknown:
                raise self.fail(f"{name}.{unknown[0]}", "unknown field")
            if not isinstance(m.get("title"), str) or not m["title"].strip():
                raise self.fail(f"{name}.title", "must be a non-empty string")
            if m.get("kind") not in MATERIAL_KINDS:
                kinds = ", ".join(MATERIAL_KINDS)
                raise self.fail(f"{name}.kind", f"must be one of {kinds}, got {m.get('kind')!r}")
            copies = m.get("copies", 1)
            if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
                raise self.fail(f"{name}.copies", f"must be a positive integer, got {copies!r}")
            required = m.get("required", True)
            note = m.get("note", "")
            if not isinstance(required, bool):
                raise self.fail(f"{name}.required", f"must be a boolean, got {required!r}")
            if not isinstance(note, str):
                raise self.fail(f"{name}.note", f"must be a string, got {note!r}")
            out.append(Material(
                m["title"].strip(), cast(MaterialKind, m["kind"]), copies, required, note))
        return tuple(out)


def materials_guide(
    book: MaterialsBook | None, item_id: str, region: str | None = None,
) -> dict[str, Any]:
    """The applicant-facing guide for an item as JSON-ready data; "not configured" where empty."""
    guides = book.for_item(item_id, region) if book is not None else []
    if not guides:
        where = f" for region {region}" if region else ""
        return {"item": item_id, "configured": False, "message": f"{NOT_CONFIGURED}{where}"}
    assert book is not None
    return {
        "item": item_id, "configured": True, "sample": book.sample, "notice": book.notice,
        "regions": [{
            "region": r.code, "region_name": r.name,
            "item_code": g.item_code or NOT_CONFIGURED,
            "handle_item_code": g.handle_item_code or NOT_CONFIGURED,
            "impl_agency_uscc": g.impl_agency_uscc or NOT_CONFIGURED,
            "fee": NOT_CONFIGURED if g.fee_fen is None else _yuan(g.fee_fen),
            "fee_fen": g.fee_fen, "fee_note": g.fee_note,
            "materials": [{"title": m.title, "kind": m.kind, "copies": m.copies,
                           "required": m.required, "note": m.note} for m in g.materials]
            or NOT_CONFIGURED,
            "source": g.source,
        } for r, g in guides],
    }


def _yuan(fen: int) -> str:
    """Integer fen shown as yuan, exactly (no floats): 0 → "0.00 元", 1050 → "10.50 元"."""
    return f"{fen // 100}.{fen % 100:02d} 元"
