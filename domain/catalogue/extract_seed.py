"""Maintainer's tool: read the plan's annex tables and check `items.json` against them.

Why keep it: `items.json` is curated by hand, but its `raw` cells must stay exactly the seed's
cells, and its cleaned fields must be the documented cleaning of those cells plus the recorded
corrections. This module holds that cleaning (whitespace removal, co-unit prefix expansion) so
the tests can re-derive every cleaned field from `raw` and `corrections`, and so a maintainer can
re-check the data against the seed (`--check`) or print a mechanical draft for a new seed
(`--draft`). Nothing here is needed at run time, and nothing is read at import time.

Usage: python -m domain.catalogue.extract_seed SEED_FILE (--check [ITEMS_JSON] | --draft)
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BATCH_LABELS = {1: "2020年底前", 2: "2021年底前", 3: "2021年以后"}
_ANNEX = re.compile(r"^附件\s*([123])\s*$")
_WHITESPACE = re.compile(r"\s+")
#: Co-unit members that already name their body in full; a group's "自治区" prefix is not
#: applied to them ("内蒙古税务局", "人民银行呼和浩特中心支行" are not autonomous-region bodies).
_OWN_PREFIXES = ("自治区", "内蒙古", "中国", "人民银行")


@dataclass(frozen=True)
class SeedRow:
    """One table row of an annex, cells exactly as they stand in the seed."""

    batch: int
    seq: str
    name: str
    scenario: str
    lead_unit: str
    fifth: str  # 配合单位 (batches 1 and 2) or 完成时限 (batch 3)

    @property
    def raw(self) -> dict[str, str]:
        fifth_key = "deadline_text" if self.batch == 3 else "co_units"
        return {"seq": self.seq, "name": self.name, "scenario": self.scenario,
                "lead_unit": self.lead_unit, fifth_key: self.fifth}


def parse_seed(text: str) -> list[SeedRow]:
    """The annexes' item rows: tab-separated lines starting with a 序号, after "附件 N"."""
    rows: list[SeedRow] = []
    batch = 0
    for line in text.splitlines():
        match = _ANNEX.match(line.strip())
        if match:
            batch = int(match.group(1))
            continue
        cells = line.split("\t")
        if batch and len(cells) == 5 and cells[0].strip().isdigit():
            rows.append(SeedRow(batch, *cells))
    return rows


def clean_text(cell: str) -> str:
    """Remove the seed's stray spaces and line breaks (PDF table artefacts).

    The cells are Chinese text with no word spacing, so every whitespace run is an artefact.
    """
    return _WHITESPACE.sub("", cell)


def split_units(cell: str) -> list[str]:
    """A 配合单位 cell as a list of full unit names.

    Groups are separated by "，" (or ","), members by "、". Within a group, members after
    the first share its "自治区" prefix ("自治区公安厅、民政厅" → 自治区公安厅,
    自治区民政厅), unless they name their own body (`_OWN_PREFIXES`).
    """
    units: list[str] = []
    for group in re.split("[，,]", clean_text(cell)):
        members = [m for m in group.split("、") if m]
        if not members:
            continue
        shared = "自治区" if members[0].startswith("自治区") else ""
        units.extend(m if m.startswith(_OWN_PREFIXES) else shared + m for m in members)
    return units


def draft_entry(row: SeedRow) -> dict[str, object]:
    """The mechanical part of a catalogue entry; modes, process, basis etc. are curated by hand."""
    entry: dict[str, object] = {
        "id": f"b{row.batch}-{int(row.seq)}",
        "batch": row.batch,
        "batch_label": BATCH_LABELS[row.batch],
        "seq": int(row.seq),
        "name": clean_text(row.name),
        "scenario": clean_text(row.scenario),
        "lead_unit": clean_text(row.lead_unit),
        "co_units": [] if row.batch == 3 else split_units(row.fifth),
    }
    if row.batch == 3:
        entry["deadline_text"] = clean_text(row.fifth)
    entry["raw"] = row.raw
    return entry


def check(rows: Sequence[SeedRow], items: Sequence[dict[str, object]]) -> list[str]:
    """Differences between the seed's rows and the raw cells committed in `items.json`."""
    problems: list[str] = []
    seed = {f"b{r.batch}-{int(r.seq)}": r.raw for r in rows}
    committed = {str(item.get("id")): item.get("raw") for item in items}
    for item_id in sorted(seed.keys() - committed.keys()):
        problems.append(f"{item_id}: in the seed, missing from the catalogue")
    for item_id in sorted(committed.keys() - seed.keys()):
        problems.append(f"{item_id}: in the catalogue, not in the seed")
    for item_id in sorted(seed.keys() & committed.keys()):
        if seed[item_id] != committed[item_id]:
            problems.append(f"{item_id}: raw cells differ from the seed")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[1] not in ("--check", "--draft"):
        print(__doc__, file=sys.stderr)
        return 2
    rows = parse_seed(Path(args[0]).read_text(encoding="utf-8"))
    if args[1] == "--draft":
        print(json.dumps([draft_entry(r) for r in rows], ensure_ascii=False, indent=1))
        return 0
    items_path = Path(args[2]) if len(args) > 2 else Path(__file__).with_name("items.json")
    items = json.loads(items_path.read_text(encoding="utf-8"))["items"]
    problems = check(rows, items)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(rows)} seed rows, {len(items)} catalogue entries, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
