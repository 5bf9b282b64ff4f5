"""Recovering a run whose dbt-assets process was killed.

A killed dbt-assets (SIGKILL, a crashed worker, a closed laptop) leaves its run "running" in
the history. dbt dies with it (the parent-death signal, :mod:`dbt_assets.run.runner`); what dbt
finished was recorded as dbt reported it, and whatever dbt wrote to ``target/run_results.json``
(or the copy the runner saved in ``.dbt-assets/`` when the history failed during the run) for
that invocation (a dbt started by an older dbt-assets, or on a system without the
parent-death signal, may have finished the run alone) is read back. Each such run is then closed as
``interrupted``: results dbt reported are recorded (once: a result is keyed by run and
asset), assets still marked running are ``cancelled``. The next command that opens the
history does this, or ``dbt-assets history recover``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from dbt_assets._core.errors import HistoryError
from dbt_assets.history.store import History
from dbt_assets.run.artifacts import read_run_results

if TYPE_CHECKING:
    from dbt_assets.history.schema import RunRecord

EXIT_INTERRUPTED = 130


def open_history(path: str | Path, *, create: bool = True) -> History:
    """Open the history at ``path`` for use: create or migrate it, then close the runs whose
    dbt-assets process was killed (:attr:`History.recovered`)."""
    history = History.open(path, create=create)
    try:
        history.recovered = recover_interrupted(history)
    except BaseException:
        history.close()
        raise
    return history


def recover_interrupted(history: History) -> list[int]:
    """Close every run of this host whose dbt-assets process died; the runs closed."""
    recovered = []
    for run in history.interrupted_runs():
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
