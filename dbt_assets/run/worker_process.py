"""The process side of a warm dbt (:mod:`dbt_assets.run.worker`): finding the Python of a
dbt executable, starting ``worker_child.py`` with it, one request to the child shaped as the
``Popen`` :class:`DbtProcess` drives, and :class:`WorkerProcess`, one run's dbt in the child."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from dbt_assets._core.errors import RunError
from dbt_assets.run.dbt_cli import dbt_env, die_with_parent
from dbt_assets.run.supervise import DbtProcess

CHILD = Path(__file__).with_name("worker_child.py")
MARK = "\x1e"
"""Starts the line that ends a request: the mark, the request's token, what the child says."""

_PIP_LONG_SHEBANG = re.compile(r"""'''exec' (?:"([^"]+)"|(\S+))""")


def dbt_python(executable: str) -> str | None:
    """The Python that runs the dbt script ``executable`` (from its ``#!`` line, or pip's
    ``'''exec'`` form for long paths); None when dbt is not a Python script."""
    try:
        with open(executable, "rb") as script:
            lines = script.read(2048).decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    if not lines or not lines[0].startswith("#!"):
        return None
    words = lines[0][2:].split()
    if words and words[0] in ("/bin/sh", "/bin/bash") and len(lines) > 1:
        found = _PIP_LONG_SHEBANG.match(lines[1])
        words = [next(g for g in found.groups() if g)] if found else []
    if words and Path(words[0]).name == "env" and len(words) > 1:
        words = [shutil.which(words[1]) or ""]
    python = words[0] if words else ""
    usable = Path(python).name.startswith("python") and os.access(python, os.X_OK)
    return python if usable else None


class Invocation:
    """One request to a child, shaped as the ``Popen`` :class:`DbtProcess` drives: ``stdout``
    (dbt's lines until the request's end mark), ``poll``, ``wait``, ``pid`` (the child's, whose
    process group is dbt's)."""

    def __init__(self, token: str, pid: int) -> None:
        self.token = token
        self.pid = pid
        self.returncode: int | None = None
        self.info: dict[str, Any] = {}
        """What the child said at the end: ``exit_code``, ``rss``, ``manifest``."""
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._done = threading.Event()
        self.stdout: Iterator[str] = iter(self._lines.get, None)

    def put(self, line: str) -> None:
        self._lines.put(line)

    def finish(self, code: int, info: dict[str, Any]) -> None:
        self.info = info
        self.returncode = code
        self._done.set()
        self._lines.put(None)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired("dbt", timeout or 0.0)
        assert self.returncode is not None
        return self.returncode


class Child:
    """A started ``worker_child.py``: its requests, and the one thread reading its output,
    which hands each line to the request it belongs to, and tells when what the child writes
    after an answer (dbt's manifest) is written (:meth:`settled`)."""

    def __init__(self, python: str, cwd: Path, boot_timeout: float) -> None:
        boot = Invocation(secrets.token_hex(16), 0)
        in_main_thread = threading.current_thread() is threading.main_thread()
        self.popen = subprocess.Popen(
            [python, str(CHILD), boot.token],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            start_new_session=True,
            env=dbt_env(),
            # the kernel's parent-death signal follows the starting thread: from the main
            # thread only (from another, the child would die with that thread); stdin is the
            # lifeline in every case
            preexec_fn=die_with_parent() if in_main_thread else None,
        )
        self.pid = boot.pid = self.popen.pid
        self._lock = threading.Lock()
        self._current: Invocation | None = boot
        self.dead = False
        self.boot_timeout = boot_timeout
        self._settling: str | None = None
        """The token of the answered request whose manifest the child is writing."""
        self._settled = threading.Event()
        self._settled.set()
        self._settle_info: dict[str, Any] = {}
        threading.Thread(target=self._pump, name=f"dbt-worker-{self.pid}", daemon=True).start()
        try:
            boot.wait(boot_timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RunError(
                f"the warm dbt did not start within {boot_timeout:g}s", "try again, or pass --no-warm"
            ) from None
        if not boot.info.get("ready"):
            self.kill()
            said = boot.info.get("error") or f"it exited with code {boot.returncode}"
            raise RunError(f"dbt cannot start in a warm worker: {said}", f"check that {python} imports dbt")
        self.dbt_version = str(boot.info.get("dbt_version", ""))

    @property
    def alive(self) -> bool:
        return not self.dead and self.popen.poll() is None

    def wait_settled(self, timeout: float | None) -> bool:
        """Whether the child has written what it writes after its last answer, waiting at
        most ``timeout`` seconds (what it said is left for :meth:`settled`)."""
        return self._settled.wait(timeout)

    def settled(self, timeout: float | None) -> dict[str, Any] | None:
        """Once the child has written what it writes after its last answer (at once when it
        writes nothing, or is dead): what it said (``written``, ``errors``); None when that
        took longer than ``timeout``. What it said is given once, then ``{}``."""
        if not self._settled.wait(timeout):
            return None
        with self._lock:  # said once
            info, self._settle_info = self._settle_info, {}
        return info

    def request(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> Invocation:
        """Send ``dbt ARGV`` (without the executable) to the child."""
        invocation = Invocation(secrets.token_hex(16), self.pid)
        with self._lock:
            if self.dead:
                invocation.finish(self.popen.wait(), {})
                return invocation
            self._current = invocation
        message = {"token": invocation.token, "argv": list(argv), "cwd": str(cwd), "env": dict(env)}
        stdin = self.popen.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(message) + "\n")
            stdin.flush()
        except (OSError, ValueError):  # the child died: its end of output finishes the request
            pass
        return invocation

    def _pump(self) -> None:
        stdout = self.popen.stdout
        assert stdout is not None
        for line in stdout:
            with self._lock:
                current, settling = self._current, self._settling
            at = -1 if settling is None else line.find(f"{MARK}{settling}+ ")
            if settling is not None and at >= 0:  # after a dbt thread's unfinished line, maybe
                self._settle(line[at + len(settling) + 3 :])
                continue
            if current is None:
                continue  # a dbt thread still printing after its request ended: nobody's
            mark = f"{MARK}{current.token} "
            at = line.find(mark)
            if at < 0:
                current.put(line)
                continue
            if at > 0:
                current.put(line[:at] + "\n")
            try:
                info = json.loads(line[at + len(mark) :])
            except ValueError:
                info = {}
            with self._lock:
                self._current = None
                if info.get("settling"):
                    self._settling = current.token
                    self._settled.clear()
            current.finish(int(info.get("exit_code", 0)), info)
        code = self.popen.wait()
        with self._lock:
            current, self._current, self.dead = self._current, None, True
        if current is not None:
            current.finish(code, {})
        self._settle("{}")

    def _settle(self, said: str) -> None:
        try:
            info = json.loads(said)
        except ValueError:
            info = {}
        with self._lock:
            self._settling = None
            self._settle_info = info if isinstance(info, dict) else {}
        self._settled.set()

    def close(self) -> None:
        """End the child, once it has written what it writes after its last answer (within
        its boot timeout): closing its stdin makes it kill its group; SIGKILL if it lingers."""
        self.settled(self.boot_timeout)
        stdin = self.popen.stdin
        if stdin is not None:
            with contextlib.suppress(OSError):
                stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        self.kill()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait()


class ElsewhereProcess(DbtProcess):
    """A dbt invocation that runs in another process than one of its own (a warm child, or
    a ``dbt-assets worker``), driven as :class:`DbtProcess` drives a dbt process: the same
    lines, timeout, cancel and kill, through ``invocation`` (shaped as its ``Popen``)."""

    def __init__(
        self,
        invocation: Invocation,
        *,
        timeout: float | None,
        cancel_grace: float,
        cancel: threading.Event,
        kill: threading.Event,
    ) -> None:
        # DbtProcess.__init__ is not called: it would start a dbt process
        self.timeout = timeout
        self.cancel_grace = cancel_grace
        self._cancel = cancel
        self._kill = kill
        self.timed_out = False
        self.interrupted_at = None
        self._popen = cast("subprocess.Popen[str]", invocation)  # stdout, poll, wait, pid
        self._watchdog = None
        self.invocation = invocation
        self.killed = False
        """Whether dbt was killed (SIGKILL: the grace period passed, or a second cancel)."""

    @classmethod
    def never_started(
        cls, *, timeout: float | None, cancel_grace: float, cancel: threading.Event, kill: threading.Event
    ) -> ElsewhereProcess:
        """A run cancelled while it waited for a busy warm dbt: dbt never started (exit 130)."""
        invocation = Invocation("", 0)
        invocation.finish(130, {})
        process = ElsewhereProcess(
            invocation, timeout=timeout, cancel_grace=cancel_grace, cancel=cancel, kill=kill
        )
        process.interrupted_at = time.time()
        return process

    @property
    def manifest_written(self) -> dict[str, int]:
        info = self.invocation.info
        at, paths = info.get("manifest_mtime_ns"), info.get("manifest_paths")
        if not isinstance(at, int) or not isinstance(paths, list):
            return {}
        return {str(path): at for path in paths}

    def signal(self, signum: int) -> None:
        if self.invocation.pid <= 0:  # nothing runs: no process group to signal (0 is ours)
            self.interrupted_at = self.interrupted_at or time.time()
            return
        if signum == signal.SIGKILL:
            self.killed = True
        super().signal(signum)

    def stop(self) -> None:
        """Nothing of its own to end (a subclass hands its child back, or closes its socket)."""


class WorkerProcess(ElsewhereProcess):
    """One invocation of a warm child: :meth:`stop` hands the child back (``on_stop``)
    instead of ending it."""

    def __init__(
        self,
        child: Child,
        invocation: Invocation,
        on_stop: Callable[[WorkerProcess], None],
        *,
        timeout: float | None,
        cancel_grace: float,
        cancel: threading.Event,
        kill: threading.Event,
    ) -> None:
        super().__init__(invocation, timeout=timeout, cancel_grace=cancel_grace, cancel=cancel, kill=kill)
        self.child = child
        self._on_stop = on_stop
        self._stopped = False

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._on_stop(self)
