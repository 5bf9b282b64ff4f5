"""``dbt-assets worker``: a warm dbt (:class:`~dbt_assets.run.worker.Worker`) serving one
project's runs to the other dbt-assets processes of this host, on a unix socket. Each Airflow
task is a process of its own, and so is each ``dbt-assets run`` from a shell: they run through
the worker when one serves their project (and their dbt executable), the dbt CLI otherwise.

    >>> serve(Project("fixtures/dbt_project"))     # doctest: +SKIP (worker_server; until stopped)
    >>> connect(Project("fixtures/dbt_project"))   # doctest: +SKIP (another process)
    <RemoteWorker ...>

A socket that runs dbt is a way in (dbt runs the project's code), so it is its owner's only:
in ``$DBT_ASSETS_WORKER_DIR`` or ``<tmp>/dbt-assets-<uid>``, a folder only its owner may enter
(0700), the socket itself 0600. Both ends check that the folder and the socket belong to them
and that nobody else may enter, and, where the system says (Linux), that the process at the
other end runs as the same user. The server runs only dbt's run commands for its own project.

The protocol, JSON lines: the client sends ``{"op": "run", "token", "argv", "cwd", "env",
"cancel_grace"}`` (argv without the executable); the server answers ``{"accepted": true,
"pid": ...}`` once the worker is free (runs are served one at a time), then sends dbt's
output lines, then ``\\x1eTOKEN {"exit_code": N, "manifest_paths": [...], "manifest_mtime_ns": ...}``
(the manifests written just after, if any, and the time they will carry). Meanwhile the client
may send ``INT`` (stop, as Ctrl-C) or ``KILL``; a client that goes away kills its dbt, as dbt
dies with dbt-assets. Other operations: ``status``, ``prepare`` (a project's manifest made fresh
there), ``settle`` (answered once the last run's manifest is written) and ``stop``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import select
import signal
import socket
import stat
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from dbt_assets._core.errors import DbtAssetsError
from dbt_assets.run.dbt_cli import dbt_env, find_dbt
from dbt_assets.run.project import Project
from dbt_assets.run.supervise import DbtProcess
from dbt_assets.run.worker import warm_disabled
from dbt_assets.run.worker_process import MARK, ElsewhereProcess, Invocation

DIR_ENV = "DBT_ASSETS_WORKER_DIR"
SERVED_COMMANDS = frozenset({"run", "build", "test", "seed", "snapshot"})
"""What a worker runs for its clients: the commands dbt-assets runs."""
POLL = 0.2


def worker_dir() -> Path:
    """Where workers' sockets are: ``$DBT_ASSETS_WORKER_DIR``, else ``<tmp>/dbt-assets-<uid>``."""
    configured = os.environ.get(DIR_ENV)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / f"dbt-assets-{os.getuid()}"


def socket_path(project: Project) -> Path:
    """The socket of the worker for ``project`` and its dbt executable."""
    dbt = os.path.realpath(find_dbt(project.dbt_executable))
    key = hashlib.sha256(f"{project.project_dir}\0{dbt}".encode()).hexdigest()[:20]
    return worker_dir() / f"{key}.sock"


def private_folder(folder: Path) -> bool:
    """Whether ``folder`` is a directory of this user that nobody else may enter."""
    try:
        found = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid() and not found.st_mode & 0o077


def _ours(path: Path) -> bool:
    """Whether ``path`` is a socket of this user in a private folder."""
    try:
        found = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISSOCK(found.st_mode) and found.st_uid == os.getuid() and private_folder(path.parent)


def same_user(sock: socket.socket) -> bool:
    """Whether the process at the other end runs as this user (true where the system cannot say)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return True
    _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    return bool(uid == os.getuid())


def send_line(sock: socket.socket, payload: object) -> None:
    sock.sendall((payload if isinstance(payload, str) else json.dumps(payload)).encode() + b"\n")


# --- the client ---------------------------------------------------------------------------------


def connect(project: Project) -> RemoteWorker | None:
    """A client of the worker serving ``project``, when one answers; else None."""
    try:
        path = socket_path(project)
    except DbtAssetsError:
        return None
    if os.name != "posix" or not _ours(path):
        return None
    worker = RemoteWorker(path)
    try:
        worker.info = worker.request({"op": "status"}, timeout=5.0)
    except (OSError, ValueError):
        return None
    return worker if worker.info.get("project_dir") == str(project.project_dir) else None


def _fresh_here(project: Project) -> bool:
    """Whether ``project``'s manifest needs nothing of the worker before a run: fresh by the
    project's files, the one dbt-assets last stamped for this target and vars (not one another
    process wrote, nor one the worker is still writing), and newer than profiles.yml and the
    installed packages (a change there replaces the worker's dbt). Whatever else replaces it (a
    new dbt executable, a crash) is then done by the run itself, as the CLI would."""
    try:
        if project.stale_reason() is not None or not project.stamped():
            return False
        made = project.manifest_path.stat().st_mtime_ns
        others = [project.profiles_dir / "profiles.yml"]
        if project.packages_dir.is_dir():
            others += list(project.packages_dir.iterdir())
        return all(path.stat().st_mtime_ns <= made for path in others)
    except (OSError, DbtAssetsError):
        return False


class RemoteWorker:
    """A running ``dbt-assets worker``, seen from another process (see the module)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.info: dict[str, Any] = {}
        """The server's status when connected (``pid``, ``project_dir``, ``dbt``, ...)."""

    def __repr__(self) -> str:
        return f"<RemoteWorker {self.path}>"

    def _open(self, timeout: float | None) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(str(self.path))
            if not same_user(sock):
                raise OSError(f"the worker at {self.path} runs as another user")
        except OSError:
            sock.close()
            raise
        return sock

    def request(self, message: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """One operation's answer (``status``, ``prepare``, ``stop``)."""
        with self._open(timeout) as sock, sock.makefile("r", encoding="utf-8") as reader:
            send_line(sock, message)
            answer = json.loads(reader.readline())
        if not isinstance(answer, dict):
            raise ValueError("not an answer")
        return answer

    def status(self) -> dict[str, Any]:
        return self.request({"op": "status"}, timeout=5.0)

    def stop(self) -> None:
        """Ask the worker to stop (after the run it is serving, if any)."""
        self.request({"op": "stop"}, timeout=5.0)

    def settle(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # gone: nothing of it is left to wait for
            self.request({"op": "settle"})

    def prepare(self, project: Project) -> None:
        """Ask the worker to parse a stale manifest; nothing asked (no round trip: about 10 ms
        of each task of a per-asset Airflow DAG) when the manifest is fresh here (:func:`_fresh_here`)."""
        if warm_disabled() or _fresh_here(project):
            return
        options = {"project_dir": str(project.project_dir), "target": project.target, "vars": project.vars}
        with contextlib.suppress(OSError, ValueError, DbtAssetsError):  # the run says what is wrong
            self.request({"op": "prepare", **options, "profiles_dir": str(project.profiles_dir)})

    def process(
        self,
        argv: Sequence[str],
        cwd: Path,
        *,
        timeout: float | None,
        cancel_grace: float,
        cancel: threading.Event,
        kill: threading.Event,
    ) -> DbtProcess | None:
        token = secrets.token_hex(16)
        request: dict[str, Any] = {"op": "run", "token": token, "argv": list(argv[1:]), "cwd": str(cwd)}
        request |= {"env": dbt_env(), "cancel_grace": cancel_grace}
        try:
            sock = self._open(None)
        except OSError:
            return None  # gone since: the CLI runs it
        reader = sock.makefile("r", encoding="utf-8", errors="replace", newline=None)
        try:
            send_line(sock, request)
            while not select.select([sock], [], [], POLL)[0]:  # one run at a time: this one may wait
                if cancel.is_set() or kill.is_set():
                    raise InterruptedError("cancelled before dbt started")
            answer = json.loads(reader.readline())
            if not isinstance(answer, dict) or not answer.get("accepted"):
                raise OSError(str(answer.get("why")))
        except InterruptedError:
            reader.close()
            sock.close()
            return ElsewhereProcess.never_started(
                timeout=timeout, cancel_grace=cancel_grace, cancel=cancel, kill=kill
            )
        except (OSError, ValueError):  # refused or gone: the CLI runs it
            reader.close()
            sock.close()
            return None
        return RemoteProcess(
            sock, reader, Invocation(token, int(answer.get("pid", 0))), timeout, cancel_grace, cancel, kill
        )


class RemoteProcess(ElsewhereProcess):
    """A run served by a ``dbt-assets worker``: signals become ``INT``/``KILL`` messages to it."""

    def __init__(
        self,
        sock: socket.socket | None,
        reader: TextIO | None,
        invocation: Invocation,
        timeout: float | None,
        cancel_grace: float,
        cancel: threading.Event,
        kill: threading.Event,
    ) -> None:
        super().__init__(invocation, timeout=timeout, cancel_grace=cancel_grace, cancel=cancel, kill=kill)
        self._sock = sock
        if sock is not None and reader is not None:
            threading.Thread(target=self._read, args=(reader,), name="dbt-worker-client", daemon=True).start()

    def _read(self, reader: TextIO) -> None:
        invocation = self.invocation
        mark = f"{MARK}{invocation.token} "
        try:
            for line in reader:
                at = line.find(mark)
                if at < 0:
                    invocation.put(line)
                    continue
                if at > 0:
                    invocation.put(line[:at] + "\n")
                info = json.loads(line[at + len(mark) :])
                invocation.finish(int(info.get("exit_code", 1)), info)
                return
        except (OSError, ValueError):
            pass
        finally:
            reader.close()
        invocation.put("dbt-assets: the dbt-assets worker went away before dbt finished\n")
        invocation.finish(-int(signal.SIGKILL), {})

    def signal(self, signum: int) -> None:
        if signum == signal.SIGINT and self.interrupted_at is None:
            self.interrupted_at = time.time()
        word = {signal.SIGINT: "INT", signal.SIGKILL: "KILL"}.get(signal.Signals(signum))
        if word is not None and self._sock is not None:
            with contextlib.suppress(OSError):
                send_line(self._sock, word)

    def stop(self) -> None:
        if self.invocation.poll() is None:  # the reader stopped early: stop dbt as the CLI path does
            self.signal(signal.SIGINT)
            try:
                self.invocation.wait(self.cancel_grace)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
        if self._sock is not None:
            self._sock.close()  # the worker kills a dbt whose client is gone
