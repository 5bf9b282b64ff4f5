"""Reading the run history: runs, their results and logs, what each asset's history comes
to (facts, last status), and runs left open by a killed dbt-assets."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

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
            return _decoded(self._read("SELECT facts FROM asset_facts"))
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
            f"SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC, run_id DESC"
            + ("" if limit is None else " LIMIT ?"),
            () if limit is None else (limit,),
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

    def facts_of(self, unique_ids: Iterable[str]) -> dict[str, AssetFacts]:
        """The kept facts (now) of these assets, those with any history: an indexed look-up
        per asset, however long the history."""
        ids = sorted(set(unique_ids))
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows += self._read(
                f"SELECT facts FROM asset_facts WHERE unique_id IN ({placeholders(chunk)})", chunk
            )
        return _decoded(rows)

    def asset_statuses(self, unique_ids: Iterable[str] | None = None) -> dict[str, AssetStatus]:
        """The last result and the last success of each asset with any history, from the facts
        kept as results arrive (a scan of every result took 30 s on a year of 10,000 models)."""
        facts = self.facts() if unique_ids is None else self.facts_of(unique_ids)
        return {
            uid: AssetStatus(
                uid, f.last_status, f.last_run_id, f.last_at, f.last_success_at, f.last_execution_time
            )
            for uid, f in facts.items()
            if f.last_status is not None  # only ever running, or never reached
        }

    def invocation_overheads(self, limit: int = 20) -> list[float]:
        """Seconds each of the last ``limit`` successful runs of dbt-assets spent outside its
        assets: from its start to its first asset's start (dbt starting, parsing, selecting)
        and from its last asset's end to its end; newest first."""
        rows = self._read(
            "WITH recent AS (SELECT run_id, started_at, finished_at FROM runs "
            "WHERE origin = 'dbt-assets' AND status = 'success' AND finished_at IS NOT NULL "
            "ORDER BY started_at DESC LIMIT ?) "
            "SELECT r.started_at, r.finished_at, min(a.started_at), max(a.finished_at) FROM recent r "
            "JOIN asset_results a ON a.run_id = r.run_id "
            "GROUP BY r.run_id, r.started_at, r.finished_at ORDER BY r.started_at DESC",
            (limit,),
        )
        return [
            max(0.0, first - start) + max(0.0, end - last)
            for start, end, first, last in rows
            if first is not None and last is not None
        ]

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


_CHUNK = 500
"""Unique ids per ``IN (...)`` look-up (SQLite's limit on parameters is 999 in older builds)."""


def _decoded(rows: Iterable[tuple[Any, ...]]) -> dict[str, AssetFacts]:
    """``asset_facts`` rows decoded in one pass."""
    with paused_gc():  # tens of thousands of small lists, no cycles among them
        decoded = FACTS_LIST_DECODER.decode(b"[" + b",".join(row[0] for row in rows) + b"]")
    return {f.unique_id: f for f in decoded}
