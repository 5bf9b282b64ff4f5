"""Recovering a run left open in the history: its dbt-assets process was killed, or its
history failed during the run.

A killed dbt-assets (SIGKILL, a crashed worker, a closed laptop) leaves its run "running" in
the history. dbt dies with it (the parent-death signal, :mod:`dbt_assets.run.runner`); what dbt
finished was recorded as dbt reported it, and whatever dbt wrote to ``target/run_results.json``
for that invocation (a dbt started by an older dbt-assets, or on a system without the
parent-death signal, may have finished the run alone) is read back. Each such run is then closed as
``interrupted``: results dbt reported are recorded (once: a result is keyed by run and
asset), assets still marked running are ``cancelled``.

A history that failed during the run (its server gone, its disk full) did not stop the run:
dbt-assets saved it beside the project (``.dbt-assets/unrecorded-run-<id>-<time>.json``: every
result as dbt-assets saw it, how the run ended and dbt's exit status), and the run is
completed from that: recorded as it would have been, with the status and exit code it had
(``success`` and 0, ``failed`` and 1, ...), not as interrupted.

The next command that opens the history does this, or ``dbt-assets history recover``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from dbt_assets._core.errors import HistoryError
from dbt_assets.history.facts import RUNNING
from dbt_assets.history.store import History
from dbt_assets.run.artifacts import read_run_results
from dbt_assets.run.events import CANCELLED, NOT_REACHED
from dbt_assets.run.invocation import RunResult

if TYPE_CHECKING:
    from dbt_assets.history.schema import RunRecord

EXIT_INTERRUPTED = 130

_SAVED = msgspec.json.Decoder(RunResult)


def open_history(path: str | Path, *, create: bool = True, lock_timeout: float | None = None) -> History:
    """Open the history at ``path`` for use: create or migrate it, then close the runs whose
    dbt-assets process was killed (:attr:`History.recovered`). ``lock_timeout``: how long a
    write waits for another process's (default ``$DBT_ASSETS_LOCK_TIMEOUT``, else 120 s)."""
    history = History.open(path, create=create, timeout=lock_timeout)
    try:
        history.recovered = recover_interrupted(history)
    except BaseException:
        history.close()
        raise
    return history


def recover_interrupted(history: History) -> list[int]:
    """Close every run of this host whose dbt-assets process is gone; the runs closed."""
    recovered = []
    for run in history.interrupted_runs():
        saved = _saved_run(history, run)
        if saved is not None:
            _complete(history, run, *saved)
        else:
            recovered_rows = _from_run_results(history, run)
            message = "dbt-assets was stopped before the run ended (recovered"
            message += f"; {recovered_rows} results from run_results.json)" if recovered_rows else ")"
            history.finish_run(
                run.run_id,
                status="interrupted",
                exit_code=EXIT_INTERRUPTED,
                message=message,
                finished_at=time.time(),
            )
        recovered.append(run.run_id)
    return recovered


def _saved_run(history: History, run: RunRecord) -> tuple[Path, RunResult] | None:
    """The run as its dbt-assets saved it when the history failed during it: the file of this
    run (its id, start and command: another history's run of the same id is not it)."""
    folders = [Path(run.project_dir) / ".dbt-assets"] if run.project_dir else []
    if isinstance(history.path, Path):
        folders.append(history.path.parent)
    for folder in dict.fromkeys(folders):
        for path in sorted(folder.glob(f"unrecorded-run-{run.run_id}-*.json")):
            try:
                saved = _SAVED.decode(path.read_bytes())
            except (OSError, msgspec.DecodeError):
                continue  # not whole, or not a run: not this one
            if (saved.run_id, saved.started_at, saved.command) == (run.run_id, run.started_at, run.command):
                return path, saved
    return None


def _complete(history: History, run: RunRecord, path: Path, saved: RunResult) -> None:
    """Record what the history missed of a run, as the run would have (each result once: one
    recorded before the history failed stays), and close it as it ended."""
    recorded = {result.unique_id: result.status for result in history.results(run.run_id)}
    not_reached = [r for r in saved.results.values() if r.status == NOT_REACHED]
    for result in saved.results.values():
        if result.status != NOT_REACHED and recorded.get(result.unique_id, RUNNING) == RUNNING:
            history.record_result(run.run_id, result)
    groups: dict[tuple[float, str], list[str]] = {}  # the runner records them at once: one group
    for result in not_reached:
        key = (
            result.finished_at if result.finished_at is not None else saved.finished_at,
            result.message or "",
        )
        groups.setdefault(key, []).append(result.unique_id)
    for (at, message), unique_ids in groups.items():
        history.record_not_reached(run.run_id, unique_ids, at, message)
    note = f"completed from {path.name}: the history failed during the run"
    history.finish_run(
        run.run_id,
        status=saved.status,
        exit_code=saved.exit_code,
        message=f"{saved.message}; {note}" if saved.message else note,
        unfinished_status=CANCELLED if saved.status in ("cancelled", "timeout") else "error",
        finished_at=saved.finished_at,
    )


def _from_run_results(history: History, run: RunRecord) -> int:
    """Record what the run's dbt invocation wrote to run_results.json; how many results."""
    if not run.invocation_id or not run.project_dir:
        return 0
    project = Path(run.project_dir)
    saved = project / ".dbt-assets" / f"unrecorded-run_results-{run.invocation_id}.json"
    for path in (saved, project / "target" / "run_results.json"):  # kept when the history failed
        try:
            imported = read_run_results(path)
        except HistoryError:
            continue
        if imported.invocation_id == run.invocation_id:
            break
    else:
        return 0  # none, or another invocation's results: not this run's
    planned = set(run.unique_ids)
    rows = [row for row in imported.rows if row[0] in planned]
    history.record_rows(run.run_id, rows)
    return len(rows)
