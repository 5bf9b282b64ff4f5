"""One way to turn any public result into JSON, whatever it is made of: msgspec structs (runs,
events, SLA results), pydantic models (assets, exports) and dataclasses (plans, shards) all
become JSON's builtins, in their fields' order.

    >>> to_json({"at": 1.5, "ids": ("a", "b")})
    '{"at":1.5,"ids":["a","b"]}'
"""

from __future__ import annotations

from typing import Any

import msgspec


def _other(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # a pydantic model (not imported here: it is slow)
    if dump is not None:
        return dump(mode="json")
    raise NotImplementedError(f"cannot write a {type(value).__name__} as JSON")


def plain(value: Any) -> Any:
    """``value`` as dicts, lists, strings, numbers, booleans and None."""
    return msgspec.to_builtins(value, enc_hook=_other)


def to_json(value: Any, *, indent: int | None = None) -> str:
    """``value`` as one line of JSON (or indented by ``indent`` spaces)."""
    data = msgspec.json.encode(value, enc_hook=_other)
    return (data if indent is None else msgspec.json.format(data, indent=indent)).decode()
