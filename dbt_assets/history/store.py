"""The run history: every run and every asset result, in an embedded SQLite file or in a
PostgreSQL database that many machines share (:mod:`.backend`, :mod:`.postgres`).

The store writes runs and results; reading is :mod:`.reads`, the connection, migrations
and facts maintenance :mod:`.database`, the schema :mod:`.schema`.

    >>> history = History.open("fixtures/dbt_project/.dbt-assets/history.db")   # doctest: +SKIP
    >>> [run.status for run in history.runs(limit=3)]                            # doctest: +SKIP
    ['success', 'failed', 'success']

Results are written the moment they arrive (one short transaction each), so a run that
crashes or is killed keeps everything that finished. Write transactions are exclusive
(SQLite's ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock) and retried while another writer
holds the database, so concurrent runs are all recorded completely. The schema is versioned
and older databases are migrated in place; a database that is corrupt, not ours, or newer
than this dbt-assets is an error, never silently reset.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from dbt_assets.history.automation import AutomationRecords
from dbt_assets.history.backend import upsert
from dbt_assets.history.claims import Claims
from dbt_assets.history.facts import RUNNING, ResultRow
from dbt_assets.history.reads import HistoryReads
from dbt_assets.run.artifacts import ImportedRun, read_run_results, read_source_freshness
from dbt_assets.run.events import (
    CANCELLED,
    FAILURE_STATUSES,
    NOT_REACHED,
    AssetFinished,
    DbtLog,
)


class History(AutomationRecords, Claims, HistoryReads):
    """A run history (create with :meth:`open`): the writes of a run, and imports of dbt's
    artifacts."""

    def start_run(
        self,
        *,
        command: str,
        argv: list[str],
        unique_ids: Iterable[str],
        selection: dict[str, Any] | None = None,
        flags: list[str] | None = None,
        project_dir: str | None = None,
        target: str | None = None,
        started_at: float | None = None,
        claim: bool = False,
        on_start: Callable[[int], object] | None = None,
    ) -> int:
        """Record a run that is starting, and with ``claim`` claim its assets (:mod:`.claims`:
        what the runner does), in one transaction; returns its run id. Raises
        :class:`AssetsBusyError` (and records nothing) when a live run holds any of them.
        ``on_start(run_id)`` writes more in the same transaction (what automation decided)."""
        ids = sorted(unique_ids)
        started = started_at if started_at is not None else time.time()

        def action() -> int:
            with self._transaction():
                rows = self._db.execute(
                    "INSERT INTO runs (command, selection, argv, flags, unique_ids, project_dir, target, "
                    "started_at, status, pid, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?) "
                    "RETURNING run_id",
                    (
                        command,
                        json.dumps(selection or {}),
                        json.dumps(argv),
                        json.dumps(flags or []),
                        json.dumps(ids),
                        project_dir,
                        target,
                        started,
                        os.getpid(),
                        socket.gethostname(),
                    ),
                ).fetchall()
                run_id = int(rows[0][0])
                if claim:
                    self._take_claims(run_id, ids, time.time(), target)
                if on_start is not None:
                    on_start(run_id)
                return run_id

        run_id = self._retry(action)
        if claim:
            self._hold_run(run_id)
        return run_id

    def set_invocation(self, run_id: int, dbt_version: str, invocation_id: str) -> bool:
        """Record the dbt version and invocation id of a run; False when another run already
        has that invocation id (a dbt that repeats one): this run then keeps none."""

        def action() -> bool:
            with self._transaction():
                taken = (
                    bool(invocation_id)
                    and self._db.execute(
                        "SELECT 1 FROM runs WHERE invocation_id = ? AND run_id != ?", (invocation_id, run_id)
                    ).fetchone()
                    is not None
                )
                self._db.execute(
                    "UPDATE runs SET dbt_version = ?, invocation_id = ? WHERE run_id = ?",
                    (dbt_version, None if taken else (invocation_id or None), run_id),
                )
                return not taken

        return self._retry(action)

    def record_start(self, run_id: int, unique_id: str, at: float) -> None:
        self._record(
            (run_id, unique_id, RUNNING, at, *[None] * 8),
            ResultRow(unique_id, run_id, RUNNING, at, None, None, None),
        )

    def record_result(self, run_id: int, result: AssetFinished) -> None:
        self._record(
            (
                run_id,
                result.unique_id,
                result.status,
                result.started_at,
                result.finished_at,
                result.execution_time,
                result.rows_affected,
                result.failures,
                result.message,
                json.dumps(result.adapter_response) if result.adapter_response else None,
                result.thread,
                json.dumps(result.skipped_because) if result.skipped_because else None,
            ),
            ResultRow(
                result.unique_id,
                run_id,
                result.status,
                result.started_at,
                result.finished_at,
                result.execution_time,
                None,
                result.message,
            ),
        )

    def record_log(self, run_id: int, log: DbtLog) -> None:
        self._write(
            "INSERT INTO run_logs (run_id, seq, level, name, message, at) VALUES "
            "(?, (SELECT coalesce(max(seq), 0) + 1 FROM run_logs WHERE run_id = ?), ?, ?, ?, ?)",
            (run_id, run_id, log.level, log.name, log.message, log.at),
        )

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        exit_code: int,
        message: str | None = None,
        unfinished_status: str = CANCELLED,
        finished_at: float | None = None,
    ) -> None:
        """Close a run; assets still marked running get ``unfinished_status``."""
        finished = finished_at if finished_at is not None else time.time()

        def action() -> None:
            with self._transaction():
                unfinished = [
                    row[0]
                    for row in self._db.execute(
                        "SELECT unique_id FROM asset_results WHERE run_id = ? AND status = 'running'",
                        (run_id,),
                    )
                ]
                self._db.execute(
                    "UPDATE asset_results SET status = ?, finished_at = ?, message = coalesce(message, ?) "
                    "WHERE run_id = ? AND status = 'running'",
                    (unfinished_status, finished, message, run_id),
                )
                if unfinished:
                    self._rebuild_facts(unfinished)
                self._db.execute(
                    "UPDATE runs SET status = ?, exit_code = ?, message = ?, finished_at = ? "
                    "WHERE run_id = ?",
                    (status, exit_code, message, finished, run_id),
                )
                self._release_claims(run_id)

        self._retry(action)
        self._let_go_run(run_id)

    def import_run_results(self, path: str | Path) -> int | None:
        """Record a run from dbt's ``run_results.json``; None when it is already recorded
        (same invocation id)."""
        return self._import(read_run_results(path))

    def import_source_freshness(self, path: str | Path, time_offset: float = 0.0) -> int | None:
        """Record a ``dbt source freshness`` check from its ``sources.json``: each source's
        status (pass, warn, error, runtime error) and the load time of its newest row. None
        when it is already recorded (same invocation id). ``time_offset``: seconds added to the
        check's own times (a scheduler's clock), never to the load times, which are the data's."""
        imported = read_source_freshness(path)
        if time_offset:
            shift = _shifted(time_offset)
            imported = replace(
                imported,
                started_at=imported.started_at + time_offset,
                finished_at=imported.finished_at + time_offset,
                rows=[(*row[:2], shift(row[2]), shift(row[3]), *row[4:]) for row in imported.rows],
            )
        return self._import(imported)

    def _import(self, imported: ImportedRun) -> int | None:
        invocation_id = imported.invocation_id
        if invocation_id and self._read("SELECT 1 FROM runs WHERE invocation_id = ?", (invocation_id,)):
            return None
        rows = imported.rows
        statuses = {row[1] for row in rows}
        failed = bool(statuses & (FAILURE_STATUSES | {"skipped"}))

        def action() -> int:
            with self._transaction():
                cursor = self._db.execute(
                    "INSERT INTO runs (command, selection, unique_ids, target, dbt_version, invocation_id, "
                    "started_at, finished_at, status, exit_code, origin) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'import') RETURNING run_id",
                    (
                        imported.command,
                        json.dumps(imported.selection),
                        json.dumps(sorted(row[0] for row in rows)),
                        imported.target,
                        imported.dbt_version,
                        invocation_id,
                        imported.started_at,
                        imported.finished_at,
                        "failed" if failed else "success",
                        1 if failed else 0,
                    ),
                )
                run_id = int(cursor.fetchall()[0][0])
                self._insert_rows(run_id, rows)
                return run_id

        return self._retry(action)

    def record_rows(self, run_id: int, rows: Sequence[tuple[Any, ...]]) -> None:
        """Record results read from dbt's artifacts into a run (one per asset: a result
        recorded again replaces the one before, so recording twice changes nothing)."""

        def action() -> None:
            with self._transaction():
                self._insert_rows(run_id, rows)

        self._retry(action)

    def record_not_reached(self, run_id: int, unique_ids: Sequence[str], at: float, message: str) -> None:
        """Planned assets the run stopped before: listed with the run; their facts stay."""

        def action() -> None:
            with self._transaction():
                self._db.executemany(
                    "INSERT INTO asset_results (run_id, unique_id, status, finished_at, message) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, unique_id) DO NOTHING",
                    [(run_id, uid, NOT_REACHED, at, message) for uid in unique_ids],
                )

        self._retry(action)

    def _insert_rows(self, run_id: int, rows: Sequence[tuple[Any, ...]]) -> None:
        self._db.executemany(
            _IMPORTED,
            [(run_id, *row) for row in rows],
        )
        self._rebuild_facts(sorted({row[0] for row in rows}))


def _shifted(offset: float) -> Callable[[float | None], float | None]:
    return lambda at: None if at is None else at + offset


_KEY = ("run_id", "unique_id")
_COLUMNS = (
    "run_id", "unique_id", "status", "started_at", "finished_at", "execution_time", "rows_affected",
    "failures", "message", "adapter_response", "thread", "skipped_because", "max_loaded_at",
)  # fmt: skip
_IMPORTED = upsert("asset_results", (*_COLUMNS[:11], "max_loaded_at"), _KEY, reset=("skipped_because",))
