"""Reading the run history: runs, their results and logs, what each asset's history comes
to (facts, last status), and runs left open by a killed dbt-assets."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from dbt_assets._core.errors import HistoryError
from dbt_assets.history.database import Database
from dbt_assets.history.facts import LIST_DECODER as FACTS_LIST_DECODER
from dbt_assets.history.facts import AssetFacts, ResultRow, facts_from_rows
from dbt_assets.history.schema import (
    RESULT_ORDER,
    RESULT_ROWS,
    RUN_COLUMNS,
    AssetResult,
    AssetStatus,
    RunRecord,
    placeholders,
    run_record,
)
from dbt_assets.manifest.decode import paused_gc
from dbt_assets.run.events import (
    NOT_REACHED,
    SUCCESS_STATUSES,
    DbtLog,
)


class HistoryReads(Database):
    """The queries of a history database."""

    def interrupted_runs(self) -> list[RunRecord]:
        """Runs still open whose dbt-assets process, on this host, is gone."""
        rows = self._read(f"SELECT {RUN_COLUMNS} FROM runs WHERE status = 'running'")
        found = [run_record(row, {}) for row in rows]
        return [run for run in found if run.status == "interrupted"]

    def facts(self, at: float | None = None) -> dict[str, AssetFacts]:
        """What the history says about each asset with any history, now or as of ``at``
        (epoch seconds). Now, and any time after the last recorded result, reads the facts
        kept up to date as results arrived; an earlier time replays the results until then."""
        if at is None or self._facts_hold_at(at):
            rows = self._read("SELECT facts FROM asset_facts")
            with paused_gc():  # tens of thousands of small lists, no cycles among them
                decoded = FACTS_LIST_DECODER.decode(b"[" + b",".join(row[0] for row in rows) + b"]")
            return {f.unique_id: f for f in decoded}
        rows = self._read(f"{RESULT_ROWS} {RESULT_ORDER}")
        return facts_from_rows((ResultRow(*row) for row in rows), at)

    def _facts_hold_at(self, at: float) -> bool:
        """Whether nothing was recorded after ``at`` (then the kept facts are those of ``at``)."""
        later = self._read(
            "SELECT 1 FROM runs WHERE started_at > ? OR coalesce(finished_at, ?) > ? LIMIT 1",
            (at, time.time(), at),
        )
        return not later

    def runs(self, limit: int | None = 20) -> list[RunRecord]:
        """Runs, newest first, each with its count of assets per status."""
        rows = self._read(
            f"SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC, run_id DESC LIMIT ?",
            (limit if limit is not None else -1,),
        )
        counts = self._counts([row[0] for row in rows])
        return [run_record(row, counts.get(row[0], {})) for row in rows]

    def run(self, run_id: int | None = None) -> RunRecord:
        """One run (the newest when ``run_id`` is None)."""
        if run_id is None:
            rows = self._read(f"SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 1")
            if not rows:
                raise HistoryError(f"no runs recorded in {self.path}", "run `dbt-assets run` first")
        else:
            rows = self._read(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
            if not rows:
                raise HistoryError(
                    f"no run {run_id} in {self.path}", "`dbt-assets history` lists the recorded runs"
                )
        row = rows[0]
        return run_record(row, self._counts([row[0]]).get(row[0], {}))

    def results(self, run_id: int) -> list[AssetResult]:
        """Every asset result of one run, in the order they finished."""
        rows = self._read(
            "SELECT run_id, unique_id, status, started_at, finished_at, execution_time, rows_affected, "
            "failures, message, skipped_because, thread FROM asset_results WHERE run_id = ? "
            "ORDER BY coalesce(finished_at, started_at), unique_id",
            (run_id,),
        )
        return [
            AssetResult(
                run_id=row[0],
                unique_id=row[1],
                status=row[2],
                started_at=row[3],
                finished_at=row[4],
                execution_time=row[5],
                rows_affected=row[6],
                failures=row[7],
                message=row[8],
                skipped_because=json.loads(row[9]) if row[9] else [],
                thread=row[10],
            )
            for row in rows
        ]

    def logs(self, run_id: int) -> list[DbtLog]:
        rows = self._read(
            "SELECT level, message, name, at FROM run_logs WHERE run_id = ? ORDER BY seq", (run_id,)
        )
        return [DbtLog(level=r[0], message=r[1], name=r[2], at=r[3]) for r in rows]

    def asset_statuses(self, unique_ids: Iterable[str] | None = None) -> dict[str, AssetStatus]:
        """The last result and the last success of each asset with any history."""
        last = self._read(
            "SELECT unique_id, status, run_id, max(coalesce(finished_at, started_at)), execution_time "
            "FROM asset_results WHERE status NOT IN (?, ?) GROUP BY unique_id",
            ("running", NOT_REACHED),
        )
        success = dict(
            self._read(
                "SELECT unique_id, max(coalesce(finished_at, started_at)) FROM asset_results "
                f"WHERE status IN ({placeholders(SUCCESS_STATUSES)}) GROUP BY unique_id",
                sorted(SUCCESS_STATUSES),
            )
        )
        wanted = None if unique_ids is None else set(unique_ids)
        return {
            uid: AssetStatus(uid, status, run_id, at, success.get(uid), execution_time)
            for uid, status, run_id, at, execution_time in last
            if wanted is None or uid in wanted
        }

    def _counts(self, run_ids: list[int]) -> dict[int, dict[str, int]]:
        if not run_ids:
            return {}
        rows = self._read(
            "SELECT run_id, status, count(*) FROM asset_results "
            f"WHERE run_id IN ({placeholders(run_ids)}) GROUP BY run_id, status",
            run_ids,
        )
        counts: dict[int, dict[str, int]] = {}
        for run_id, status, count in rows:
            counts.setdefault(run_id, {})[status] = count
        return counts
