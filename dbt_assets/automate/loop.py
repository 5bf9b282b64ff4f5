"""The loop: a tick every ``interval`` seconds until stopped, one acting scheduler per history.

- **One leader.** Any number of schedulers may run on one history; the one that holds the
  leader lock acts, the others stand by and try again at each tick. On SQLite the lock is an
  ``flock`` on ``<history>.automate.lock`` (one machine); on PostgreSQL a session advisory lock
  on a connection of its own. The kernel or the server releases either when the leader dies,
  however it dies, so a standby takes over at its next tick (within two intervals). A new
  leader's first tick is always recorded (``automation_ticks.owner``).
- **Runs go on between ticks.** A due plan starts in a thread of its own (its own history
  connection); the loop keeps ticking, and what the run holds is "running" to the next ticks.
  At most ``max_runs`` runs at once. They go through one dbt kept warm across ticks (a worker,
  :mod:`dbt_assets.run.worker`): a tick's run does not pay dbt's start-up.
- **Nothing stops it but a stop.** A dbt failure is recorded and the loop goes on; a bad
  configuration is said at each tick until it is fixed (a loop whose very first tick fails,
  on a project that cannot be read or a configuration that is wrong, stops with that error).
  SIGTERM, SIGINT and SIGHUP stop it: the running dbt is cancelled (SIGINT, then killed after
  ``cancel_grace``) and recorded as such. SIGHUP or SIGINT ignored when it started stays
  ignored (``nohup dbt-assets automate &`` outlives its terminal); SIGTERM is always handled.
- **Recovery.** At each tick the leader closes the runs of dead dbt-assets processes of this
  host (a killed scheduler's run), so that what they held is free again and their results kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from dbt_assets._core.errors import DbtAssetsError, HistoryError
from dbt_assets._core.signals import handle, restore
from dbt_assets.automate.tick import Automation, Tick, TickOptions
from dbt_assets.history.recovery import open_history, recover_interrupted
from dbt_assets.history.schema import history_path, is_url
from dbt_assets.history.store import History
from dbt_assets.run.project import Project
from dbt_assets.run.runner import EXIT_CANCELLED, Run
from dbt_assets.run.worker import Worker, warm_disabled

LEADER_LOCK = 0x6462_7441_7574_6F00
"""The PostgreSQL advisory lock the acting scheduler holds ("dbtAuto")."""


@dataclass
class LoopOptions:
    interval: float = 60.0
    tick: TickOptions = field(default_factory=TickOptions)
    stop: threading.Event | None = None
    """Set it to stop the loop (signals set it too)."""
    on_tick: Callable[[Tick], None] | None = None
    on_run: Callable[[Run], None] | None = None
    """Told when a run ends."""
    on_note: Callable[[str], None] | None = None
    """One line on what the loop does (leader, standby, errors)."""
    handle_signals: bool = True
    warm: bool = True
    """Keep one dbt warm across ticks (:mod:`dbt_assets.run.worker`; off with
    ``DBT_ASSETS_NO_WARM=1`` too)."""


class Leadership:
    """The leader lock of one history (see the module docstring)."""

    def __init__(self, location: Path | str) -> None:
        self.location = location
        self._file: IO[str] | None = None
        self._conn: Any = None

    def hold(self) -> bool:
        """Whether this scheduler leads: kept once taken, taken when free."""
        if self._file is not None or self._conn is not None:
            return True
        if is_url(self.location):  # a connection of its own, its secrets masked as the history's
            from dbt_assets.history.postgres import PostgresBackend

            backend = PostgresBackend(str(self.location))
            got = backend.execute("SELECT pg_try_advisory_lock(?)", (LEADER_LOCK,)).fetchone()
            if got and got[0]:
                self._conn = backend
                return True
            backend.close()
            return False
        path = Path(f"{self.location}.automate.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a")  # noqa: SIM115 (held for the life of the leader)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


class _InFlight:
    """A run of the loop, in a thread of its own with its own history connection."""

    def __init__(self, run: Run, history: History, on_end: Callable[[Run], None] | None) -> None:
        self.run = run
        self.history = history
        self.thread = threading.Thread(target=self._go, args=(on_end,), name="automate-run", daemon=True)
        self.run_id: int | None = None

    def _go(self, on_end: Callable[[Run], None] | None) -> None:
        try:
            for event in self.run:
                run_id = getattr(event, "run_id", None)
                if self.run_id is None and run_id is not None:
                    self.run_id = run_id
        except DbtAssetsError:
            pass  # held by another run since the tick, or dbt could not start: the next tick decides
        finally:
            self.history.close()
            if on_end is not None:
                on_end(self.run)


def run_loop(project: Project, location: str | Path | None, options: LoopOptions | None = None) -> int:
    """Tick until stopped (module docstring); 0, or 130 when stopped by a signal."""
    chosen = options or LoopOptions()
    stop = chosen.stop or threading.Event()
    where = history_path(project.project_dir, location)
    signalled: list[int] = []
    previous = _handle_signals(stop, signalled) if chosen.handle_signals else {}
    note = chosen.on_note or (lambda _said: None)
    leader = Leadership(where)
    flights: list[_InFlight] = []
    worker = _warm(project, note) if chosen.warm else None
    try:
        with open_history(where) as history:
            automation = Automation(project, history, chosen.tick, worker=worker)
            leading = ticked = False
            while not stop.is_set():
                flights = [f for f in flights if f.thread.is_alive()]
                if not leader.hold():
                    if leading or not flights:
                        note("standing by: another scheduler leads this history")
                    leading = False
                    stop.wait(chosen.interval)
                    continue
                if not leading:
                    note(f"leading the automation of {history.path}")
                recover_interrupted(history)
                try:
                    tick = automation.tick(
                        in_flight=[f.run_id or 0 for f in flights],
                        run_history=History.open(where),
                        record_always=not leading,
                    )
                except DbtAssetsError as exc:
                    if not ticked:  # a loop that cannot tick once (no project, bad config) stops
                        raise
                    note(f"tick failed: {exc}")
                    stop.wait(chosen.interval)
                    continue
                ticked = True
                leading = True
                if chosen.on_tick is not None:
                    chosen.on_tick(tick)
                if tick.run is not None and tick.run_history is not None:
                    flight = _InFlight(tick.run, tick.run_history, chosen.on_run)
                    flights.append(flight)
                    flight.thread.start()
                stop.wait(chosen.interval)
    except HistoryError as exc:
        note(f"the history failed: {exc}")
        raise
    finally:
        for flight in flights:
            flight.run.cancel("cancelled: the scheduler stopped")
        for flight in flights:
            flight.thread.join()
        leader.release()
        if worker is not None:
            worker.close()
        restore(previous)
    return EXIT_CANCELLED if signalled else 0


def _warm(project: Project, note: Callable[[str], None]) -> Worker | None:
    """One dbt kept warm for the loop's runs; None (the dbt CLI) when it cannot start or warm
    workers are turned off."""
    if warm_disabled():
        return None
    try:
        return Worker(project).open()
    except DbtAssetsError as exc:
        note(f"runs start the dbt CLI: no warm dbt ({exc.message})")
        return None


def _handle_signals(stop: threading.Event, signalled: list[int]) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, _frame: Any) -> None:
        signalled.append(signum)
        stop.set()

    return handle((signal.SIGTERM, signal.SIGINT, signal.SIGHUP), handler)
