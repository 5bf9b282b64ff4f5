"""Find the dbt executable and run dbt commands as subprocesses (always an argv list)."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from dbt_assets._core.errors import DbtCommandError, DbtNotFoundError
from dbt_assets._core.quoting import cut
from dbt_assets._core.signals import unhandled

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
    """Run ``dbt <argv>`` in ``cwd`` (:func:`supervised_run`), capture its output, raise
    :class:`DbtCommandError` on failure: dbt's own message on one line (its traceback left
    out), and the command that shows dbt's full output."""
    command = [find_dbt(executable), *argv]
    name = f"dbt {argv[0]}" if argv else "dbt"
    try:
        done = supervised_run(command, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise DbtCommandError(f"`{name}` did not finish within {timeout:.0f}s") from exc
    except (OSError, ValueError) as exc:  # ValueError: an argument with a NUL byte
        raise DbtCommandError(f"cannot start `{name}`: {exc}", "check the dbt options passed") from exc
    if done.returncode != 0:
        summary = dbt_error_summary(done.stdout + "\n" + done.stderr)
        raise DbtCommandError(
            f"`{name}` failed (exit {done.returncode}): {summary}",
            f"run `{shlex.join(command)}` in {cwd} to see dbt's full output",
        )
    return done


STOP_GRACE = 3.0
"""Seconds a dbt told to stop (SIGINT) by :func:`supervised_run` has before it is killed."""


def supervised_run(
    command: Sequence[str], *, cwd: Path, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(command, capture_output=True, text=True)`` for a dbt that must not
    outlive dbt-assets: in its own process group, which dies with dbt-assets
    (:func:`die_with_parent`, else a :class:`Watchdog`) and is stopped when the wait ends
    early (the timeout, Ctrl-C, or an exception from a signal handler). SIGTERM and SIGHUP,
    which would end dbt-assets at once and leave dbt alone, interrupt the wait as Ctrl-C
    does while dbt runs (when nothing else handles them). Raises ``TimeoutExpired`` as
    ``subprocess.run`` does."""
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=dbt_env(),
        start_new_session=True,
        preexec_fn=die_with_parent(),
    )
    guard = watchdog(process.pid)
    try:
        with _signals_interrupt():
            out, err = process.communicate(timeout=timeout)
    finally:
        _end_group(process)
        if guard is not None:
            guard.close()
    return subprocess.CompletedProcess(list(command), process.returncode, out, err)


def _end_group(process: subprocess.Popen[str]) -> None:
    """Stop dbt if it still runs (SIGINT, :data:`STOP_GRACE`, SIGKILL), and end whatever it
    left in its process group."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_GRACE)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived while dbt-assets waited for a dbt: handled as Ctrl-C is."""


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """While dbt runs: SIGTERM and SIGHUP raise :class:`Stopped` in the main thread instead of
    ending the process at once, where nothing else handles them (their default action, or a
    SIGTERM ignored at start: :func:`~dbt_assets._core.signals.unhandled`)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def stop(signum: int, _frame: object) -> None:
        raise Stopped(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        if unhandled(sig):
            previous[sig] = signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_TIME = re.compile(r"^\d\d:\d\d:\d\d(\.\d+)?\s+")


def _clean(line: str) -> str:
    """A line of dbt's text output without its colours and its time stamp."""
    return _TIME.sub("", ANSI_COLOUR.sub("", line))


_TRACEBACK = "Traceback (most recent call last)"
_CHAINED = ("During handling of the above exception", "The above exception was the direct cause")
_EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w]*\.)*([A-Za-z_]\w*(?:Error|Exception|Interrupt)\b.*)$")
SUMMARY_WIDTH = 600
"""The longest dbt error summary, in characters (dbt's message alone is far shorter)."""


def dbt_error_summary(output: str) -> str:
    """dbt's own explanation of a failure, on one line of at most :data:`SUMMARY_WIDTH`
    characters: what follows "Encountered an error", else the lines that mention an error,
    else the last lines. A Python traceback dbt prints is left out (of one with no message
    before it, its last line is kept: the exception, without its module path)."""
    lines = []
    for line in _without_tracebacks(output.splitlines()):
        line = line.strip()
        if line and not line.startswith("[WARNING]"):
            lines.append(line)
    starts = [i for i, line in enumerate(lines) if line.startswith("Encountered an error")]
    if starts:
        picked = []
        for line in lines[starts[-1] + 1 : starts[-1] + 13]:  # all of it (a list of targets...)
            if line.startswith(("Summary of encountered", "To see all", _TRACEBACK)):
                break
            picked.append(line)
        if len(picked) > 1 and picked[0].endswith("Error"):  # "Compilation Error" + its detail
            picked = [f"{picked[0]}: {picked[1]}", *picked[2:]]
    else:
        picked = [line.removeprefix(_TRACEBACK) for line in lines if "error" in line.lower()][-3:]
        picked = picked or [line.removeprefix(_TRACEBACK) for line in lines[-3:]]
    return cut(" ".join(picked), SUMMARY_WIDTH) or "dbt printed nothing"


def _without_tracebacks(lines: list[str]) -> list[str]:
    """``lines`` with each Python traceback replaced by one line: the traceback marker and
    the exception it ends with (``DbtValidationError: ...``)."""
    kept: list[str] = []
    inside = False
    for line in lines:
        text = _clean(line)
        if text.strip().startswith(_TRACEBACK):
            inside = True
            continue
        if inside:
            if not text.strip() or text.startswith((" ", "\t")) or text.startswith(_CHAINED):
                continue
            inside = False
            found = _EXCEPTION.match(text.strip())
            kept.append(_TRACEBACK + (found[1] if found else text.strip()))
            continue
        kept.append(text)
    return kept


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
