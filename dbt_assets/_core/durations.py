"""Durations as people write them (``90s``, ``10m``, ``6h``, ``1.5d``) and as dbt-assets shows
them (``0.42s``, ``3m07s``, ``5h02m``, ``2d04h``)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
AMOUNT = r"(\d+(?:\.\d+)?)\s*(s|m|h|d)"
"""A number and its unit, as a regular expression with the two groups."""
_DURATION = re.compile(rf"^\s*{AMOUNT}\s*$")
_LONGEST = 1000 * 365 * 86400.0


def parse_duration(value: Any) -> float:
    """Seconds of ``"90s"``, ``"10m"``, ``"6h"``, ``"1.5d"`` (or a number of seconds), between
    one second and 1000 years; ValueError otherwise.

    >>> parse_duration("1.5h")
    5400.0
    """
    from dbt_assets._core.quoting import quote

    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{quote(value)} is not a duration; write it like 90s, 10m, 6h or 1d")
    if isinstance(value, int):
        seconds = float(value) if abs(value) < 10**12 else math.inf  # beyond any limit, not a crash
    elif isinstance(value, float):
        seconds = value
    else:
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"{quote(value)} is not a duration; write it like 90s, 10m, 6h or 1d")
        seconds = amount_seconds(match.group(1), match.group(2))
    if not 0 < seconds <= _LONGEST:  # also NaN and infinity
        raise ValueError(f"{quote(value)} is not a duration between 1 second and 1000 years")
    return seconds


def amount_seconds(number: str, unit: str) -> float:
    """Seconds of one :data:`AMOUNT` match's two groups."""
    return float(number) * UNITS[unit]


def duration_text(seconds: float | None) -> str:
    """``0.42s``, ``3m07s``, ``5h02m``, ``2d04h``, a zero second part left out (``30m``, ``6h``,
    ``1d``); empty when unknown.

    >>> duration_text(3727), duration_text(86400), duration_text(1800)
    ('1h02m', '1d', '30m')
    """
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    for big, small, units in ((days, hours, "dh"), (hours, minutes, "hm"), (minutes, secs, "ms")):
        if big:
            return f"{big}{units[0]}" + (f"{small:02d}{units[1]}" if small else "")
    return f"{secs}s"  # pragma: no cover (under a minute is written with decimals above)


def percentile(values: Iterable[float], share: float = 0.9) -> float | None:
    """The ``share`` quantile (nearest rank) of ``values``; None when there are none.

    >>> percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    9
    """
    import math

    ordered = sorted(values)
    if not ordered:
        return None
    rank = math.ceil(round(share * len(ordered), 9))
    return ordered[min(max(rank, 1), len(ordered)) - 1]
