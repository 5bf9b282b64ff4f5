"""Find the dbt executable and run dbt commands as subprocesses (always an argv list)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from dbt_assets.errors import DbtCommandError, DbtNotFoundError

DBT_EXECUTABLE_ENV = "DBT_ASSETS_DBT_EXECUTABLE"


def find_dbt(executable: str | None = None) -> str:
    """Path of the dbt to run: ``executable``, ``$DBT_ASSETS_DBT_EXECUTABLE``, the dbt
    installed beside this Python, or the first ``dbt`` on ``PATH``."""
    wanted = executable or os.environ.get(DBT_EXECUTABLE_ENV)
    if wanted:
        found = shutil.which(wanted)
        if found is None:
            raise DbtNotFoundError(
                f"dbt executable '{wanted}' not found",
                "pass --dbt-executable with the path of a dbt that works, or install dbt-core",
            )
        return found
    beside = Path(sys.executable).with_name("dbt")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise DbtNotFoundError(
            "dbt is not installed in this environment and not on PATH",
            "pip install 'dbt-core>=1.8,<1.12' and an adapter, or pass --dbt-executable",
        )
    return found


def run_dbt(
    argv: Sequence[str], *, cwd: Path, executable: str | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``dbt <argv>`` in ``cwd``, capture its output, raise :class:`DbtCommandError` on failure.

    The error message carries dbt's own last error lines, so the user sees what dbt said.
    """
    command = [find_dbt(executable), *argv]
    try:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise DbtCommandError(f"`dbt {' '.join(argv)}` did not finish within {timeout:.0f}s") from exc
    if done.returncode != 0:
        raise DbtCommandError(
            f"`dbt {' '.join(argv)}` failed (exit {done.returncode}): {_last_error(done)}",
            "run the same dbt command yourself to see its full output",
        )
    return done


def _last_error(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (done.stdout + "\n" + done.stderr).splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    picked = errors[-3:] if errors else lines[-3:]
    return " | ".join(picked) or "no output"
