"""Working-day calendar for SLA deadlines ("hari kerja", HK).

A deadline of N working days ends at 23:59:59 local time (default Asia/Jakarta)
of the N-th working day after the day a clock started. Weekends, Indonesian
public holidays and collective leave ("cuti bersama") come from the `holidays`
package; administrators add their own days off and replacement working days.

Pure Python: no Flask, no database. Holiday tables are built once per year and
cached at module level, so constructing a `WorkingCalendar` per request is cheap.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from holidays.constants import GOVERNMENT, PUBLIC
from holidays.countries.indonesia import Indonesia

DEFAULT_TIMEZONE = "Asia/Jakarta"
DEFAULT_LANGUAGE = "en_US"
END_OF_DAY = time(23, 59, 59)
_ONE_DAY = timedelta(days=1)
_SATURDAY = 5


class DaySource(StrEnum):
    """Where a named day of the calendar comes from."""

    CONFIGURED = "configured"
    PUBLIC = "public"
    COLLECTIVE_LEAVE = "collective_leave"
    WORKING_DAY = "working_day"


@dataclass(frozen=True)
class NamedDay:
    """A day off (or a configured working day) with its name and source."""

    day: date
    name: str
    source: DaySource


@cache
def _indonesian_holidays(year: int, category: str, language: str) -> Mapping[date, str]:
    """Return the read-only table {date: name} of one year and one category.

    `expand=False` and the copy into a plain dict keep the cached value
    immutable: a `holidays` object silently adds years when it is queried.
    """
    table = Indonesia(years=year, categories=(category,), language=language, expand=False)
    return MappingProxyType(dict(table))


def _require_aware(moment: datetime, name: str) -> None:
    """Raise ValueError unless `moment` is timezone-aware."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment!r}")


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days, and deadlines counted in them.

    A working day is Monday to Friday, not an Indonesian public holiday, not a
    collective leave day (when `include_collective_leave`) and not one of the
    `extra_holidays`; a day in `extra_working_days` is always a working day
    (e.g. a replacement working Saturday). Days are local to `timezone`.

    Instances are immutable and hashable; `extra_holidays` is copied into a
    read-only mapping and left out of the hash (equal calendars still have
    equal hashes).
    """

    timezone: str = DEFAULT_TIMEZONE
    extra_holidays: Mapping[date, str] = field(default_factory=dict, hash=False)
    extra_working_days: frozenset[date] = frozenset()
    include_collective_leave: bool = True
    language: str = DEFAULT_LANGUAGE

    def __post_init__(self) -> None:
        """Validate the zone and language; freeze the configured days."""
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {self.timezone!r}") from error
        if self.language not in Indonesia.supported_languages:
            raise ValueError(f"unsupported holiday language {self.language!r}")
        frozen_holidays = MappingProxyType(dict(self.extra_holidays))
        object.__setattr__(self, "extra_holidays", frozen_holidays)
        object.__setattr__(self, "extra_working_days", frozenset(self.extra_working_days))

    @classmethod
    def default(cls) -> WorkingCalendar:
        """Return the national calendar: Asia/Jakarta, holidays and cuti bersama."""
        return cls()

    @property
    def tzinfo(self) -> ZoneInfo:
        """Return the calendar's time zone (ZoneInfo instances are cached)."""
        return ZoneInfo(self.timezone)

    # Days -----------------------------------------------------------------

    def holiday_name(self, day: date) -> str | None:
        """Return the name of the holiday that makes `day` a day off, else None.

        Names from several sources (admin, public, collective leave) are joined
        with "; ". Returns None for ordinary weekends, for working days and for
        any day in `extra_working_days`, so a name always means "not working".
        """
        if day in self.extra_working_days:
            return None
        names = [name for name in self._holiday_names(day) if name]
        return "; ".join(dict.fromkeys(names)) or None

    def is_working_day(self, day: date) -> bool:
        """Return True if `day` counts towards a working-day deadline."""
        if day in self.extra_working_days:
            return True
        return day.weekday() < _SATURDAY and self.holiday_name(day) is None

    def next_working_day(self, day: date) -> date:
        """Return the first working day on or after `day`."""
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """Return the n-th working day after `day`.

        With n = 0, return the first working day on or after `day`. Raises
        ValueError for n < 0.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        result = self.next_working_day(day) if n == 0 else day
        for _ in range(n):
            result = self.next_working_day(result + _ONE_DAY)
        return result

    def days_off(self, year: int) -> list[NamedDay]:
        """Return the named days off of `year`, by date, one entry per source.

        Sources are the configured `extra_holidays`, Indonesian public holidays
        and (if included) collective leave; a day in `extra_working_days` is
        worked, so it is left out. Ordinary weekends are not listed.
        """
        tables = [
            (DaySource.CONFIGURED, self.extra_holidays),
            (DaySource.PUBLIC, _indonesian_holidays(year, PUBLIC, self.language)),
        ]
        if self.include_collective_leave:
            tables.append((DaySource.COLLECTIVE_LEAVE, _indonesian_holidays(year, GOVERNMENT, self.language)))
        days = [
            NamedDay(day, name, source)
            for source, table in tables
            for day, name in table.items()
            if day.year == year and day not in self.extra_working_days
        ]
        return sorted(days, key=lambda named: named.day)

    # Moments --------------------------------------------------------------

    def working_days_in(self, after: date, until: date) -> int:
        """How many working days lie in (after, until]; 0 when until <= after."""
        return sum(1 for i in range(1, (until - after).days + 1) if self.is_working_day(after + timedelta(days=i)))

    def local_date(self, moment: datetime) -> date:
        """Return the calendar date of an aware `moment` in the calendar's zone."""
        _require_aware(moment, "moment")
        return moment.astimezone(self.tzinfo).date()

    def end_of_day(self, day: date) -> datetime:
        """Return 23:59:59 local time of `day`, aware, in the calendar's zone."""
        return datetime.combine(day, END_OF_DAY, tzinfo=self.tzinfo)

    def start_of_day(self, moment: datetime, hour: int = 8) -> datetime:
        """Return `moment`'s local day at hour:00, aware, in the calendar's zone.

        An hour skipped by a DST change is moved forward to the real instant.
        Raises ValueError for a naive `moment` or an hour outside 0..23.
        """
        if not 0 <= hour <= 23:
            raise ValueError(f"hour must be in 0..23, got {hour}")
        wall = datetime.combine(self.local_date(moment), time(hour), tzinfo=self.tzinfo)
        return wall.astimezone(UTC).astimezone(self.tzinfo)

    def deadline(self, start: datetime, n: int) -> datetime:
        """Return the end of the n-th working day after `start`'s local date.

        The end of a day is 23:59:59 local time, aware, in the calendar's zone.
        With n = 0 the deadline is the end of `start`'s local day if that is a
        working day, else the end of the next working day. The time of day of
        `start` does not matter, only its local date. Raises ValueError for a
        naive `start` or n < 0.
        """
        _require_aware(start, "start")
        return self.end_of_day(self.add_working_days(self.local_date(start), n))

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Return the working time elapsed from `start` to `end`, in days.

        Each local calendar day contributes the fraction of its real length
        (23, 24 or 25 hours across DST changes) that lies inside [start, end],
        if it is a working day. Returns 0.0 when end <= start; raises
        ValueError for naive datetimes. Cost is linear in the number of days.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end <= start:
            return 0.0
        start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
        total = 0.0
        for day in self._days(start, end):
            if self.is_working_day(day):
                total += self._fraction_of_day(day, start_utc, end_utc)
        return total

    # Internals ------------------------------------------------------------

    def _holiday_names(self, day: date) -> Iterator[str | None]:
        """Yield the admin, public and (if included) collective leave names of `day`."""
        yield self.extra_holidays.get(day)
        yield _indonesian_holidays(day.year, PUBLIC, self.language).get(day)
        if self.include_collective_leave:
            yield _indonesian_holidays(day.year, GOVERNMENT, self.language).get(day)

    def _days(self, start: datetime, end: datetime) -> Iterator[date]:
        """Yield every local date from `start`'s to `end`'s, inclusive."""
        day, last = self.local_date(start), self.local_date(end)
        while day <= last:
            yield day
            day += _ONE_DAY

    def _midnight_utc(self, day: date) -> datetime:
        """Return the instant `day` begins locally, in UTC.

        A midnight skipped by DST (fold=0 uses the earlier offset) maps to the
        transition instant, which is where the local day really begins.
        """
        return datetime.combine(day, time(), tzinfo=self.tzinfo).astimezone(UTC)

    def _fraction_of_day(self, day: date, start_utc: datetime, end_utc: datetime) -> float:
        """Return the fraction of local `day` that lies inside [start_utc, end_utc]."""
        day_start, day_end = self._midnight_utc(day), self._midnight_utc(day + _ONE_DAY)
        overlap = min(end_utc, day_end) - max(start_utc, day_start)
        return max(overlap, timedelta(0)) / (day_end - day_start)
