"""Run a plan with the dbt CLI and turn its output into per-asset events.

    >>> run = Run(project, graph, plan_selection(graph, "run", ["downstream_of:orders"]))  # doctest: +SKIP
    >>> for event in run:                      # AssetStarted, AssetFinished, ... as they happen
    ...     print(event)
    >>> run.result.status, run.result.exit_code                                          # doctest: +SKIP
    ('success', 0)

dbt runs as a subprocess (an argv list, from the project directory, in its own process
group) with JSON logs on stdout. Every result is written to the history the moment it
arrives. :meth:`Run.cancel` (the CLI calls it on Ctrl-C and SIGTERM) asks dbt to stop with
SIGINT, waits ``cancel_grace`` seconds, then kills dbt's whole process group, so no dbt
process is left behind.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from dbt_assets._core.errors import AssetsBusyError, HistoryError, RunError
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.compile import Plan
from dbt_assets.plan.long_selection import shadow_project
from dbt_assets.plan.one_pass import generated_state
from dbt_assets.run.dbt_cli import find_dbt
from dbt_assets.run.events import (
    CANCELLED,
    FAILURE_STATUSES,
    NOT_REACHED,
    SUCCESS_STATUSES,
    AssetFinished,
    AssetStarted,
    DbtLog,
    DbtStarted,
    Event,
    LogReader,
    RunFinished,
    RunStarted,
    meaningful_lines,
)
from dbt_assets.run.invocation import RunOptions, RunResult, dbt_argv
from dbt_assets.run.outcome import checks_of, save_unrecorded, skip_causes
from dbt_assets.run.project import Project
from dbt_assets.run.recorder import Recorder
from dbt_assets.run.supervise import DbtProcess
from dbt_assets.run.worker import DbtWorker, start_dbt

RUN_COMMANDS = ("run", "build", "test", "seed", "snapshot")
_WAIT_POLL = 1.0
"""Seconds between looks at whether the run that holds this run's assets has ended."""
EXIT_SUCCESS, EXIT_FAILED, EXIT_ERROR, EXIT_CANCELLED = 0, 1, 2, 130


@dataclass
class _State:
    started: dict[str, float] = field(default_factory=dict)
    results: dict[str, AssetFinished] = field(default_factory=dict)
    logs: list[DbtLog] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)
    skip_causes: dict[str, frozenset[str]] = field(default_factory=dict)
    closing: dict[str, AssetFinished] = field(default_factory=dict)
    """Results dbt-assets gives when the run ends: assets cancelled while running, or never
    reached."""


class Run:
    """One dbt invocation for a plan: iterate it for events; ``result`` when it is over."""

    def __init__(
        self,
        project: Project,
        graph: AssetGraph,
        plan: Plan,
        options: RunOptions | None = None,
        *,
        history: Recorder | None = None,
        selection: dict[str, Any] | None = None,
        worker: DbtWorker | None = None,
    ) -> None:
        if plan.empty:
            raise RunError(*plan.why_empty())
        if plan.command not in RUN_COMMANDS:
            raise RunError(f"`{plan.command}` is not a command dbt-assets runs", f"use one of {RUN_COMMANDS}")
        self.project = project
        self.graph = graph
        self.plan = plan
        self.options = options or RunOptions()
        self.history = history
        self.selection = selection or {}
        self.worker = worker
        """A warm dbt to run through (dbt_assets.run.worker); None: a new dbt CLI process."""
        self.wait_for_manifest = True
        """Through a warm dbt, which writes dbt's manifest.json just after its answer: whether
        the run ends only once it is written, as the dbt CLI leaves it (False: at once; what
        goes through the same worker next waits for it all the same)."""
        self.result: RunResult | None = None
        self._cancel_requested = threading.Event()
        self._kill_requested = threading.Event()
        self._process: DbtProcess | None = None
        self.notices: list[str] = []
        """What the caller should tell the user before the run (a library never prints)."""
        self._history_failed: str | None = None
        """Why the history refused a write during the run (a server gone): from then on the run
        goes on unrecorded, and its results are saved to a file at the end."""
        self._cancel_reason = "cancelled"
        self.on_start: Callable[[int], object] | None = None
        """Written in the transaction that records the run's start, given its id (what
        automation decided, so that a decision recorded is a decision made)."""
        self.on_wait: Callable[[str], None] | None = None
        """Told once, in one line, when the run waits for another that holds its assets."""
        self._waiting: AssetsBusyError | None = None
        self.time_offset = 0.0
        """Seconds added to every time the run records: a scheduler's clock that is not the
        wall clock (a test's, or a simulation's); 0 for the wall clock."""
        self.argv = dbt_argv(project, plan, self.options, find_dbt(project.dbt_executable))

    @property
    def cancelling(self) -> bool:
        """Whether :meth:`cancel` was called (or the timeout passed)."""
        return self._cancel_requested.is_set()

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask the run to stop: dbt gets SIGINT, then is killed after ``cancel_grace`` seconds.
        Safe to call from a signal handler or another thread; a second call kills at once.
        ``reason`` becomes the run's message."""
        if self._cancel_requested.is_set():
            self._kill_requested.set()
        else:
            self._cancel_reason = reason
        self._cancel_requested.set()

    def __iter__(self) -> Iterator[Event]:
        return self._events()

    def run(self) -> RunResult:
        """Run to the end without looking at the events."""
        for _event in self:
            pass
        assert self.result is not None
        return self.result

    # --- the run loop -------------------------------------------------------------------

    def _events(self) -> Iterator[Event]:
        started_at, run_id = self._start_recording()
        yield RunStarted(
            run_id, self.plan.command, ["dbt", *self.argv[1:]], list(self.plan.unique_ids), started_at
        )
        state = _State()
        reader = LogReader(checks_of(self.graph, self.plan.unique_ids))
        outcome: tuple[str, int, str | None] | None = None
        shadow = contextlib.ExitStack()
        try:
            argv = self.argv
            if self.plan.selector is not None or (self.plan.one_pass and self.plan.state_dir is None):
                project_dir = state_dir = None
                if self.plan.selector is not None:  # a selection too long for one command line
                    project_dir = shadow.enter_context(
                        shadow_project(self.project.project_dir, self.plan.selector)
                    )
                if self.plan.one_pass and self.plan.state_dir is None:  # a criterion of one pass
                    state_dir = shadow.enter_context(generated_state(self.plan.unique_ids))
                argv = dbt_argv(self.project, self.plan, self.options, self.argv[0], project_dir, state_dir)
            self._process = start_dbt(
                argv,
                self.project.project_dir,
                worker=self.worker,
                timeout=self.options.timeout,
                cancel_grace=self.options.cancel_grace,
                cancel=self._cancel_requested,
                kill=self._kill_requested,
            )
            for line in self._process.lines(started_at - self.time_offset):  # the wall clock
                for event in reader.read(line):
                    if not self._interrupt_noise(event):
                        yield self._record(run_id, self._shifted(event), state)
            outcome = self._outcome(state, reader)
        except Exception as exc:
            outcome = ("error", EXIT_ERROR, str(exc))
            raise
        finally:
            written_at = None
            if self._process is not None:
                self._process.stop()
                written = self._process.manifest_written
                written_at = written.get(os.path.realpath(self.project.manifest_path))
                if written and self.wait_for_manifest and self.worker is not None:
                    self.worker.settle()
            shadow.close()
            if outcome is None:  # the consumer stopped iterating, or something raised
                outcome = ("cancelled", EXIT_CANCELLED, "the run was interrupted")
            status, exit_code, message = outcome
            unfinished = CANCELLED if status in ("cancelled", "timeout") else "error"
            finished_at = self._now()
            for uid, at in state.started.items():
                if uid not in state.results:
                    state.results[uid] = state.closing[uid] = AssetFinished(
                        uid, unfinished, started_at=at, finished_at=finished_at, message=message
                    )
            if status in ("cancelled", "timeout", "error"):  # stopped before the end
                self._not_reached(run_id, state, finished_at)
            if self.history is not None and run_id is not None:
                history = self.history
                self._write(
                    lambda: history.finish_run(
                        run_id,
                        status=status,
                        exit_code=exit_code,
                        message=message,
                        unfinished_status=unfinished,
                        finished_at=finished_at,  # the instant the result says, not a later reading
                    )
                )
            self.result = RunResult(
                run_id=run_id,
                command=self.plan.command,
                argv=["dbt", *self.argv[1:]],
                status=status,
                exit_code=exit_code,
                started_at=started_at,
                finished_at=finished_at,
                results=state.results,
                logs=state.logs,
                message=message,
                dbt_version=reader.dbt_version,
                invocation_id=reader.invocation_id,
            )
            if status == "error":
                self.result.hint = self._error_hint(message or "")
            if self.history is not None and run_id is not None:
                if self._history_failed is not None:
                    self.result.unrecorded_because = f"failed during the run ({self._history_failed})"
                elif not self.history.still_there():
                    self.result.unrecorded_because = "was removed or replaced during the run"
                if self.result.unrecorded_because is not None:
                    saved, self.result.unrecorded_because = save_unrecorded(
                        self.result,
                        run_id,
                        self.project,
                        self.history.path,
                        failed=self._history_failed is not None,
                    )
                    self.result.unrecorded = None if saved is None else str(saved)
            if self.project.target_path.is_dir():
                self.project.stamp_manifest(written_at)
        yield from state.closing.values()
        yield RunFinished(run_id, status, exit_code, self.result.counts, finished_at - started_at, message)

    def _now(self) -> float:
        return time.time() + self.time_offset

    def _shifted(self, event: Event) -> Event:
        """An event with its times on the run's clock (:attr:`time_offset`)."""
        offset = self.time_offset
        if not offset:
            return event
        if isinstance(event, AssetStarted):
            return msgspec.structs.replace(event, at=event.at + offset)
        if isinstance(event, AssetFinished):
            return msgspec.structs.replace(
                event,
                started_at=None if event.started_at is None else event.started_at + offset,
                finished_at=None if event.finished_at is None else event.finished_at + offset,
            )
        if isinstance(event, DbtLog) and event.at is not None:
            return msgspec.structs.replace(event, at=event.at + offset)
        return event

    def _start_recording(self) -> tuple[float, int | None]:
        """When the run starts and its id in the history, its assets claimed there (one run per
        asset at a time). While another run holds some of them: wait for it up to
        ``options.wait`` seconds (saying so once through :attr:`on_wait`), else
        :class:`AssetsBusyError` naming which run holds which assets."""
        if self.history is None:
            return self._now(), None
        deadline = None if self.options.wait is None else time.monotonic() + self.options.wait
        while True:
            started_at = self._now()
            try:
                return started_at, self.history.start_run(
                    command=self.plan.command,
                    argv=self.argv[1:],
                    unique_ids=self.plan.unique_ids,
                    selection=self.selection,
                    flags=self.options.dbt_flags(),
                    project_dir=str(self.project.project_dir),
                    target=self.project.target,
                    started_at=started_at,
                    claim=True,
                    on_start=self.on_start,
                )
            except AssetsBusyError as exc:
                left = None if deadline is None else deadline - time.monotonic()
                if left is None or left <= 0 or self._cancel_requested.is_set():
                    if deadline is not None:
                        exc.hint = f"waited {self.options.wait:g}s; a longer --wait, or try again later"
                    raise
                if self.on_wait is not None and self._waiting is None:
                    self.on_wait(f"waiting: {exc.message}")
                self._waiting = exc
                self._cancel_requested.wait(min(_WAIT_POLL, left))

    def _error_hint(self, message: str) -> str:
        debug = (
            f"`dbt debug --project-dir {self.project.project_dir}` checks the project, profile and connection"
        )
        if "profile" in message.lower():
            return f"fix {self.project.profiles_dir / 'profiles.yml'}; {debug}"
        return debug

    def _not_reached(self, run_id: int | None, state: _State, at: float) -> None:
        """Planned assets dbt never started, because the run stopped first: listed as
        ``not_reached`` (dbt never reports ephemeral models, so they are not listed)."""
        records = self.graph.records
        missed = [
            uid
            for uid in self.plan.unique_ids
            if uid not in state.results
            and not (uid in records and records[uid].config.get("materialized") == "ephemeral")
        ]
        message = "not reached: the run stopped before dbt started it"
        for uid in missed:
            kind = records[uid].resource_type if uid in records else ""
            state.results[uid] = state.closing[uid] = AssetFinished(
                uid, NOT_REACHED, finished_at=at, message=message, resource_type=kind
            )
        if missed and self.history is not None and run_id is not None:
            history = self.history
            self._write(lambda: history.record_not_reached(run_id, missed, at, message))

    def _interrupt_noise(self, event: Event) -> bool:
        """Once dbt was told to stop: its KeyboardInterrupt traceback (as JSON log events or
        as plain lines printed while it starts), which is not an error of the run."""
        if self._interrupted_at() is None or not isinstance(event, DbtLog):
            return False
        return (
            not event.name
            or event.name in ("MainStackTrace", "MainEncounteredError")
            or "KeyboardInterrupt" in event.message
        )

    def _interrupted_at(self) -> float | None:
        """When dbt was first told to stop (SIGINT): assets that end in error after it were
        interrupted, and dbt's KeyboardInterrupt traceback is not an error to show."""
        return None if self._process is None else self._process.interrupted_at

    def _outcome(self, state: _State, reader: LogReader) -> tuple[str, int, str | None]:
        process = self._process
        assert process is not None
        code = process.wait()
        detail = _dbt_error(state.logs)
        if process.timed_out:
            return (
                "timeout",
                EXIT_ERROR,
                f"dbt did not finish within {self.options.timeout:g}s and was stopped",
            )
        if self._cancel_requested.is_set():
            return "cancelled", EXIT_CANCELLED, self._cancel_reason
        if any(r.status in FAILURE_STATUSES for r in state.results.values()):
            first = next(r for r in state.results.values() if r.status in FAILURE_STATUSES)
            return "failed", EXIT_FAILED, f"{len(state.failed)} failed, first {first.unique_id}"
        if code == 0 and not state.results:
            return "error", EXIT_ERROR, "dbt exited without reporting any result"
        if code == 0:
            return "success", EXIT_SUCCESS, None
        if reader.dbt_version is None and not state.logs:
            return "error", EXIT_ERROR, f"dbt exited with code {code} without any output"
        return "error", EXIT_ERROR, f"dbt exited with code {code}" + (f": {detail}" if detail else "")

    # --- events -------------------------------------------------------------------------

    def _record(self, run_id: int | None, event: Event, state: _State) -> Event:
        history = self.history if run_id is not None else None
        if isinstance(event, AssetStarted):
            state.started[event.unique_id] = event.at
            if history is not None and run_id is not None:
                begun = event
                self._write(lambda: history.record_start(run_id, begun.unique_id, begun.at))
        elif isinstance(event, AssetFinished):
            interrupted = self._interrupted_at()
            if (
                event.status == "error"
                and interrupted is not None
                and (event.finished_at or interrupted) >= interrupted
            ):
                # it was still running when dbt was told to stop: cancelled, not failed
                said = f"; dbt said: {event.message}" if event.message else ""
                event = msgspec.structs.replace(
                    event, status=CANCELLED, message=f"cancelled while running{said}"
                )
            if event.status in FAILURE_STATUSES:
                state.failed.add(event.unique_id)
            elif event.status == "skipped":
                causes = skip_causes(self.graph, event.unique_id, state.failed, state.skip_causes)
                event = msgspec.structs.replace(event, skipped_because=sorted(causes))
            state.results[event.unique_id] = event
            if history is not None and run_id is not None:
                finished = event
                self._write(lambda: history.record_result(run_id, finished))
        elif isinstance(event, DbtStarted):
            if history is not None and run_id is not None:
                started = event
                self._write(
                    lambda: history.set_invocation(run_id, started.dbt_version, started.invocation_id)
                )
        elif isinstance(event, DbtLog):
            state.logs.append(event)
            if history is not None and run_id is not None:
                log = event
                self._write(lambda: history.record_log(run_id, log))
        return event

    def _write(self, write: Callable[[], object]) -> None:
        """One write to the history during the run. When the history fails (its server gone,
        its disk full), dbt is not stopped for it: the run goes on unrecorded and its results
        are saved to a file at the end (:func:`~dbt_assets.run.outcome.save_unrecorded`), never lost."""
        if self._history_failed is not None:
            return
        try:
            write()
        except HistoryError as exc:
            self._history_failed = exc.message


def _dbt_error(logs: Sequence[DbtLog]) -> str | None:
    """What dbt said went wrong, in its own words without headings: its "Encountered an
    error" message if it gave one, else its last error line."""
    errors = [log for log in logs if log.level in ("error", "output") and meaningful_lines(log.message)]
    if not errors:
        return None
    chosen = next((log for log in reversed(errors) if log.name == "MainEncounteredError"), errors[-1])
    return " ".join(meaningful_lines(chosen.message)[:2])


def retry_ids(planned: Sequence[str], results: dict[str, str]) -> list[str]:
    """The assets a retry re-runs: those of the run that did not succeed (failed, skipped
    because of a failure, cancelled, or never reached), given each reported asset's status."""
    return sorted(uid for uid in planned if results.get(uid) not in SUCCESS_STATUSES)
