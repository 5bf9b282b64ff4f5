"""Deadlines: HH:MM and cron in time zones, across daylight-saving changes; --at moments."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dbt_assets._core.errors import ScheduleError
from dbt_assets.sla.schedule import Deadline, parse_moment

pytestmark = pytest.mark.unit  # starts no process

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def at(zone: ZoneInfo, *parts: int) -> float:
    return datetime(*parts, tzinfo=zone).timestamp()  # type: ignore[misc]


def utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")


def test_daily_deadline_in_utc_by_default() -> None:
    deadline = Deadline.parse("07:00")
    noon = at(UTC, 2026, 7, 1, 12, 0)
    assert utc(deadline.latest(noon)) == "2026-07-01 07:00"
    assert utc(deadline.before(deadline.latest(noon))) == "2026-06-30 07:00"
    assert utc(deadline.next(noon)) == "2026-07-02 07:00"
    exactly = at(UTC, 2026, 7, 1, 7, 0)
    assert deadline.latest(exactly) == exactly and deadline.next(exactly) > exactly


def test_wall_clock_deadline_moves_in_utc_with_daylight_saving() -> None:
    deadline = Deadline.parse("07:00", "Europe/Berlin")
    # winter: 07:00 CET is 06:00 UTC; summer: 07:00 CEST is 05:00 UTC
    assert utc(deadline.latest(at(UTC, 2026, 3, 28, 12))) == "2026-03-28 06:00"
    assert utc(deadline.latest(at(UTC, 2026, 3, 29, 12))) == "2026-03-29 05:00"
    assert utc(deadline.latest(at(UTC, 2026, 10, 25, 12))) == "2026-10-25 06:00"
    # the day clocks go forward is 23 hours long, the day they go back 25
    spring = deadline.latest(at(UTC, 2026, 3, 29, 12))
    assert spring - deadline.before(spring) == 23 * 3600
    autumn = deadline.latest(at(UTC, 2026, 10, 25, 12))
    assert autumn - deadline.before(autumn) == 25 * 3600


def test_skipped_wall_time_falls_due_an_hour_later_in_the_new_time() -> None:
    deadline = Deadline.parse("02:30", "Europe/Berlin")  # 02:00-03:00 does not exist on 2026-03-29
    due = deadline.latest(at(UTC, 2026, 3, 29, 12))
    assert datetime.fromtimestamp(due, BERLIN).strftime("%m-%d %H:%M %Z") == "03-29 03:30 CEST"
    assert utc(deadline.before(due)) == "2026-03-28 01:30"  # 02:30 CET


def test_repeated_wall_time_falls_due_once() -> None:
    deadline = Deadline.parse("30 1 * * *", "America/New_York")  # 01:30 happens twice on 2026-11-01
    first = deadline.latest(at(UTC, 2026, 11, 1, 12))
    assert utc(first) == "2026-11-01 05:30"  # 01:30 EDT, the first of the two
    assert utc(deadline.next(first)) == "2026-11-02 06:30"  # 01:30 EST the next day


@pytest.mark.parametrize(
    ("expression", "now", "latest", "following"),
    [
        ("0 7 * * mon-fri", (2026, 11, 29, 12, 0), "2026-11-27 07:00", "2026-11-30 07:00"),  # a Sunday
        ("*/15 * * * *", (2026, 11, 24, 10, 7), "2026-11-24 10:00", "2026-11-24 10:15"),
        ("0 6,18 * * *", (2026, 11, 24, 12, 0), "2026-11-24 06:00", "2026-11-24 18:00"),
        ("0 0 1 * *", (2026, 11, 24, 12, 0), "2026-11-01 00:00", "2026-12-01 00:00"),
        ("0 0 29 feb *", (2026, 11, 24, 12, 0), "2024-02-29 00:00", "2028-02-29 00:00"),
        ("0 9 1 * 1", (2026, 11, 24, 12, 0), "2026-11-23 09:00", "2026-11-30 09:00"),  # day OR weekday
        ("0 12 * * 0,7", (2026, 11, 24, 12, 0), "2026-11-22 12:00", "2026-11-29 12:00"),  # 7 is Sunday
        ("0 8-10/2 * * *", (2026, 11, 24, 9, 0), "2026-11-24 08:00", "2026-11-24 10:00"),
    ],
)
def test_cron_expressions(expression: str, now: tuple[int, ...], latest: str, following: str) -> None:
    deadline = Deadline.parse(expression)
    moment = at(UTC, *now)
    assert utc(deadline.latest(moment)) == latest
    assert utc(deadline.next(moment)) == following


@pytest.mark.parametrize(
    ("expression", "needle"),
    [
        ("25:00", "neither HH:MM nor"),
        ("0 7 * *", "neither HH:MM nor"),
        ("61 7 * * *", "minute"),
        ("0 7 32 * *", "day of month"),
        ("0 7 * foo *", "month"),
        ("0 7 * * 9", "day of week"),
        ("0 10-8 * * *", "backwards"),
        ("*/0 7 * * *", "step"),
    ],
)
def test_bad_deadlines_say_what_is_wrong(expression: str, needle: str) -> None:
    with pytest.raises(ScheduleError, match=needle):
        Deadline.parse(expression)


def test_unknown_time_zone() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone"):
        Deadline.parse("07:00", "Mars/Olympus")


def test_moments() -> None:
    now = at(UTC, 2026, 11, 24, 10, 0)
    assert parse_moment("+2h", now) == now + 7200
    assert parse_moment("-30m", now) == now - 1800
    assert utc(parse_moment("07:00", now)) == "2026-11-25 07:00"
    assert utc(parse_moment("07:00", now, "Europe/Berlin")) == "2026-11-25 06:00"
    assert utc(parse_moment("2026-11-24T07:00", now)) == "2026-11-24 07:00"
    assert utc(parse_moment("2026-11-24T07:00+01:00", now)) == "2026-11-24 06:00"
    assert parse_moment("1700000000", now) == 1700000000
    with pytest.raises(ScheduleError, match="not a time"):
        parse_moment("tomorrow", now)
