"""Deadlines: ``"07:00"`` every day, or a five-field cron expression, in a time zone.

    >>> d = Deadline.parse("07:00", "Europe/Berlin")
    >>> from datetime import datetime, UTC
    >>> at = datetime(2026, 7, 1, 12, 0, tzinfo=UTC).timestamp()
    >>> datetime.fromtimestamp(d.latest(at), UTC).isoformat()
    '2026-07-01T05:00:00+00:00'

Deadlines are wall-clock times of their zone, so daylight saving moves them in UTC. A wall
time that does not exist on the day clocks go forward (02:30 in Europe/Berlin on the last
Sunday of March) falls due when the clocks read it would have been, one hour later in the
new time (03:30); a wall time that occurs twice when clocks go back falls due at its first
occurrence only. (Debian's cron, and the cronsim and croniter libraries, run a job of the
skipped hour at the jump instead, 03:00; croniter also runs a repeated time twice. A deadline
keeps its distance from the day's start, so this parser stays ours: see tests/test_schedule.py.)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dbt_assets._core.durations import AMOUNT, amount_seconds
from dbt_assets._core.errors import ScheduleError
from dbt_assets._core.quoting import quote

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December"]  # fmt: skip
_LONGEST_MONTH = dict(enumerate([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], 1))
"""The most days each month has (February's 29th: in leap years)."""
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
# (name, lowest, highest, names)
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
"""Cron's named schedules (what Airflow and crontab accept)."""
_SEARCH_DAYS = 366 * 8 + 2
"""How far to look for an occurrence (29 February falls on a given weekday within 28 years,
but a valid expression occurs within 8 years)."""


def _values(text: str, name: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    found: set[int] = set()
    for part in text.lower().split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"bad step {quote(step_text)} in the {name} field")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        else:
            first_text, _, last_text = base.partition("-")
            first = _number(first_text, name, low, high, names)
            last = _number(last_text, name, low, high, names) if last_text else (high if step_text else first)
            if last < first:
                raise ScheduleError(f"range {quote(base)} runs backwards in the {name} field")
        found.update(range(first, last + 1, step))
    return found


def _number(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    if text in names:
        return names[text]
    if not text.isdigit() or not low <= int(text) <= high:
        raise ScheduleError(f"{quote(text)} is not a valid {name} ({low}-{high})")
    return int(text)


@dataclass(frozen=True)
class Deadline:
    """When an asset must have succeeded: local wall-clock times of ``zone``."""

    text: str
    zone: ZoneInfo
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """Cron's numbering: 0 is Sunday."""
    any_day: bool
    any_weekday: bool
    _times: tuple[time, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        times = tuple(time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes))
        object.__setattr__(self, "_times", times)

    @classmethod
    def parse(cls, text: str, timezone: str | None = None) -> Deadline:
        """``"HH:MM"`` (every day), ``"M H DOM MON DOW"`` or a named schedule (``@daily``); the
        zone defaults to UTC."""
        try:
            zone = ZoneInfo(timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long for a file
            raise ScheduleError(
                f"unknown time zone {quote(timezone)}; use an IANA name such as Europe/Berlin"
            ) from exc
        clock = _CLOCK.match(text.strip())
        if clock:
            fields = [clock.group(2), clock.group(1), "*", "*", "*"]
        else:
            fields = PRESETS.get(text.strip().lower(), text).split()
            if len(fields) != 5:
                raise ScheduleError(f"{quote(text)} is neither HH:MM nor a five-field cron expression")
        values = [_values(f, *spec) for f, spec in zip(fields, _FIELDS, strict=True)]
        weekdays = {d % 7 for d in values[4]}
        if fields[4] == "*" and not any(min(values[2]) <= _LONGEST_MONTH[m] for m in values[3]):
            months = ", ".join(sorted({_MONTH_NAMES[m - 1] for m in values[3]}, key=_MONTH_NAMES.index))
            raise ScheduleError(
                f"{quote(text)} never falls due: no day {min(values[2])} in {months}",
                "give a day of the month that exists (29 February falls due in leap years only)",
            )
        return cls(
            text=text,
            zone=zone,
            minutes=frozenset(values[0]),
            hours=frozenset(values[1]),
            days=frozenset(values[2]),
            months=frozenset(values[3]),
            weekdays=frozenset(weekdays),
            any_day=fields[2] == "*",
            any_weekday=fields[4] == "*",
        )

    def _runs_on(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        on_day = day.day in self.days
        on_weekday = (day.weekday() + 1) % 7 in self.weekdays
        if self.any_day or self.any_weekday:  # cron: both restricted means either may match
            return on_day and on_weekday
        return on_day or on_weekday

    def _instants(self, day: date) -> list[float]:
        """The epoch seconds this deadline falls due on one local day, in order."""
        if not self._runs_on(day):
            return []
        return sorted({datetime.combine(day, t, self.zone).timestamp() for t in self._times})

    def _day(self, at: float) -> date:
        return datetime.fromtimestamp(at, self.zone).date()

    def latest(self, at: float) -> float:
        """The last time it fell due at or before ``at``."""
        day = self._day(at) + timedelta(days=1)  # a shifted wall time may belong to the next day
        for _ in range(_SEARCH_DAYS):
            earlier = [t for t in self._instants(day) if t <= at]
            if earlier:
                return earlier[-1]
            day -= timedelta(days=1)
        raise ScheduleError(f"the deadline {quote(self.text)} never falls due")

    def before(self, at: float) -> float:
        """The last time it fell due strictly before ``at``."""
        return self.latest(at - 1e-3)

    def next(self, at: float) -> float:
        """The first time it falls due after ``at``."""
        day = self._day(at) - timedelta(days=1)
        for _ in range(_SEARCH_DAYS):
            later = [t for t in self._instants(day) if t > at]
            if later:
                return later[0]
            day += timedelta(days=1)
        raise ScheduleError(f"the deadline {quote(self.text)} never falls due")


_RELATIVE = re.compile(rf"^([+-])\s*{AMOUNT}$")


EARLIEST = 0.0
LATEST = datetime(9000, 1, 1, tzinfo=UTC).timestamp()
"""The moments dbt-assets judges: from 1970 to the year 9000 (beyond, dates overflow)."""


def parse_moment(text: str, now: float, timezone: str | None = None) -> float:
    """:func:`_parse_moment`, refusing what is not a moment between 1970 and the year 9000."""
    try:
        value = _parse_moment(text, now, timezone)
    except (OverflowError, OSError) as exc:  # a date past what the platform's time can hold
        raise ScheduleError(
            f"{quote(text.strip())} is out of range: give a time between 1970 and 9000"
        ) from exc
    if not math.isfinite(value) or not EARLIEST <= value <= LATEST:
        raise ScheduleError(f"{quote(text.strip())} is out of range: give a time between 1970 and 9000")
    return value


def _parse_moment(text: str, now: float, timezone: str | None = None) -> float:
    """Epoch seconds of a moment given as ISO 8601 (``2026-11-24T07:00``, without an offset
    in ``timezone``, default UTC), ``HH:MM`` (the next such wall time), ``+2h``/``-30m``
    (from ``now``) or epoch seconds."""
    text = text.strip()
    zone = ZoneInfo(timezone) if timezone else UTC
    relative = _RELATIVE.match(text)
    if relative:
        sign = 1 if relative.group(1) == "+" else -1
        return now + sign * amount_seconds(relative.group(2), relative.group(3))
    if _CLOCK.match(text):
        return Deadline.parse(text, timezone).next(now)
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:  # also a year out of datetime's range
        raise ScheduleError(
            f"{quote(text)} is not a time; write 2026-11-24T07:00[+01:00], 07:00, +2h, -30m or epoch seconds"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.timestamp()
