"""Find the dbt executable and run dbt commands as subprocesses (always an argv list)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from dbt_assets._core.errors import DbtCommandError, DbtNotFoundError

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


ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def dbt_env() -> dict[str, str]:
    """The environment dbt runs in: the user's, without colours or usage tracking."""
    return {**os.environ, "DBT_USE_COLORS": "false", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def run_dbt(
    argv: Sequence[str], *, cwd: Path, executable: str | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``dbt <argv>`` in ``cwd``, capture its output, raise :class:`DbtCommandError` on failure.

    The error message carries dbt's own last error lines, so the user sees what dbt said.
    """
    command = [find_dbt(executable), *argv]
    env = dbt_env()
    name = f"dbt {argv[0]}" if argv else "dbt"
    try:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )
    except subprocess.TimeoutExpired as exc:
        raise DbtCommandError(f"`{name}` did not finish within {timeout:.0f}s") from exc
    except (OSError, ValueError) as exc:  # ValueError: an argument with a NUL byte
        raise DbtCommandError(f"cannot start `{name}`: {exc}", "check the dbt options passed") from exc
    if done.returncode != 0:
        summary = dbt_error_summary(done.stdout + "\n" + done.stderr)
        raise DbtCommandError(
            f"`{name}` failed (exit {done.returncode}): {summary}",
            f"run `{' '.join(command)}` in {cwd} to see dbt's full output",
        )
    return done


_NOISE = re.compile(ANSI_COLOUR.pattern + r"|^\d\d:\d\d:\d\d(\.\d+)?\s+")


def dbt_error_summary(output: str) -> str:
    """dbt's own explanation of a failure, on one line: what follows "Encountered an error",
    else the lines that mention an error, else the last lines."""
    lines = [_NOISE.sub("", line).strip() for line in output.splitlines()]
    lines = [line for line in lines if line and not line.startswith("[WARNING]")]
    starts = [i for i, line in enumerate(lines) if line.startswith("Encountered an error")]
    if starts:
        picked = []
        for line in lines[starts[-1] + 1 : starts[-1] + 13]:  # all of it (a list of targets...)
            if line.startswith(("Summary of encountered", "To see all")):
                break
            picked.append(line)
        if len(picked) > 1 and picked[0].endswith("Error"):  # "Compilation Error" + its detail
            picked = [f"{picked[0]}: {picked[1]}", *picked[2:]]
    else:
        picked = [line for line in lines if "error" in line.lower()][-3:] or lines[-3:]
    return " ".join(picked) or "dbt printed nothing"


def die_with_parent() -> Callable[[], None] | None:
    """On Linux, what the dbt child runs before it starts: ask the kernel to kill it when its
    parent dies (however dbt-assets dies, SIGKILL included), so that no dbt is left building
    alone. SIGKILL: a dbt told to cancel (SIGINT) with no one reading its output can wait
    forever on a model that does not stop; what it finished was recorded as it reported it.
    The signal follows the thread that started dbt, the one iterating the run's events."""
    if not sys.platform.startswith("linux") or os.environ.get(WATCHDOG_ENV):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def arrange() -> None:  # in the child, between fork and exec: no allocation-heavy work
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return arrange


_PR_SET_PDEATHSIG = 1

WATCHDOG_ENV = "DBT_ASSETS_WATCHDOG"
"""Set (to anything) to use the watchdog process even where the kernel would kill dbt."""

_WATCHDOG = """
import os, signal, sys
group = int(sys.argv[1])
try:
    os.read(0, 1)  # blocks until dbt-assets closes its end, or dies (the kernel closes it)
finally:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""


class Watchdog:
    """Where the kernel cannot be asked to kill dbt with dbt-assets (not Linux), a small
    process that outlives dbt-assets does it: it waits on a pipe whose only writer is
    dbt-assets; the pipe ends when dbt-assets closes it or dies however it dies (SIGKILL
    included), and the watchdog then kills dbt's process group. :meth:`close` once dbt has
    exited."""

    def __init__(self, dbt_group: int) -> None:
        read, self._write = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _WATCHDOG, str(dbt_group)],
                stdin=read,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C to dbt-assets' group leaves it alone
            )
        finally:
            os.close(read)

    def close(self) -> None:
        os.close(self._write)
        self._process.wait()


def watchdog(dbt_group: int) -> Watchdog | None:
    """A :class:`Watchdog` for dbt's group when :func:`die_with_parent` cannot help."""
    if die_with_parent() is not None:
        return None
    return Watchdog(dbt_group)
