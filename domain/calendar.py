"""Working days, calendar days and months on China's official calendar, as deadline instants.

Why this module: every statutory limit in 跨省通办 is counted in working days (工作日), which in
China include the weekend days worked in exchange for a holiday (调休) and exclude the holidays.
Three sources, in this order, say whether a day is worked:

1. `chinesecalendar` (pinned 1.11.0): the State Council's arrangements from 2004 through the last
   year in its data (2026-12-31 for 1.11.0; computed from the package, not hard-coded);
2. operator-supplied holiday files for later years (`parse_holiday_file`), one per year;
3. beyond both, the **conservative statutory fallback** (`domain.holidays.fallback`): weekends
   and every day an official schedule could plausibly make a holiday are rest days, so a date
   reckoned on it is never earlier than the official schedule will make it. It is still a guess,
   so it is never silent: every result says where it started (`fallback_from`, `warning`) and its
   `calendar_version` ends in "+fallback" (`is_provisional`), which `DeadlineSet.calendar_version`
   records for ever. `domain.provisional` rechecks such dates once the official data is there.

A year's official data also decides the last days of December *only if the next year is known
too*: the next year's notice may give them off for 元旦 (the 2019 notice gave 2018-12-31 off), so
while the next year is unknown the days of its 元旦 window fall to the fallback.

Reckoning (the usual Chinese rule for periods: the start day does not count):
- "N working days from an instant" ends with the N-th working day *after* the start's local day
  (Asia/Shanghai). The deadline instant is the **start of the next calendar day** (00:00 local),
  an exclusive bound: the step is late exactly when `now >= due_at`, which is the comparison
  `domain.deadlines` makes. N = 0 means the end of the start day itself.
- "N calendar days" ends with the N-th day after the start day (the 准迁证's 40 days);
- "N calendar months" ends on the corresponding day N months later, or on that month's last day
  when it has none (1 month from 31 January ends on 28/29 February).
All results are aware UTC datetimes.

Pure: no clock and no I/O. Reading a holiday file from disk is the node's job; this module only
validates the parsed JSON.
"""

from __future__ import annotations

import calendar as gregorian
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

import chinese_calendar

from domain.holidays import fallback
from domain.kernel import InvalidValue

CHINA = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC

#: The span the pinned package has data for: it refuses any year outside its `holidays` table.
PACKAGE_FIRST_DAY = dt.date(min(chinese_calendar.holidays).year, 1, 1)
PACKAGE_LAST_DAY = dt.date(max(chinese_calendar.holidays).year, 12, 31)
PACKAGE_VERSION = f"chinesecalendar-{chinese_calendar.__version__}"
FALLBACK_TAG = "fallback"
#: Tags that mark a version as reckoned (partly) on a fallback; "weekday-fallback" is the
#: Monday–Friday guess of earlier releases, still found in recorded `DeadlineSet`s.
_FALLBACK_TAGS = frozenset({FALLBACK_TAG, "weekday-fallback"})

DaySource = Literal["chinesecalendar", "holiday-file", "fallback"]


def is_provisional(calendar_version: str) -> bool:
    """Whether a recorded `calendar_version` says the date was reckoned over fallback days.

    Such a date is provisional: once the official schedule is installed, `domain.provisional`
    says whether it would move (only ever later is applied).
    """
    return any(tag in _FALLBACK_TAGS for tag in calendar_version.split("+"))


# --------------------------------------------------------------------------- local days


def _require_aware(instant: dt.datetime, what: str) -> None:
    if not isinstance(instant, dt.datetime):
        raise InvalidValue(f"{what} must be a datetime, got {instant!r}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidValue(
            f"{what} must be an aware datetime (a UTC instant), got naive {instant!r}"
        )


def china_date(instant: dt.datetime) -> dt.date:
    """The Asia/Shanghai calendar day on which `instant` falls."""
    _require_aware(instant, "instant")
    return instant.astimezone(CHINA).date()


def start_of_day(day: dt.date) -> dt.datetime:
    """00:00 Asia/Shanghai on `day`, as a UTC instant."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=CHINA).astimezone(UTC)


def _end_of(day: dt.date) -> dt.datetime:
    """The exclusive end of `day`: the start of the next one."""
    return start_of_day(day + dt.timedelta(days=1))


# --------------------------------------------------------------------------- holiday files


@dataclass(frozen=True)
class HolidayFile:
    """One year's official arrangement: days off (holidays) and weekend days worked (调休)."""

    year: int
    source: str
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    label: str  # "cn-2027.json@1a2b3c4d": the name plus a digest of the content

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


_FILE_KEYS = {"year", "source", "holidays", "workdays"}


def _dates(data: Mapping[str, Any], key: str, year: int) -> frozenset[dt.date]:
    values = data[key]
    if not isinstance(values, list):
        raise InvalidValue(f"holiday file {year}: {key!r} must be a list of ISO dates")
    days: list[dt.date] = []
    for value in values:
        try:
            day = dt.date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            day = None
        if day is None or len(value) != 10:
            raise InvalidValue(
                f"holiday file {year}: {key} entry {value!r} is not a YYYY-MM-DD date"
            )
        if day.year != year:
            raise InvalidValue(f"holiday file {year}: {key} entry {value} is not in {year}")
        days.append(day)
    if len(set(days)) != len(days):
        duplicates = sorted({d.isoformat() for d in days if days.count(d) > 1})
        raise InvalidValue(f"holiday file {year}: {key} lists {', '.join(duplicates)} twice")
    return frozenset(days)


def parse_holiday_file(data: Mapping[str, Any] | str | bytes, *, name: str = "") -> HolidayFile:
    """Validate a holiday file (parsed JSON, or its text) for a year after the package's data.

    Format: `{"year": 2027, "source": "...", "holidays": ["2027-01-01", ...], "workdays": [...]}`.
    `workdays` are the 调休 weekend days that are worked; listing a weekday there is an error
    (it would mean nothing). `name` (default "cn-<year>.json") goes into `calendar_version`
    together with a digest of the content, so two different files for one year never look alike.
    """
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise InvalidValue(f"holiday file is not valid JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise InvalidValue("holiday file must be a JSON object")
    missing, unknown = _FILE_KEYS - set(data), set(data) - _FILE_KEYS
    if missing or unknown:
        raise InvalidValue(
            "holiday file needs exactly the keys year, source, holidays, workdays"
            + (f"; missing {sorted(missing)}" if missing else "")
            + (f"; unknown {sorted(unknown)}" if unknown else "")
        )
    year = data["year"]
    if isinstance(year, bool) or not isinstance(year, int):
        raise InvalidValue(f"holiday file: year must be an integer, got {year!r}")
    if year <= PACKAGE_LAST_DAY.year:
        raise InvalidValue(
            f"holiday file for {year}: {PACKAGE_VERSION} already covers years up to "
            f"{PACKAGE_LAST_DAY.year}; files extend later years only"
        )
    source = data["source"]
    if not isinstance(source, str) or not source.strip():
        raise InvalidValue(
            f"holiday file {year}: source must name where the arrangement comes from"
        )
    holidays = _dates(data, "holidays", year)
    workdays = _dates(data, "workdays", year)
    if both := holidays & workdays:
        raise InvalidValue(
            f"holiday file {year}: {', '.join(sorted(d.isoformat() for d in both))} "
            "listed both as holiday and as workday"
        )
    if weekdays := sorted(d.isoformat() for d in workdays if d.weekday() < 5):
        raise InvalidValue(
            f"holiday file {year}: workdays are weekend days worked for 调休; "
            f"{', '.join(weekdays)} already is a weekday"
        )
    canonical = json.dumps(
        {
            "year": year,
            "source": source,
            "holidays": sorted(d.isoformat() for d in holidays),
            "workdays": sorted(d.isoformat() for d in workdays),
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:8]
    return HolidayFile(year, source, holidays, workdays, f"{name or f'cn-{year}.json'}@{digest}")


# --------------------------------------------------------------------------- results


def _fallback_warning(first: dt.date) -> str:
    return (
        f"no official holiday data from {first.isoformat()}: provisional, counted on the "
        "conservative statutory fallback (weekends and the widest holiday breaks are days off)"
    )


@dataclass(frozen=True)
class Reckoned:
    """The answer to one question to the calendar, with the data that produced it.

    `fallback_from` is the first day the fallback decided (None when all days came from official
    data); `calendar_version` then ends in "+fallback" and `provisional` is true.
    """

    due_at: dt.datetime
    calendar_version: str
    fallback_from: dt.date | None = None

    @property
    def provisional(self) -> bool:
        return self.fallback_from is not None

    @property
    def last_day(self) -> dt.date:
        """The last local day of the period (the day before the exclusive `due_at`)."""
        return china_date(self.due_at - dt.timedelta(microseconds=1))

    @property
    def warning(self) -> str:
        return "" if self.fallback_from is None else _fallback_warning(self.fallback_from)


@dataclass(frozen=True)
class DayCount:
    """A number of days, with the data that produced it (see `Reckoned`)."""

    days: int
    calendar_version: str
    fallback_from: dt.date | None = None

    @property
    def warning(self) -> str:
        return "" if self.fallback_from is None else _fallback_warning(self.fallback_from)


# --------------------------------------------------------------------------- the calendar


@dataclass(frozen=True)
class WorkingCalendar:
    """China's working-day calendar: the pinned package, then holiday files, then the fallback.

    `package_last_year` (default: the package's last year) lets a calendar use the package only
    up to an earlier year — the calendar as it was known then. Tests use it to check the fallback
    against the official schedules it stands in for.
    """

    files: tuple[HolidayFile, ...] = ()
    package_last_year: int = PACKAGE_LAST_DAY.year

    def __post_init__(self) -> None:
        years = [f.year for f in self.files]
        if len(set(years)) != len(years):
            raise InvalidValue(f"two holiday files for one year: {sorted(years)}")
        object.__setattr__(self, "files", tuple(sorted(self.files, key=lambda f: f.year)))
        if not PACKAGE_FIRST_DAY.year - 1 <= self.package_last_year <= PACKAGE_LAST_DAY.year:
            raise InvalidValue(
                f"package_last_year must lie in {PACKAGE_FIRST_DAY.year - 1}–"
                f"{PACKAGE_LAST_DAY.year}, got {self.package_last_year!r}"
            )

    @classmethod
    def with_files(cls, *files: HolidayFile) -> WorkingCalendar:
        return cls(tuple(files))

    @property
    def calendar_version(self) -> str:
        """The data this calendar knows, e.g. "chinesecalendar-1.11.0+cn-2027.json@1a2b3c4d"."""
        package = PACKAGE_VERSION
        if self.package_last_year != PACKAGE_LAST_DAY.year:
            package = f"{package}-until-{self.package_last_year}"
        return "+".join([package, *(f.label for f in self.files)])

    def _version(self, fallback_from: dt.date | None) -> str:
        base = self.calendar_version
        return base if fallback_from is None else f"{base}+{FALLBACK_TAG}"

    def _file(self, year: int) -> HolidayFile | None:
        return next((f for f in self.files if f.year == year), None)

    def year_source(self, year: int) -> str:
        """What decides `year`: "chinesecalendar", a holiday file's label, or "fallback"."""
        if PACKAGE_FIRST_DAY.year <= year <= self.package_last_year:
            return "chinesecalendar"
        file = self._file(year)
        return FALLBACK_TAG if file is None else file.label

    def day_source(self, day: dt.date) -> DaySource:
        """Which data decides `day`.

        A day of a known year still falls to the fallback when it lies in the 元旦 window of an
        unknown next year: that year's notice may give it off.
        """
        if self.year_source(day.year) == FALLBACK_TAG or (
            day.month == 12
            and self.year_source(day.year + 1) == FALLBACK_TAG
            and day in fallback.rest_days(day.year + 1)
        ):
            return "fallback"
        return "chinesecalendar" if day.year <= self.package_last_year else "holiday-file"

    def is_working_day(self, day: dt.date) -> bool:
        """Whether `day` is worked (with 调休); use `day_source` to see if this is a guess."""
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise InvalidValue(f"is_working_day takes a calendar date, got {day!r}")
        source = self.day_source(day)
        if source == "chinesecalendar":
            return _official_workday(day)
        file = self._file(day.year)
        if source == "holiday-file" and file is not None:
            return file.is_working_day(day)
        return not fallback.is_rest_day(day)

    def _scan(self, days: Iterable[dt.date]) -> tuple[list[dt.date], dt.date | None]:
        """The working days among `days`, and the first day decided by the fallback."""
        working: list[dt.date] = []
        fallback_from: dt.date | None = None
        for day in days:
            if fallback_from is None and self.day_source(day) == "fallback":
                fallback_from = day
            if self.is_working_day(day):
                working.append(day)
        return working, fallback_from

    @functools.lru_cache(maxsize=65_536)  # noqa: B019 - calendars are few and live for ever
    def working_days_after(self, day: dt.date, n: int) -> Reckoned:
        """The end of the n-th working day after `day` (which does not count).

        Memoised: every deadline of every case asks this, mostly for the same few days and
        limits, and the package re-validates its tables on each lookup.
        """
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise InvalidValue(f"working_days_after takes a calendar date, got {day!r}")
        _require_count(n, "working days")
        last, fallback_from, count = day, None, 0
        while count < n:
            last += dt.timedelta(days=1)
            if fallback_from is None and self.day_source(last) == "fallback":
                fallback_from = last
            if self.is_working_day(last):
                count += 1
        return Reckoned(_end_of(last), self._version(fallback_from), fallback_from)

    def add_working_days(self, start: dt.datetime, n: int) -> Reckoned:
        """The deadline "n working days from `start`": the start of the day after the n-th
        working day after the start's local day."""
        return self.working_days_after(china_date(start), n)

    def add_calendar_days(self, start: dt.datetime, n: int) -> Reckoned:
        """The deadline "n calendar days from `start`" (the start day does not count)."""
        _require_count(n, "calendar days")
        return Reckoned(_end_of(china_date(start) + dt.timedelta(days=n)), self.calendar_version)

    def add_calendar_months(self, start: dt.datetime, n: int) -> Reckoned:
        """The deadline "n months from `start`": the end of the corresponding day n months
        later, or of that month's last day when it has no such day."""
        _require_count(n, "calendar months")
        day = china_date(start)
        month_index = day.year * 12 + day.month - 1 + n
        year, month = divmod(month_index, 12)
        last_day = gregorian.monthrange(year, month + 1)[1]
        return Reckoned(
            _end_of(dt.date(year, month + 1, min(day.day, last_day))), self.calendar_version
        )

    def working_days_between(self, a: dt.datetime, b: dt.datetime) -> DayCount:
        """Working days after `a`'s local day that have begun before `b` (0 when b <= a).

        This is what a paused clock keeps: for `due = add_working_days(start, n)`,
        `working_days_between(start, due).days == n`, and for any `now` before `due` the days
        used plus `working_days_between(now, due)` make n again.
        """
        return self._between(a, b, working=True)

    def calendar_days_between(self, a: dt.datetime, b: dt.datetime) -> DayCount:
        """Calendar days after `a`'s local day that have begun before `b` (0 when b <= a)."""
        return self._between(a, b, working=False)

    def _between(self, a: dt.datetime, b: dt.datetime, *, working: bool) -> DayCount:
        _require_aware(b, "end instant")
        first = china_date(a) + dt.timedelta(days=1)
        if b <= start_of_day(first):
            return DayCount(0, self.calendar_version)
        last = china_date(b - dt.timedelta(microseconds=1))
        span = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        if not working:
            return DayCount(len(span), self.calendar_version)
        days, fallback_from = self._scan(span)
        return DayCount(len(days), self._version(fallback_from), fallback_from)


@functools.lru_cache(maxsize=16_384)
def _official_workday(day: dt.date) -> bool:
    """The package's answer for a day it covers, memoised (it is fixed for the pinned version)."""
    return bool(chinese_calendar.is_workday(day))


def _require_count(n: int, unit: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InvalidValue(f"number of {unit} must be a non-negative integer, got {n!r}")
