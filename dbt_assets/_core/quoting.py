"""Quoting a value the user gave in a message: one line, a few dozen characters, and bounded
work whatever the value (a megabyte string, a list of a million items, a nested structure
built by YAML aliases).

    >>> len(quote("x" * 10_000))
    56
    >>> quote([1, [2, [3, [4, [5]]]]])
    '[1, [2, [3, [...]]]]'
"""

from __future__ import annotations

import reprlib
from typing import Any

from dbt_assets._core.errors import one_line

WIDTH = 60
"""The longest a quoted value gets, in characters."""

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = WIDTH - 4
_REPR.maxother = WIDTH - 4
_REPR.maxlong = 40
for _name in ("maxtuple", "maxlist", "maxarray", "maxdict", "maxset", "maxfrozenset", "maxdeque"):
    setattr(_REPR, _name, 6)


def quote(value: Any, width: int = WIDTH) -> str:
    """``repr(value)`` cut to ``width`` characters on one line (an ellipsis marks the cut)."""
    text = one_line(_REPR.repr(value))
    return text if len(text) <= width else text[: width - 1] + "…"


def cut(text: str, width: int = 300) -> str:
    """``text`` (a message that may carry a value) on one line of at most ``width`` characters."""
    text = one_line(text[: width * 4])  # escaping at most quadruples a character
    return text if len(text) <= width else text[: width - 1] + "…"
