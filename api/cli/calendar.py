"""`tongban calendar`: due dates and the calendar's data coverage, for operators.

Why: past `chinesecalendar`'s data the node reckons deadlines on a conservative fallback and
marks them provisional; an operator needs to see which years are official, when the fallback
starts, and what a given limit comes to — and then install the year's official schedule as a
holiday file. Holiday files come from `--holidays` (repeatable) or, without it, from
`TONGBAN_HOLIDAY_FILES` (comma-separated), the setting the node itself reads.

Output is text for people, `--json` for scripts. Bad input (a date that does not parse, a
negative count, a holiday file that is missing or malformed) prints one line on stderr and exits
with 2, the usage-error code click uses for its own argument errors.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from domain.calendar import (
    FALLBACK_TAG,
    PACKAGE_FIRST_DAY,
    PACKAGE_VERSION,
    HolidayFile,
    WorkingCalendar,
    china_date,
    parse_holiday_file,
)
from domain.kernel import DomainError
from domain.provisional import DEFAULT_HORIZON_DAYS, official_coverage

app = typer.Typer(help="The working-day calendar: due dates and official data.",
                  no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
HolidaysOption = Annotated[
    list[Path] | None,
    typer.Option("--holidays", help="An official holiday file (JSON); repeat for several years. "
                                    "Default: TONGBAN_HOLIDAY_FILES."),
]
TodayOption = Annotated[
    str | None, typer.Option("--today", help="Check coverage as of this day (default: today in "
                                            "China), YYYY-MM-DD.")]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _date(text: str, what: str) -> dt.date:
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    _fail(f"{what} {text!r} is not a YYYY-MM-DD date")


def _load(path: Path) -> HolidayFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read holiday file {path}: {exc}")
    try:
        return parse_holiday_file(text, name=path.name)
    except DomainError as exc:
        _fail(f"{path}: {exc}")


def _calendar(holidays: list[Path] | None) -> WorkingCalendar:
    if holidays is None:
        configured = os.environ.get("TONGBAN_HOLIDAY_FILES", "")
        holidays = [Path(p.strip()) for p in configured.split(",") if p.strip()]
    try:
        return WorkingCalendar.with_files(*(_load(path) for path in holidays))
    except DomainError as exc:
        _fail(str(exc))


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@app.command("due")
def due(
    start: Annotated[str, typer.Option("--from", help="The day the period starts (it does not "
                                                      "count), YYYY-MM-DD.")],
    working_days: Annotated[str, typer.Option("--working-days", help="N working days.")],
    holidays: HolidaysOption = None,
    as_json: JsonFlag = False,
) -> None:
    """The last day of N working days from a day, whether it is provisional, and the data used."""
    day = _date(start, "--from")
    try:
        n = int(working_days)
    except ValueError:
        _fail(f"--working-days {working_days!r} is not a whole number")
    if n < 0:
        _fail(f"--working-days must be 0 or more, got {n}")
    calendar = _calendar(holidays)
    try:
        reckoned = calendar.working_days_after(day, n)
    except DomainError as exc:
        _fail(str(exc))
    result = {
        "from": day.isoformat(),
        "working_days": n,
        "due_date": reckoned.last_day.isoformat(),
        "due_at": reckoned.due_at.isoformat(),
        "provisional": reckoned.provisional,
        "fallback_from": reckoned.fallback_from.isoformat() if reckoned.fallback_from else None,
        "calendar_version": reckoned.calendar_version,
        "warning": reckoned.warning,
    }
    if as_json:
        _print_json(result)
        return
    local_due = china_date(reckoned.due_at).isoformat()
    typer.echo(f"due date:     {result['due_date']} (late from {local_due} 00:00 Asia/Shanghai)")
    typer.echo(f"provisional:  {'yes' if reckoned.provisional else 'no'}")
    typer.echo(f"calendar:     {reckoned.calendar_version}")
    if reckoned.warning:
        typer.echo(f"warning: {reckoned.warning}", err=True)


def _year_spans(calendar: WorkingCalendar) -> list[dict[str, Any]]:
    """Consecutive years with the same source, from the package's first year on."""
    known = [calendar.package_last_year, *(f.year for f in calendar.files)]
    last = max(known) + 1
    spans: list[dict[str, Any]] = []
    for year in range(PACKAGE_FIRST_DAY.year, last + 1):
        source = calendar.year_source(year)
        if spans and spans[-1]["source"] == source and source in (FALLBACK_TAG, "chinesecalendar"):
            spans[-1]["to"] = year
        else:
            spans.append({"from": year, "to": year, "source": source})
    spans[-1]["to"] = None  # the fallback goes on for ever
    for span in spans:
        file = next((f for f in calendar.files if f.label == span["source"]), None)
        span["origin"] = file.source if file else None
    return spans


@app.command("status")
def status(
    holidays: HolidaysOption = None,
    today: TodayOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Which years have official data, which use the fallback, and the next 60 days' coverage."""
    calendar = _calendar(holidays)
    day = _date(today, "--today") if today else china_date(dt.datetime.now(dt.UTC))
    coverage = official_coverage(calendar, day, DEFAULT_HORIZON_DAYS)
    spans = _year_spans(calendar)
    result = {
        "calendar_version": calendar.calendar_version,
        "years": spans,
        "today": day.isoformat(),
        "horizon": {
            "first": coverage.first.isoformat(),
            "last": coverage.last.isoformat(),
            "days_without_official_data": len(coverage.missing),
            "first_without_official_data": (
                coverage.first_missing.isoformat() if coverage.first_missing else None
            ),
        },
        "warning": coverage.warning,
    }
    if as_json:
        _print_json(result)
    else:
        typer.echo(f"calendar: {calendar.calendar_version}")
        typer.echo(f"years before {PACKAGE_FIRST_DAY.year}: fallback")
        for span in spans:
            first, last = span["from"], span["to"]
            years = f"{first} on" if last is None else (
                str(first) if last == first else f"{first}–{last}")
            if span["source"] == FALLBACK_TAG:
                what = "fallback (conservative statutory holidays; deadlines provisional)"
            else:
                name = PACKAGE_VERSION if span["source"] == "chinesecalendar" else span["source"]
                what = f"official: {name}"
                if span["origin"]:
                    what += f" ({span['origin']})"
            typer.echo(f"{years:>12}  {what}")
        horizon = f"{coverage.first.isoformat()}…{coverage.last.isoformat()}"
        verdict = "all official" if coverage.complete else (
            f"{len(coverage.missing)} days without official data")
        typer.echo(f"next {DEFAULT_HORIZON_DAYS} days ({horizon}): {verdict}")
    if coverage.warning:
        typer.echo(f"warning: {coverage.warning}", err=True)
