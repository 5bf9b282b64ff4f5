"""Selections too long for one command line: a generated YAML selector in a shadow project.

An exact plan passes every union member as its own argv token, which is enough for almost
every selection. An orchestrator's arbitrary half of a 10,000-model project can still need
hundreds of kilobytes of tokens, past what an operating system accepts (``E2BIG``: about
128 KB per argument list here, 32,767 characters on Windows). Past ``MAX_ARGV`` the plan
says the same thing as a YAML selector instead:

    build --selector dbt_assets_selection --indirect-selection empty

dbt reads selectors only from the project's own ``selectors.yml``, which dbt-assets never
changes. dbt runs on a *shadow project* instead: a temporary directory with a link to every
entry of the project except ``selectors.yml``, and a ``selectors.yml`` holding the project's
selectors plus the generated one. dbt writes ``target/`` and ``logs/`` through the links into
the real project, partial parsing sees the same files (it does not record the project's
path), and the shadow is removed when the run ends.

    >>> with shadow_project(project_dir, plan.selector) as shadow:        # doctest: +SKIP
    ...     subprocess.run(["dbt", *plan.argv, "--project-dir", shadow])
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from dbt_assets._core.errors import SelectionError
from dbt_assets.selection.selectors import selectors_file

MAX_ARGV = 30_000 if sys.platform == "win32" else 100 * 1024
"""Above this many bytes of dbt arguments a plan switches to a generated selector."""
SELECTOR_NAME = "dbt_assets_selection"


def argv_size(argv: Sequence[str]) -> int:
    """Bytes the arguments take on a command line (each with its terminating NUL)."""
    return sum(len(arg.encode()) + 1 for arg in argv)


def selector_definition(select: Sequence[str], exclude: Sequence[str] = ()) -> dict[str, Any]:
    """The YAML selector meaning ``--select SELECT --exclude EXCLUDE`` in dbt's CLI syntax:
    a union of the words (``a,b`` an intersection) minus the union of the excluded words.
    Criteria stay in CLI syntax, so ``--indirect-selection`` applies to them as on the CLI."""
    members: list[Any] = [_word(w) for w in select]
    if exclude:
        members.append({"exclude": [{"union": [_word(w) for w in exclude]}]})
    return {"union": members}


def _word(word: str) -> Any:
    terms = [t for t in word.split(",") if t]
    return terms[0] if len(terms) == 1 else {"intersection": terms}


def split_argv(argv: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """(select words, exclude words, other arguments) of a plan's argv (command excluded)."""
    select: list[str] = []
    exclude: list[str] = []
    other: list[str] = []
    current: list[str] | None = None
    for arg in argv:
        if arg in ("--select", "-s"):
            current = select
        elif arg == "--exclude":
            current = exclude
        elif arg.startswith("-"):
            current = None
            other.append(arg)
        elif current is not None:
            current.append(arg)
        else:
            other.append(arg)
    return select, exclude, other


def selector_name(project_selectors: Sequence[Any]) -> str:
    """A selector name none of the project's selectors uses."""
    taken = {s.get("name") for s in project_selectors if isinstance(s, dict)}
    name, n = SELECTOR_NAME, 1
    while name in taken:
        n += 1
        name = f"{SELECTOR_NAME}_{n}"
    return name


@contextmanager
def shadow_project(project_dir: Path, selector: dict[str, Any]) -> Iterator[Path]:
    """A temporary project that is ``project_dir`` plus the generated ``selector``.

    Every entry of the project except selectors.yml is a symbolic link; the project's target
    and logs folders are created first so that dbt writes into them, not into the shadow.
    """
    project_dir = project_dir.resolve()
    shadow = Path(tempfile.mkdtemp(prefix="dbt-assets-shadow-"))
    try:
        for folder in ("target", "logs"):
            (project_dir / folder).mkdir(exist_ok=True)
        for entry in os.scandir(project_dir):
            if entry.name != "selectors.yml":
                (shadow / entry.name).symlink_to(entry.path, target_is_directory=entry.is_dir())
        selectors = [*selectors_file(project_dir).values(), selector]
        (shadow / "selectors.yml").write_text(yaml.safe_dump({"selectors": selectors}, sort_keys=False))
    except OSError as exc:
        _remove_shadow(shadow)
        raise SelectionError(
            f"cannot prepare a shadow project for the generated selector: {exc}",
            "the selection is too long for one dbt command line; select fewer assets or "
            "run from a file system that allows symbolic links",
        ) from exc
    try:
        yield shadow
    finally:
        _remove_shadow(shadow)


def _remove_shadow(shadow: Path) -> None:
    """Remove the links and the generated file, never what the links point to."""
    for entry in os.scandir(shadow):
        if entry.is_symlink() or entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)
        else:
            shutil.rmtree(entry.path, ignore_errors=True)
    shadow.rmdir()
