"""The server of ``dbt-assets worker`` (:mod:`dbt_assets.run.worker_socket` says what it is,
where its socket is, who may use it and how they speak to it): one thread per connection, one
run at a time (the warm worker's own lock), the socket and a lock file held while it serves."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from dbt_assets._core.errors import DbtAssetsError, RunError
from dbt_assets.run.project import Project
from dbt_assets.run.worker import MEMORY_CAP_MB, Worker
from dbt_assets.run.worker_process import MARK
from dbt_assets.run.worker_socket import (
    DIR_ENV,
    POLL,
    SERVED_COMMANDS,
    private_folder,
    same_user,
    send_line,
    socket_path,
)


class WorkerServer:
    """The worker's end: one thread per connection, one run at a time (the worker's lock)."""

    def __init__(self, worker: Worker, path: Path, *, idle_timeout: float | None = None) -> None:
        self.worker = worker
        self.path = path
        self.idle_timeout = idle_timeout
        self._stopping = threading.Event()
        self._active = 0
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._stopping.set()

    def serve(self, listener: socket.socket) -> None:
        """Accept until :meth:`stop` (or idle past the idle timeout)."""
        listener.settimeout(POLL)
        while not self._stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                with self._lock:
                    idle = self._active == 0 and time.monotonic() - self._last
                if self.idle_timeout is not None and idle and idle > self.idle_timeout:
                    return
                continue
            with self._lock:
                self._active += 1
            threading.Thread(target=self._serve_one, args=(conn,), daemon=True).start()

    def _serve_one(self, conn: socket.socket) -> None:
        try:
            with conn, conn.makefile("r", encoding="utf-8", errors="replace") as reader:
                conn.settimeout(None)
                if not same_user(conn):
                    return
                request = json.loads(reader.readline() or "{}")
                self._answer(conn, reader, request if isinstance(request, dict) else {})
        except (OSError, ValueError):
            pass
        finally:
            with self._lock:
                self._active -= 1
                self._last = time.monotonic()

    def _answer(self, conn: socket.socket, reader: TextIO, request: dict[str, Any]) -> None:
        op = request.get("op")
        worker = self.worker
        if op == "status":
            info = {"pid": os.getpid(), "project_dir": str(worker.project.project_dir), "dbt": worker.dbt}
            info |= {"child": worker.pid, "alive": worker.alive, "invocations": worker.invocations}
            send_line(
                conn, info | {"started": worker.started, "replaced": worker.replaced, "last": worker.last}
            )
        elif op == "stop":
            send_line(conn, {"ok": True})
            self.stop()
        elif op == "prepare":
            try:
                project = Project(
                    str(request.get("project_dir")), profiles_dir=request.get("profiles_dir"),
                    target=request.get("target"), vars=request.get("vars"),
                    dbt_executable=worker.project.dbt_executable,
                )  # fmt: skip
            except DbtAssetsError as exc:
                send_line(conn, {"ok": False, "why": exc.message})
                return
            worker.prepare(project)
            send_line(conn, {"ok": True})
        elif op == "settle":
            worker.settle()
            send_line(conn, {"ok": True})
        elif op == "run":
            self._run(conn, reader, request)
        else:
            send_line(conn, {"accepted": False, "why": f"unknown operation {op!r}"})

    def _run(self, conn: socket.socket, reader: TextIO, request: dict[str, Any]) -> None:
        argv, cwd, token = (
            list(request.get("argv") or []),
            Path(str(request.get("cwd"))),
            str(request["token"]),
        )
        why = self._refused(argv)
        cancel, kill, done = threading.Event(), threading.Event(), threading.Event()
        process = None
        if why is None:
            env = {str(k): str(v) for k, v in dict(request.get("env") or {}).items()}
            grace = float(request.get("cancel_grace", 10.0))
            process = self.worker.process(
                [self.worker.dbt, *argv],
                cwd,
                timeout=None,
                cancel_grace=grace,
                cancel=cancel,
                kill=kill,
                env=env,
            )
            why = "the worker cannot run it (closed, or not this project)" if process is None else None
        if process is None:
            send_line(conn, {"accepted": False, "why": why})
            return

        def control() -> None:  # INT / KILL from the client; its end closed: kill (dbt dies with it)
            try:
                for line in reader:
                    (cancel if line.strip() == "INT" else kill).set()
            except (OSError, ValueError):
                pass
            if not done.is_set():
                kill.set()

        try:
            send_line(conn, {"accepted": True, "pid": process.pid})
            threading.Thread(target=control, daemon=True).start()
            for line in process.lines(time.time()):
                conn.sendall(line.encode())
            code = process.wait()
            done.set()
            info = process.invocation.info
            said = {"exit_code": code} | {
                key: info[key] for key in ("manifest_mtime_ns", "manifest_paths") if key in info
            }
            send_line(conn, f"{MARK}{token} {json.dumps(said)}")
        except OSError:
            kill.set()
        finally:
            done.set()
            process.stop()
        if not self.worker.alive:  # replaced (a cancel, a crash, its memory cap): started again now,
            # off the next run's time (its own prepare asks nothing while the manifest is fresh)
            threading.Thread(target=self.worker.prepare, args=(self.worker.project,), daemon=True).start()

    def _refused(self, argv: list[str]) -> str | None:
        """Why the server does not run ``argv`` (None: it does)."""
        if not argv or argv[0] not in SERVED_COMMANDS:
            return f"this worker runs only {', '.join(sorted(SERVED_COMMANDS))}"
        project = self.worker.project
        given = argv[argv.index("--project-dir") + 1] if "--project-dir" in argv[:-1] else "."
        own = project.project_dir / "dbt_project.yml"
        if os.path.realpath(Path(given) / "dbt_project.yml") != os.path.realpath(own):
            return f"this worker serves {project.project_dir} only"  # a shadow project links to it
        return None


def serve(
    project: Project,
    *,
    memory_cap_mb: float = MEMORY_CAP_MB,
    idle_timeout: float | None = None,
    ready: Callable[[Path, Worker], None] | None = None,
    stopper: Callable[[WorkerServer], None] | None = None,
) -> None:
    """Serve ``project``'s runs until stopped (``dbt-assets worker --stop``, or
    :meth:`WorkerServer.stop`, which ``stopper`` receives, for signal handlers) or idle for
    ``idle_timeout`` seconds. ``ready`` is called once the worker is warm and listening."""
    if os.name != "posix":
        raise RunError("a dbt-assets worker needs unix sockets (Linux, macOS)", "run without a worker")
    path = socket_path(project)
    fix = f"remove {path.parent}, or set {DIR_ENV} to a folder of yours"
    with contextlib.suppress(FileExistsError):
        path.parent.mkdir(mode=0o700, parents=True)
    if not private_folder(path.parent):
        raise RunError(f"{path.parent} is not a folder only you may enter", fix)
    import fcntl

    held = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)  # while this one serves
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(held)
        raise RunError(
            f"a worker already serves {project.project_dir} ({path})", "dbt-assets worker --stop"
        ) from None
    try:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # the lock was free: a worker killed without cleaning up
        _serve(project, path, fix, memory_cap_mb, idle_timeout, ready, stopper)
    finally:
        os.close(held)


def _serve(
    project: Project,
    path: Path,
    fix: str,
    memory_cap_mb: float,
    idle_timeout: float | None,
    ready: Callable[[Path, Worker], None] | None,
    stopper: Callable[[WorkerServer], None] | None,
) -> None:
    with Worker(project, memory_cap_mb=memory_cap_mb) as worker:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with listener:
            umask = os.umask(0o177)
            try:
                listener.bind(str(path))
            except OSError as exc:
                raise RunError(f"cannot listen on {path}: {exc}", fix) from exc
            finally:
                os.umask(umask)
            os.chmod(path, 0o600)
            made = os.stat(path).st_ino
            listener.listen(16)
            server = WorkerServer(worker, path, idle_timeout=idle_timeout)
            if stopper is not None:
                stopper(server)
            if ready is not None:
                ready(path, worker)
            try:
                server.serve(listener)
            finally:
                with contextlib.suppress(OSError):
                    if os.stat(path).st_ino == made:  # still ours
                        path.unlink()
