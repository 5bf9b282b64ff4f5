"""Read a file that dbt may be writing at this very moment.

dbt rewrites ``target/manifest.json``, ``run_results.json`` and ``sources.json`` in place,
not atomically: a reader that comes at the wrong moment sees half a file. A half-written file
is one that is still changing, or changed a moment ago; only for such a file is a decode
error worth waiting out. A file that stays broken is an error at once.

    >>> read_settled(Path("target/manifest.json"), json.loads)      # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

WAIT = 10.0
"""How long a reader waits for a file being written before it reports the error."""
_RECENT = 2.0
"""A file changed this recently (seconds) may still be being written."""
_POLL = 0.1


def read_settled(
    path: Path,
    decode: Callable[[bytes], T],
    *,
    wait: float = WAIT,
    errors: tuple[type[BaseException], ...] = (ValueError,),
) -> T:
    """``decode(path.read_bytes())``; when that raises one of ``errors`` while the file is
    being written (it changed since it was read, or within the last two seconds), wait until
    it has been still for a moment and try again, for up to ``wait`` seconds. A file that
    fails again unchanged is reported at once."""
    deadline = time.monotonic() + wait
    failed: tuple[int, int] | None = None
    while True:
        before = _signature(path)
        data = path.read_bytes()
        try:
            return decode(data)
        except errors:
            # the same bytes failing twice, after the file stood still: broken, not unfinished
            if before == failed or time.monotonic() >= deadline or not _being_written(path, before):
                raise
            failed = before
            _until_still(path, deadline)


def _signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _being_written(path: Path, before: tuple[int, int]) -> bool:
    try:
        now = _signature(path)
    except FileNotFoundError:
        return True  # replaced: the new one is on its way
    return now != before or time.time() - now[1] / 1e9 < _RECENT


def _until_still(path: Path, deadline: float) -> None:
    """Wait until the file has not changed for three polls in a row (or the deadline)."""
    last, still = None, 0
    while still < 3 and time.monotonic() < deadline:
        time.sleep(_POLL)
        try:
            current = _signature(path)
        except FileNotFoundError:
            current = None
        still = still + 1 if current == last and current is not None else 0
        last = current


def read_yaml(path: Path, error: Callable[[str, str], Exception]) -> Any:
    """A YAML file of the project (``dbt_project.yml``, ``selectors.yml``, ``dbt_assets.yml``),
    every way it can be unreadable an ``error(message, hint)`` naming the file: not UTF-8,
    not YAML, nested too deeply to read. A missing file is left to the caller
    (``FileNotFoundError``)."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{path}: not UTF-8 text (byte {exc.start}: {exc.object[exc.start : exc.start + 1]!r})",
            "save the file as UTF-8",
        ) from exc
    except IsADirectoryError as exc:
        raise error(f"{path}: is a directory, not a file", "point at the YAML file") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {str(exc).splitlines()[0]}", "fix the YAML syntax") from exc
    except RecursionError as exc:
        raise error(f"{path}: nested too deeply to read", "flatten the YAML") from exc
