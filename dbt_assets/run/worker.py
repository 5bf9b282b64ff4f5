"""A dbt kept warm: a child process with dbt imported and the project's manifest parsed,
running a project's dbt invocations one at a time, in a fraction of the CLI's start-up.

    >>> with open_worker(Project("fixtures/dbt_project")) as worker:          # doctest: +SKIP
    ...     run = start_run(project, "run", ["orders"], worker=worker)          # as without it
    ...     run.run().status
    'success'

A run through a worker is the same run: the child (``worker_child.py``, started with the Python
of the project's dbt executable, which may be another virtualenv's) prints the JSON log lines
the dbt CLI prints for the same argv, which :class:`WorkerProcess` hands to the runner as
:class:`DbtProcess` does, so events, the history and recovery see no difference. A cancel is the
CLI's: SIGINT to the child's process group, SIGKILL after the grace period. The child dies with
dbt-assets (its stdin is its lifeline; on Linux the kernel's parent-death signal too).

The child is replaced (a new process, started at the next run) after a cancel, a timeout or a
crash; when its memory passes the cap after an invocation; and when the project changed: a file
under the project's paths, ``profiles.yml``, installed packages, the dbt executable, or a
manifest written by anything but the worker. ``DBT_ASSETS_NO_WARM=1`` turns every worker off
(runs then start the dbt CLI). What the child keeps between invocations: dbt's imported modules,
and the parsed manifests (each invocation runs on its own copy, made while the child is idle;
see ``worker_child.py``). dbt's end-of-run manifest.json is written just after the child's
answer (``worker_child_artifacts.py``), dated as the answer says; :meth:`Worker.settle`, the
next invocation and closing the worker wait for it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dbt_assets._core.errors import DbtAssetsError, RunError
from dbt_assets.run.dbt_cli import dbt_env, find_dbt
from dbt_assets.run.project import Project
from dbt_assets.run.supervise import DbtProcess
from dbt_assets.run.worker_process import Child, ElsewhereProcess, WorkerProcess, dbt_python

NO_WARM_ENV = "DBT_ASSETS_NO_WARM"
"""Set to 1 (or true, yes) to turn warm workers off everywhere: every run starts the dbt CLI."""
MEMORY_CAP_MB = 1024
"""Past this resident memory after an invocation, the child is replaced (a warm child of the
fixture holds about 200 MB)."""
BOOT_TIMEOUT = 120.0
"""Seconds a new child may take to import dbt, and a warm-up parse to finish."""
_log = logging.getLogger("dbt_assets")


def warm_disabled() -> bool:
    """Whether ``$DBT_ASSETS_NO_WARM`` turns warm workers off."""
    return os.environ.get(NO_WARM_ENV, "").strip().lower() not in ("", "0", "false", "no")


class DbtWorker(Protocol):
    """What a run needs of a warm dbt: a :class:`Worker` of this process, or a client of a
    running ``dbt-assets worker`` (:mod:`dbt_assets.run.worker_socket`)."""

    def prepare(self, project: Project) -> None:
        """Before a run reads ``project``'s manifest: start or replace the child if need be and
        parse there, so that the run finds the manifest fresh."""

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
        """``argv`` (the dbt executable first) run by the warm dbt; None when this worker does
        not run it (another project or dbt, turned off, closed): the caller starts the CLI."""

    def settle(self) -> None:
        """Return once dbt's manifest of the last run is written (the warm dbt writes it just
        after its answer; anything sent to the worker next waits for it too)."""


def start_dbt(
    argv: Sequence[str],
    cwd: Path,
    *,
    worker: DbtWorker | None,
    timeout: float | None,
    cancel_grace: float,
    cancel: threading.Event,
    kill: threading.Event,
) -> DbtProcess:
    """dbt for one run: through ``worker`` when there is one (and workers are not turned off)
    and it runs this argv, else a new dbt CLI process."""
    if worker is not None and not warm_disabled():
        process = worker.process(
            argv, cwd, timeout=timeout, cancel_grace=cancel_grace, cancel=cancel, kill=kill
        )
        if process is not None:
            return process
    return DbtProcess(argv, cwd, timeout=timeout, cancel_grace=cancel_grace, cancel=cancel, kill=kill)


@dataclass(frozen=True)
class Invoked:
    """How :meth:`Worker.invoke` ended: dbt's exit code, its output lines, and whether the
    invocation ran on a kept manifest (``cached``), parsed one (``parsed``) or took none."""

    exit_code: int
    lines: list[str]
    manifest: str


class Worker:
    """A dbt kept warm for one project: :meth:`open`, pass it to runs, :meth:`close` (or use
    it in a ``with`` block). One invocation at a time (dbt is not safe for parallel invocations
    in one process); runs from several threads wait for each other. Thread-safe."""

    def __init__(
        self, project: Project, *, memory_cap_mb: float = MEMORY_CAP_MB, boot_timeout: float = BOOT_TIMEOUT
    ) -> None:
        self.project = project
        self.memory_cap = int(memory_cap_mb * 2**20)
        self.boot_timeout = boot_timeout
        self.dbt = find_dbt(project.dbt_executable)
        self.python = dbt_python(self.dbt)
        self.invocations = 0
        self.started = 0
        """Children started so far (the first, then each replacement)."""
        self.replaced: list[str] = []
        """Why each child before the current one was replaced, oldest first."""
        self.last: dict[str, Any] = {}
        """What the child said after the last invocation (``exit_code``, ``rss``, ``manifest``)."""
        self._child: Child | None = None
        self._busy = threading.Lock()
        self._sources: object = None
        self._manifest: object = None
        self._closed = False

    def open(self) -> Worker:
        """Start the child and parse the project there (its manifest is then fresh, for the
        project's target and vars); raises :class:`RunError` when dbt cannot start warm. Starts
        nothing while ``$DBT_ASSETS_NO_WARM`` turns workers off."""
        if self.python is None:
            raise RunError(
                f"{self.dbt} is not a Python script: dbt cannot be kept warm", "run without a worker"
            )
        if warm_disabled():
            return self
        with self._busy:
            self._ready(self.project)
        return self

    def __enter__(self) -> Worker:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        """Whether the child is running (a run may still replace it first: see the module)."""
        child = self._child
        return child is not None and child.alive

    @property
    def pid(self) -> int | None:
        """The child's process id (its process group's too), while there is one."""
        return None if self._child is None else self._child.pid

    def close(self) -> None:
        """End the child (once it has written the last run's manifest); later runs given this
        worker start the dbt CLI."""
        self._closed = True
        with self._busy:
            if self._child is not None:
                self._child.close()
                self._child = None

    def settle(self) -> None:
        """Return once the child has written the last run's manifest (see :class:`DbtWorker`),
        without waiting for a run another thread starts meanwhile (a child that never says so
        is replaced by the next run)."""
        child = self._child
        if child is not None:
            child.wait_settled(self.boot_timeout)

    def serves(self, argv: Sequence[str], cwd: Path) -> bool:
        """Whether this worker runs ``argv`` from ``cwd``: its dbt, its project."""
        if self._closed or self.python is None or os.name != "posix" or not argv:
            return False
        same_dbt = os.path.realpath(argv[0]) == os.path.realpath(self.dbt)
        return same_dbt and Path(cwd).resolve() == self.project.project_dir

    def prepare(self, project: Project) -> None:
        """Make ``project``'s manifest fresh in the child (see :class:`DbtWorker`); nothing
        while the worker runs dbt for another run (this run then waits for it, in :meth:`process`)."""
        if self._closed or self.python is None or project.project_dir != self.project.project_dir:
            return
        if warm_disabled():
            return
        if not self._busy.acquire(blocking=False):
            self.settle()  # the manifest the last run writes is on disk before it is read
            return
        try:
            self._ready(project)
        except RunError as exc:  # the run starts the CLI, which says what is wrong with dbt
            _log.warning("dbt-assets: %s; running dbt without the worker", exc.message)
        finally:
            self._busy.release()

    def process(
        self,
        argv: Sequence[str],
        cwd: Path,
        *,
        timeout: float | None,
        cancel_grace: float,
        cancel: threading.Event,
        kill: threading.Event,
        env: Mapping[str, str] | None = None,
    ) -> ElsewhereProcess | None:
        """``argv`` run by the child (started first, or replaced, if need be), after the run
        it is busy with, if any; ``env`` is dbt's environment (default: this process's, as the
        CLI gets it)."""
        if not self.serves(argv, cwd):
            return None
        while not self._busy.acquire(timeout=0.2):  # a run cancelled while it waits never starts
            if cancel.is_set() or kill.is_set():
                return ElsewhereProcess.never_started(
                    timeout=timeout, cancel_grace=cancel_grace, cancel=cancel, kill=kill
                )
        try:
            child = self._ready(None)
        except RunError as exc:
            self._busy.release()
            _log.warning("dbt-assets: %s; running dbt without the worker", exc.message)
            return None
        invocation = child.request(argv[1:], Path(cwd), dbt_env() if env is None else env)
        return WorkerProcess(
            child, invocation, self._finished, timeout=timeout, cancel_grace=cancel_grace, cancel=cancel,
            kill=kill,
        )  # fmt: skip

    def invoke(self, args: Sequence[str], *, timeout: float | None = None) -> Invoked:
        """``dbt ARGS`` through the worker, from the project directory, to its end (the
        manifest it writes included; for a run with events and a history, pass the worker to
        ``start_run`` instead)."""
        cancel, kill = threading.Event(), threading.Event()
        process = self.process(
            [self.dbt, *args], self.project.project_dir, timeout=timeout, cancel_grace=10.0, cancel=cancel,
            kill=kill,
        )  # fmt: skip
        if process is None or not isinstance(process, WorkerProcess):
            raise RunError("this worker is closed, or its dbt is not a Python script", "run the dbt CLI")
        try:
            lines = list(process.lines(time.time()))
            code = process.wait()
        finally:
            process.stop()
        self.settle()
        return Invoked(code, lines, str(process.invocation.info.get("manifest", "none")))

    # --- the child's life ---------------------------------------------------------------

    def _ready(self, project: Project | None) -> Child:
        """The child to run the next invocation (under ``_busy``): replaced first when it died
        or the project changed; with ``project``, parsed for it when new or stale."""
        if self._closed:
            raise RunError("the worker is closed")
        if self._child is not None:
            self._settle(self._child)
        child = self._child
        sources = self._source_state()
        if child is not None and not child.alive:
            self._replace("its process exited")
        elif child is not None and (sources != self._sources or self._manifest_state() != self._manifest):
            self._replace("the project changed")
        fresh = self._child is None
        if self._child is None:
            assert self.python is not None
            self._child = Child(self.python, self.project.project_dir, self.boot_timeout)
            self.started += 1
        if project is not None and (fresh or project.stale_reason() is not None):
            self._parse(self._child, project)
        self._sources, self._manifest = sources, self._manifest_state()
        return self._child

    def _parse(self, child: Child, project: Project) -> None:
        """``dbt parse`` in the child (what the CLI's ``dbt parse`` writes, and a manifest kept
        for the runs); the manifest stamped as parsed for ``project``'s target and vars."""
        argv = [
            "parse",
            "--project-dir",
            str(project.project_dir),
            "--profiles-dir",
            str(project.profiles_dir),
        ]
        argv += [*project.dbt_options(), "--log-format", "json", "--log-level", "none"]
        invocation = child.request(argv, project.project_dir, dbt_env())
        try:
            code = invocation.wait(self.boot_timeout)
        except subprocess.TimeoutExpired:
            self._replace("a parse did not finish")
            raise RunError(
                f"`dbt parse` did not finish within {self.boot_timeout:g}s in the worker"
            ) from None
        if code == 0:
            project.stamp_manifest()

    def _finished(self, process: WorkerProcess) -> None:
        """After an invocation (under ``_busy``, which it releases): keep the child, or end it."""
        try:
            invocation = process.invocation
            if invocation.poll() is None:  # the reader stopped early: stop dbt as the CLI path does
                process.signal(signal.SIGINT)
                try:
                    invocation.wait(process.cancel_grace)
                except subprocess.TimeoutExpired:
                    process.signal(signal.SIGKILL)
                    invocation.wait()
            self.invocations += 1
            self.last = dict(invocation.info)
            rss = int(self.last.get("rss", 0))
            if process.interrupted_at is not None or process.killed:
                self._replace("a run was cancelled")
            elif not process.child.alive:
                self._replace(f"its process exited (code {invocation.returncode})")
            elif rss > self.memory_cap:
                self._replace(
                    f"it held {rss / 2**20:.0f} MB, past the cap of {self.memory_cap / 2**20:.0f} MB"
                )
            elif self._source_state() != self._sources:
                self._replace("the project changed during a run")
            else:  # dbt wrote the manifest itself (or writes it now, dated so): not a change
                mine = process.manifest_written.get(os.path.realpath(self.project.manifest_path))
                self._manifest = mine if mine is not None else self._manifest_state()
        finally:
            self._busy.release()

    def _settle(self, child: Child) -> None:
        """Wait (under ``_busy``) for the child to write the last run's manifest; a child that
        takes longer than its boot timeout is replaced, one that could not write is kept (the
        manifest on disk then stays the one before, and is taken as it is)."""
        said = child.settled(self.boot_timeout)
        if said is None:
            child.kill()  # not waited for again
            self._replace("writing dbt's manifest did not finish")
        elif said.get("errors"):
            _log.warning("dbt-assets: the warm dbt could not write %s", "; ".join(map(str, said["errors"])))
            self._manifest = self._manifest_state()

    def _replace(self, reason: str) -> None:
        if self._child is not None:
            self._child.close()
            self._child = None
            self.replaced.append(reason)

    def _source_state(self) -> object:
        """What the manifest is made from, as a value that changes when any of it changes:
        the project's files (paths and times), profiles.yml, installed packages, dbt itself."""
        project = self.project
        paths = list(project.source_files())
        with contextlib.suppress(DbtAssetsError):
            paths.append(project.profiles_dir / "profiles.yml")
        if project.packages_dir.is_dir():
            paths += list(project.packages_dir.iterdir())
        paths.append(Path(self.dbt))
        return hash(tuple((str(path), _mtime(path)) for path in paths))

    def _manifest_state(self) -> object:
        return _mtime(self.project.manifest_path)


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None
