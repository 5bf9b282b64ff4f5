"""Read a file that dbt may be writing at this very moment.

dbt rewrites ``target/manifest.json``, ``run_results.json`` and ``sources.json`` in place,
not atomically: a reader that comes at the wrong moment sees half a file. A half-written file
is one that is still changing, or changed a moment ago; only for such a file is a decode
error worth waiting out. A file that stays broken is an error at once.

    >>> read_settled(Path("target/manifest.json"), json.loads)      # doctest: +SKIP
"""

from __future__ import annotations

import copy
import hashlib
import threading
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


YAML_BYTES = 64 << 20
"""The largest YAML file dbt-assets reads (64 MiB; a project's files are a small part of it)."""
YAML_EXPANSION = 1_000_000
"""How many values YAML aliases (``*name``, ``<<: *name``) may add to a file: past it, the
file is refused before it is built (an alias bomb, a few lines that expand to millions)."""


def read_yaml(path: Path, error: Callable[[str, str], Exception], *, keep: bool = False) -> Any:
    """A YAML file of the project (``dbt_project.yml``, ``selectors.yml``, ``dbt_assets.yml``),
    every way it can be unreadable an ``error(message, hint)`` naming the file: not UTF-8,
    not YAML, nested too deeply, larger than :data:`YAML_BYTES`, aliases that expand past
    :data:`YAML_EXPANSION` values or into themselves. Bounded work for any file. A missing
    file is left to the caller (``FileNotFoundError``). ``keep``: parse the same text once in
    this process (:data:`_READ`)."""
    import yaml

    try:
        with path.open("rb") as file:
            raw = file.read(YAML_BYTES + 1)
    except IsADirectoryError as exc:
        raise error(f"{path}: is a directory, not a file", "point at the YAML file") from exc
    if len(raw) > YAML_BYTES:
        raise error(
            f"{path}: larger than {YAML_BYTES >> 20} MiB", "a YAML file of the project is far smaller"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{path}: not UTF-8 text (byte {exc.start}: {exc.object[exc.start : exc.start + 1]!r})",
            "save the file as UTF-8",
        ) from exc
    digest = hashlib.blake2b(raw, digest_size=16).digest()
    with _READ_LOCK:
        kept = _READ.pop(digest, _READ) if keep else _READ
        if kept is not _READ:
            _READ[digest] = kept  # the most recently used, last
    if kept is not _READ:
        return copy.deepcopy(kept)
    try:
        value = yaml.load(text, Loader=_bounded_loader())
    except _Expansion as exc:
        raise error(f"{path}: {exc}", "write the values out, or use fewer nested aliases") from exc
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {str(exc).splitlines()[0]}", "fix the YAML syntax") from exc
    except (ValueError, OverflowError) as exc:  # a value YAML reads but Python cannot hold
        first = (str(exc).splitlines() or [""])[0][:200]  # 2026-02-31, an integer of 5,000 digits
        raise error(f"{path}: a value that cannot be read: {first}", "fix the value") from exc
    except RecursionError as exc:
        raise error(f"{path}: nested too deeply to read", "flatten the YAML") from exc
    if keep and len(raw) <= _READ_MAX_BYTES:
        with _READ_LOCK:
            _READ[digest] = copy.deepcopy(value)
            while len(_READ) > _READ_KEPT:
                del _READ[next(iter(_READ))]
    return value


_READ: dict[bytes, Any] = {}
"""What :func:`read_yaml` read with ``keep``, by the digest of the text (the same text is the
same value, whichever file and whenever): a process that reads ``dbt_project.yml`` at every run
(a warm worker's server, an automation loop) parses it once. Callers get copies of their own.
Only where asked: profiles.yml, with its secrets, is never kept."""
_READ_KEPT = 32
_READ_MAX_BYTES = 1 << 20
"""Files kept: at most this many, each at most this big."""
_READ_LOCK = threading.Lock()


class _Expansion(Exception):
    """YAML aliases that expand too far, or into themselves."""


_LOADER: Any = None


def _bounded_loader() -> Any:
    """yaml.SafeLoader that measures what its aliases expand to before building anything."""
    global _LOADER
    if _LOADER is None:
        import yaml

        class BoundedLoader(yaml.SafeLoader):
            def construct_document(self, node: Any) -> Any:
                _check_expansion(node)
                return super().construct_document(node)

        _LOADER = BoundedLoader
    return _LOADER


def _check_expansion(root: Any) -> None:
    """Count the values of the document as it would be built, each alias expanded (a merge
    key's mapping included): refuse a document whose aliases add more than
    :data:`YAML_EXPANSION` values, or one that contains itself. Linear in the file: each
    node's expanded size is counted once."""
    import yaml

    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # the node being counted and its ancestors
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, counted = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children = (
            [part for pair in node.value for part in pair]
            if isinstance(node, yaml.MappingNode)
            else node.value
        )
        if not counted:
            if key in open_nodes:
                raise _Expansion(
                    f"an alias at line {node.start_mark.line + 1} refers to a value that contains it"
                )
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        open_nodes.discard(key)
        sizes[key] = 1 + sum(sizes[id(child)] for child in children)
        if sizes[key] > YAML_EXPANSION + len(sizes):
            raise _Expansion(f"its aliases expand to more than {YAML_EXPANSION:,} values")
