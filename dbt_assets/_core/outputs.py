"""Where dbt-assets may write a file the user named: the one rule behind every output option
(``report --out``, ``run --report``, ``sla check --report``, ``export --out``, ``--openlineage``
and ``openlineage --to`` with a file).

An output never replaces what is not its own: a directory, anything that is not a regular
file, a database (SQLite, as the run history is, or DuckDB, as a warehouse may be, and their
journals), dbt-assets' own state (a project's ``.dbt-assets/``) or a file of a dbt project that
dbt reads (``dbt_project.yml``, ``profiles.yml``, ``selectors.yml``, ``dbt_assets.yml``, the
package files, and everything under the project's model, seed, snapshot, test, macro,
analysis, docs, asset and function paths, its ``target/``, ``logs/`` and installed packages).
The project is found from the path itself (the nearest folders above it holding a
``dbt_project.yml``), so the rule holds whatever project the command was given. A character
device or a pipe (``/dev/null``, a FIFO) and this process's own open files (``/dev/stdout``)
are written into, never replaced. A regular file is replaced whole (:func:`write_atomic`) or
appended to, never left half written.

    >>> write_output("report.html", "<html>…", option="the report")     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbt_assets._core.errors import DbtAssetsError, one_line

PROJECT_FILES = frozenset(
    {
        "dbt_project.yml",
        "profiles.yml",
        "selectors.yml",
        "dbt_assets.yml",
        "packages.yml",
        "dependencies.yml",
        "package-lock.yml",
    }
)
"""Files of a dbt project that no output replaces, wherever they are."""
PROJECT_PATHS = {
    "model-paths": ["models"],
    "seed-paths": ["seeds"],
    "snapshot-paths": ["snapshots"],
    "test-paths": ["tests"],
    "macro-paths": ["macros"],
    "analysis-paths": ["analyses"],
    "docs-paths": [],
    "asset-paths": [],
    "function-paths": ["functions"],
    "target-path": ["target"],
    "packages-install-path": ["dbt_packages"],
    "log-path": ["logs"],
}
"""dbt_project.yml's keys naming folders dbt reads or writes, with dbt's defaults."""
_PATH_ENV = {
    "target-path": "DBT_TARGET_PATH",
    "packages-install-path": "DBT_PACKAGES_INSTALL_PATH",
    "log-path": "DBT_LOG_PATH",
}
STATE_FOLDER = ".dbt-assets"
"""dbt-assets' own folder in a project: the run history and the results saved for recovery."""
_STREAM = re.compile(r"^/(?:dev/(stdout|stderr)|dev/fd/(\d+)|proc/self/fd/(\d+))$")
_MAGIC = (
    (b"SQLite format 3\x00", 0, "an SQLite database (a run history?)"),
    (b"DUCK", 8, "a DuckDB database"),
)
_JOURNALS = ("-wal", "-shm", "-journal")


class OutputError(DbtAssetsError):
    """An output that may not, or could not, be written where the user asked."""


@dataclass(frozen=True)
class OutputTarget:
    """Where an output goes: ``path`` (symlinks resolved); ``descriptor``, one of this
    process's open files to write into (``/dev/stdout``); ``into``, a device or pipe written
    into rather than replaced."""

    path: Path
    descriptor: int | None = None
    into: bool = False


def output_target(path: str | Path, option: str) -> OutputTarget:
    """Where an output named ``path`` may be written, or :class:`OutputError` saying why not
    (``option`` names the output in the message: ``--report``, ``the report``)."""
    given = str(path)
    stream = _STREAM.match(given)
    if stream:
        fd = {"stdout": 1, "stderr": 2}.get(stream[1] or "") or int(stream[2] or stream[3])
        with contextlib.suppress(OSError):
            os.fstat(fd)
            return OutputTarget(Path(given), descriptor=fd)
    if not given.strip():
        raise OutputError(f"{option}: an empty path", "give the file to write")
    target = Path(os.path.abspath(given)).resolve()  # through symlinks: the file that would change
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:  # a parent that is a file, a loop, no permission
        raise _cannot(option, given, exc) from exc
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"{option} {one_line(given)}: is a directory", "name a file to write in it")
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        return OutputTarget(target, into=True)
    if mode is not None and not stat.S_ISREG(mode):
        kind = "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a file"
        raise OutputError(f"{option} {one_line(given)}: is {kind}", "name a regular file to write")
    why = _not_ours(target, mode is not None)
    if why:
        raise OutputError(
            f"{option} {one_line(given)}: {why}; an output never replaces it",
            "write it elsewhere: outside the dbt project's folders and .dbt-assets/, not over a database",
        )
    return OutputTarget(target)


def write_output(path: str | Path, data: str | bytes, *, option: str, append: bool = False) -> Path:
    """Write ``data`` where :func:`output_target` allows: into a device, pipe or open file;
    else replacing the file whole, or (``append``) adding to its end, all or nothing. The
    path written; :class:`OutputError` naming it when it may not or cannot be written."""
    target = output_target(path, option)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if target.descriptor is not None:
            _flush(target.descriptor)
            with contextlib.suppress(BrokenPipeError):  # the reader left (`| head`), as print does
                _write_all(target.descriptor, raw)
        elif target.into:
            fd = os.open(target.path, os.O_WRONLY | os.O_APPEND)
            try:
                _write_all(fd, raw)
            finally:
                os.close(fd)
        elif append:
            target.path.parent.mkdir(parents=True, exist_ok=True)
            append_whole(target.path, raw)
        else:
            target.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target.path, raw)
    except OSError as exc:
        raise _cannot(option, str(path), exc) from exc
    return target.path


def write_atomic(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Replace ``path`` with ``data`` whole or not at all: a temporary file beside it, synced,
    then renamed over it (keeping the replaced file's permissions). On failure (a full disk)
    the temporary file is removed and ``path`` is as it was; the OSError is raised.
    ``sync=False`` for a file whose loss to a power cut costs nothing but work done again (the
    rename may then reach the disk before the data: the file reads as empty)."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as to any file
    try:
        try:
            _write_all(fd, data)
            with contextlib.suppress(OSError):
                os.fchmod(fd, stat.S_IMODE(path.stat().st_mode))
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def append_whole(path: Path, data: bytes) -> None:
    """Add ``data`` to the end of ``path`` (created if missing), all of it or none: a write
    cut short (a full disk) is cut off again, so the file ends where it ended."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        end = os.fstat(fd).st_size
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, end)
            raise
    finally:
        os.close(fd)


def _flush(fd: int) -> None:
    """What Python holds for the stream on ``fd`` goes first, so that the output follows it."""
    import sys

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            if stream.fileno() == fd:
                stream.flush()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _cannot(option: str, given: str, exc: OSError) -> OutputError:
    return OutputError(
        f"cannot write {option} to {one_line(given)}: {exc.strerror or exc}",
        "give a path in a folder you can write to, on a disk with space",
    )


def _not_ours(target: Path, exists: bool) -> str | None:
    """Why ``target`` (absolute, resolved) belongs to something else, or None."""
    if target.name in PROJECT_FILES:
        return f"is {target.name}, a file of a dbt project"
    if exists:
        kind = _database(target)
        if kind:
            return f"is {kind}"
    for suffix in _JOURNALS:
        if target.name.endswith(suffix) and _database(target.with_name(target.name[: -len(suffix)])):
            return "is the journal of a database beside it"
    for folder in target.parents:
        if (folder / "dbt_project.yml").is_file():
            why = _in_project(folder, target)
            if why:
                return why
    return None


def _database(path: Path) -> str | None:
    try:
        with path.open("rb") as file:
            head = file.read(16)
    except OSError:
        return None
    return next((kind for magic, at, kind in _MAGIC if head[at : at + len(magic)] == magic), None)


def _in_project(project: Path, target: Path) -> str | None:
    """Why ``target`` is a file of the dbt project at ``project``, or None."""
    if target.is_relative_to(project / STATE_FOLDER):
        return f"is in {project / STATE_FOLDER}, dbt-assets' own state (the run history)"
    config = _project_config(project)
    for key, default in PROJECT_PATHS.items():
        for folder in _folders(config, key, default):
            root = Path(os.path.abspath(project / folder))
            with contextlib.suppress(OSError):
                root = root.resolve()
            if target == root or target.is_relative_to(root):
                return f"is under {root}, the {key} of the dbt project {project}"
    return None


def _project_config(project: Path) -> dict[str, Any]:
    """dbt_project.yml's folder keys; an unreadable file leaves dbt's defaults."""
    from dbt_assets._core.settled import read_yaml

    try:
        loaded = read_yaml(project / "dbt_project.yml", DbtAssetsError)
    except (DbtAssetsError, OSError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _folders(config: dict[str, Any], key: str, default: list[str]) -> list[str]:
    """The folders of ``key``: configured (or from dbt's environment variable) and dbt's
    default both, since a value dbt renders (``{{ env_var(...) }}``) cannot be known here."""
    value = os.environ.get(_PATH_ENV.get(key, "")) or config.get(key)
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, str) and v.strip() and "{{" not in v] + default
