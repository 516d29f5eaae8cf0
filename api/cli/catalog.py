"""`tongban catalog`: list, search and show the plan's 138 items (事项).

Human output is a `rich` table; `--json` prints the entries (without the seed's raw cells, which
`show --json` includes) for scripts. Bad arguments print one line on stderr and exit with 2, the
usage-error code click uses for its own argument errors.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from domain.catalogue import (
    MODES,
    PROCESSES,
    Item,
    MaterialsBook,
    load_catalogue,
    load_materials,
    materials_guide,
)
from domain.catalogue.model import BATCH_LABELS
from domain.kernel import DomainError, UnknownItem
from domain.protocols import modes_run

app = typer.Typer(help="The 138 catalogue items of the plan.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def runs(item: Item) -> dict[str, Any]:
    """What the runtime does with the item: its process, the catalogue modes that run, and
    whether all of them do (the catalogue and the runtime agree)."""
    run = modes_run(item.process)
    modes = [mode for mode in item.modes if mode in run]
    return {"process": item.process, "modes": modes, "runnable": len(modes) == len(item.modes)}


def _entry(item: Item) -> dict[str, Any]:
    return {**item.to_dict(include_raw=False), "runs": runs(item)}


def _table(items: list[Item], title: str) -> None:
    runnable = sum(runs(item)["runnable"] for item in items)
    table = Table(title=f"{title}, {runnable} of {len(items)} runnable", show_lines=False)
    table.add_column("id", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("modes", no_wrap=True)
    table.add_column("process", no_wrap=True)
    table.add_column("runs", no_wrap=True)
    table.add_column("lead unit", overflow="fold")
    for item in items:
        ran = runs(item)
        missing = [mode for mode in item.modes if mode not in ran["modes"]]
        table.add_row(Text(item.id), Text(item.name), Text(",".join(item.modes)),
                      Text(item.process),
                      Text("yes" if ran["runnable"] else f"no: {','.join(missing)}"),
                      Text(item.lead_unit))
    Console().print(table)


@app.command("list")
def list_items(
    as_json: JsonFlag = False,
    batch: Annotated[int | None, typer.Option(help="Only batch 1, 2 or 3.")] = None,
    mode: Annotated[str | None, typer.Option(help="Only items offering this mode.")] = None,
    process: Annotated[str | None, typer.Option(help="Only items following this process.")] = None,
) -> None:
    """List the items, optionally of one batch, mode or process."""
    if batch is not None and batch not in BATCH_LABELS:
        _fail(f"unknown batch {batch}: the plan has batches 1, 2 and 3")
    if mode is not None and mode not in MODES:
        _fail(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    if process is not None and process not in PROCESSES:
        _fail(f"unknown process {process!r}: choose one of {', '.join(PROCESSES)}")
    items = load_catalogue().select(batch=batch, mode=mode, process=process)
    if as_json:
        _print_json([_entry(item) for item in items])
    else:
        _table(items, f"{len(items)} items")


@app.command("search")
def search_items(
    text: Annotated[str, typer.Argument(help="Text to find in names, scenarios and units.")],
    as_json: JsonFlag = False,
) -> None:
    """Find items by name, scenario, lead unit or co-unit (name hits first)."""
    try:
        items = load_catalogue().search(text)
    except DomainError as exc:
        _fail(str(exc))
    if as_json:
        _print_json([_entry(item) for item in items])
    else:
        _table(items, f"{len(items)} items matching {text!r}")


@app.command("show")
def show_item(
    item: Annotated[str, typer.Argument(help="Item id (e.g. b1-7) or exact name.")],
    as_json: JsonFlag = False,
    materials: Annotated[Path | None, typer.Option(
        envvar="TONGBAN_MATERIALS",
        help="Operator's materials file (format in docs/catalogue.md).")] = None,
    region: Annotated[str | None, typer.Option(
        envvar="TONGBAN_REGION", help="Only this region's guide (6-digit code).")] = None,
) -> None:
    """Show one item: fields, limits, basis, corrections and the materials guide."""
    catalogue = load_catalogue()
    try:
        entry = catalogue.get(item)
    except UnknownItem:
        try:
            entry = catalogue.by_name(item)
        except UnknownItem:
            _fail(f"unknown item {item!r}: give an id such as b1-7 or an exact item name")
    if region is not None and not re.fullmatch(r"[1-9][0-9]{5}", region):
        _fail(f"region {region!r} is not a 6-digit region code")
    book: MaterialsBook | None = None
    if materials is not None:
        try:
            book = load_materials(materials, catalogue)
        except OSError as exc:
            _fail(f"cannot read materials file {materials}: {exc.strerror or exc}")
        except DomainError as exc:
            _fail(str(exc))
    guide = materials_guide(book, entry.id, region)
    if as_json:
        _print_json({**entry.to_dict(), "runs": runs(entry), "materials": guide})
    else:
        _show(entry, guide)


def _show(item: Item, guide: dict[str, Any]) -> None:
    console = Console()
    console.print(Text(f"{item.id}  {item.name}", style="bold"))
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="dim", no_wrap=True)
    fields.add_column(overflow="fold")
    rows: list[tuple[str, str]] = [
        ("batch", f"{item.batch} ({item.batch_label}), 序号 {item.seq}"),
        ("scenario", item.scenario),
        ("lead unit", item.lead_unit),
        ("co-units", "、".join(item.co_units) or "—"),
    ]
    if item.deadline_text is not None:
        rows.append(("完成时限", item.deadline_text))
    ran = runs(item)
    rows += [("modes", ", ".join(item.modes)), ("process", item.process),
             ("level", f"{item.level} (办理层级: a proxy application goes to that office)"
              if item.level else "—"),
             ("runs", "yes, in every mode" if ran["runnable"]
              else f"only in {', '.join(ran['modes']) or 'no mode'}"), ("basis", item.basis),
             ("see also", ", ".join(item.see_also) or "—")]
    for key, value in rows:
        fields.add_row(Text(key), Text(value))
    console.print(fields)
    if item.limits:
        limits = Table(title="statutory limits")
        for column in ("side", "step", "limit", "starts", "source"):
            limits.add_column(column, overflow="fold")
        for limit in item.limits:
            limits.add_row(*(Text(v) for v in (limit.side, limit.step, f"{limit.days} {limit.unit}",
                                               limit.starts, limit.source)))
        console.print(limits)
    else:
        console.print(Text("statutory limits: none in the reference"))
    for correction in item.corrections:
        console.print(Text(f"correction ({correction.field}): {_value(correction.original)} → "
                           f"{_value(correction.corrected)} — {correction.why}"))
    for note in item.notes:
        console.print(Text(f"note: {note}"))
    _show_guide(console, guide)


def _value(value: str | tuple[str, ...]) -> str:
    return f"「{value}」" if isinstance(value, str) else "[" + "、".join(value) + "]"


def _show_guide(console: Console, guide: dict[str, Any]) -> None:
    if not guide["configured"]:
        console.print(Text(f"materials, fees, item codes: {guide['message']}"))
        return
    if guide["sample"]:
        console.print(Text(f"materials guide — {guide['notice']}", style="yellow"))
    for region in guide["regions"]:
        console.print(Text(
            f"region {region['region']} {region['region_name']}: item code {region['item_code']}, "
            f"办理项 {region['handle_item_code']}, agency {region['impl_agency_uscc']}, "
            f"fee {region['fee']} {region['fee_note']}"))
        if isinstance(region["materials"], str):
            console.print(Text(f"  materials: {region['materials']}"))
            continue
        for material in region["materials"]:
            need = "required" if material["required"] else "optional"
            kind = f"{material['kind']} ×{material['copies']}, {need}"
            console.print(Text(f"  - {material['title']} ({kind}) {material['note']}".rstrip()))
