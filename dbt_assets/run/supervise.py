"""dbt as a supervised process: started in its own process group (so that every process dbt
starts can be signalled at once) that dies with dbt-assets (:func:`dbt_cli.die_with_parent`,
else a watchdog), its output read line by line while the timeout, a cancel request and a hung
dbt are watched for.

Cancelling sends SIGINT, as Ctrl-C does, so that dbt stops its queries and writes its
artifacts; after the grace period, or on a second request, the group gets SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from dbt_assets._core.errors import DbtNotFoundError, RunError
from dbt_assets.run.dbt_cli import dbt_env, die_with_parent, watchdog

POLL = 0.1
"""Seconds between looks at the timeout and cancel requests while dbt is quiet."""
EXITED_QUIET = 2.0
"""Seconds dbt may have exited with its output still open (a leftover child holds the pipe)."""


class DbtProcess:
    """One running dbt: :meth:`lines` until it ends, then :meth:`stop` (always)."""

    @property
    def manifest_written(self) -> dict[str, int]:
        """The manifests written after dbt has ended (a warm dbt writes its end-of-run
        manifest.json just after its answer), by real path, each with the modification time it
        will carry; empty when dbt wrote them itself."""
        return {}

    def __init__(
        self,
        argv: Sequence[str],
        cwd: Path,
        *,
        timeout: float | None,
        cancel_grace: float,
        cancel: threading.Event,
        kill: threading.Event,
    ) -> None:
        self.timeout = timeout
        self.cancel_grace = cancel_grace
        self._cancel = cancel
        self._kill = kill
        self.timed_out = False
        """Whether the timeout passed (the run was then cancelled)."""
        self.interrupted_at: float | None = None
        """When dbt was first told to stop (SIGINT)."""
        try:
            self._popen = subprocess.Popen(
                list(argv),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
                start_new_session=True,
                env=dbt_env(),
                preexec_fn=die_with_parent(),
            )
        except ValueError as exc:  # an argument with a NUL byte
            raise RunError(f"cannot start dbt: {exc}", "check the dbt options and flags passed") from exc
        except OSError as exc:
            raise DbtNotFoundError(
                f"cannot start dbt ({argv[0]}): {exc}", "pass --dbt-executable with a dbt that works"
            ) from exc
        self._watchdog = watchdog(self._popen.pid)

    @property
    def pid(self) -> int:
        return self._popen.pid

    def lines(self, started_at: float) -> Iterator[str]:
        """dbt's output lines, while watching for cancellation, the timeout and a hung dbt."""
        process = self._popen
        assert process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        stdout = process.stdout

        def pump() -> None:
            try:
                for line in stdout:
                    lines.put(line)
            except (OSError, ValueError):
                pass
            lines.put(None)

        threading.Thread(target=pump, name="dbt-output", daemon=True).start()
        stop_at: float | None = None  # when dbt must be dead
        exited_at: float | None = None
        eof = False
        while True:
            line: str | None = ""
            if not eof:
                try:
                    line = lines.get(timeout=POLL)
                except queue.Empty:
                    line = ""
                if line is None:
                    eof = True
                elif line:
                    yield line
            elif process.poll() is None:
                time.sleep(POLL)  # dbt closed its output but has not exited yet
            now = time.monotonic()
            if (
                self.timeout is not None
                and not self._cancel.is_set()
                and time.time() - started_at > self.timeout
            ):
                self.timed_out = True
                self._cancel.set()
            if self._cancel.is_set() and stop_at is None:
                self.signal(signal.SIGINT)
                stop_at = now + self.cancel_grace
            if (stop_at is not None and now >= stop_at) or self._kill.is_set():
                self.signal(signal.SIGKILL)
            if process.poll() is not None:
                if eof:
                    return
                exited_at = exited_at or now
                if not line and now - exited_at > EXITED_QUIET:
                    self.signal(signal.SIGKILL)  # a leftover child holds the pipe: end it
                    return

    def signal(self, signum: int) -> None:
        """Send ``signum`` to dbt's whole process group."""
        if signum == signal.SIGINT and self.interrupted_at is None:
            self.interrupted_at = time.time()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, signum)

    def wait(self) -> int:
        """dbt's exit code."""
        return self._popen.wait()

    def stop(self) -> None:
        """End dbt and whatever it left in its group (SIGINT, the grace period, SIGKILL), and
        release the watchdog and the pipe."""
        process = self._popen
        if process.poll() is None:
            self.signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=self.cancel_grace)
        self.signal(signal.SIGKILL)
        process.wait()
        if self._watchdog is not None:
            self._watchdog.close()
        if process.stdout is not None:
            process.stdout.close()
