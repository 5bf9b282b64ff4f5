"""Run history in an embedded SQLite database: every run and every asset result.

    >>> history = History.open("fixtures/dbt_project/.dbt-assets/history.db")   # doctest: +SKIP
    >>> [run.status for run in history.runs(limit=3)]                            # doctest: +SKIP
    ['success', 'failed', 'success']

Results are written the moment they arrive (one short transaction each), so a run that
crashes or is killed keeps everything that finished. The database is in WAL mode with a
busy timeout and retries, so concurrent runs on one database are all recorded completely.
The schema is versioned (``PRAGMA user_version``) and older databases are migrated in
place; a database that is corrupt, not ours, or newer than this dbt-assets is an error,
never silently reset.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from dbt_assets.artifacts import ImportedRun, read_run_results, read_source_freshness
from dbt_assets.errors import HistoryError
from dbt_assets.events import (
    CANCELLED,
    FAILURE_STATUSES,
    NOT_REACHED,
    SUCCESS_STATUSES,
    AssetFinished,
    DbtLog,
)
from dbt_assets.facts import DECODER as FACTS_DECODER
from dbt_assets.facts import ENCODER as FACTS_ENCODER
from dbt_assets.facts import LIST_DECODER as FACTS_LIST_DECODER
from dbt_assets.facts import RUNNING, AssetFacts, ResultRow, facts_from_rows, fold
from dbt_assets.manifest import paused_gc

HISTORY_ENV = "DBT_ASSETS_HISTORY"
DEFAULT_LOCATION = Path(".dbt-assets") / "history.db"
T = TypeVar("T")

MIGRATIONS: tuple[str, ...] = (
    # 1: runs and their asset results
    """
    CREATE TABLE runs (
        run_id        INTEGER PRIMARY KEY AUTOINCREMENT,
        command       TEXT NOT NULL,
        selection     TEXT NOT NULL DEFAULT '{}',
        argv          TEXT NOT NULL DEFAULT '[]',
        flags         TEXT NOT NULL DEFAULT '[]',
        unique_ids    TEXT NOT NULL DEFAULT '[]',
        project_dir   TEXT,
        target        TEXT,
        dbt_version   TEXT,
        invocation_id TEXT,
        started_at    REAL NOT NULL,
        finished_at   REAL,
        status        TEXT NOT NULL,
        exit_code     INTEGER,
        message       TEXT,
        origin        TEXT NOT NULL DEFAULT 'dbt-assets',
        pid           INTEGER,
        host          TEXT
    );
    CREATE UNIQUE INDEX runs_by_invocation ON runs(invocation_id) WHERE invocation_id IS NOT NULL;
    CREATE TABLE asset_results (
        run_id           INTEGER NOT NULL REFERENCES runs(run_id),
        unique_id        TEXT NOT NULL,
        status           TEXT NOT NULL,
        started_at       REAL,
        finished_at      REAL,
        execution_time   REAL,
        rows_affected    INTEGER,
        failures         INTEGER,
        message          TEXT,
        adapter_response TEXT,
        thread           TEXT,
        skipped_because  TEXT,
        PRIMARY KEY (run_id, unique_id)
    );
    CREATE INDEX asset_results_by_asset ON asset_results(unique_id, finished_at);
    """,
    # 2: dbt output that is not an asset event (warnings, errors, garbled lines), per run
    """
    CREATE TABLE run_logs (
        run_id  INTEGER NOT NULL REFERENCES runs(run_id),
        seq     INTEGER NOT NULL,
        level   TEXT NOT NULL,
        name    TEXT NOT NULL DEFAULT '',
        message TEXT NOT NULL,
        at      REAL,
        PRIMARY KEY (run_id, seq)
    );
    """,
    # 3: what each asset's history comes to (dbt_assets.facts), kept as results arrive;
    # a source's newest load time from `dbt source freshness`
    """
    ALTER TABLE asset_results ADD COLUMN max_loaded_at REAL;
    CREATE TABLE asset_facts (
        unique_id TEXT PRIMARY KEY,
        facts     BLOB NOT NULL
    );
    """,
)
FACTS_SINCE = 3
"""The schema version that added asset_facts: databases migrated past it get theirs built."""
SCHEMA_VERSION = len(MIGRATIONS)


class RunRecord(msgspec.Struct, frozen=True):
    """One run as recorded (by dbt-assets, or imported from dbt's run_results.json)."""

    run_id: int
    command: str
    status: str
    started_at: float
    finished_at: float | None
    exit_code: int | None
    selection: dict[str, Any]
    argv: list[str]
    flags: list[str]
    unique_ids: list[str]
    project_dir: str | None
    target: str | None
    dbt_version: str | None
    invocation_id: str | None
    message: str | None
    origin: str
    counts: dict[str, int] = {}


class AssetResult(msgspec.Struct, frozen=True):
    """One asset's result in one run."""

    run_id: int
    unique_id: str
    status: str
    started_at: float | None
    finished_at: float | None
    execution_time: float | None
    rows_affected: int | None
    failures: int | None
    message: str | None
    skipped_because: list[str] = []


class AssetStatus(msgspec.Struct, frozen=True):
    """What the history says about one asset: its last result and its last success."""

    unique_id: str
    last_status: str | None
    last_run_id: int | None
    last_at: float | None
    last_success_at: float | None
    last_execution_time: float | None


def history_path(project_dir: Path, path: str | Path | None = None) -> Path:
    """Where the history database is: ``path``, ``$DBT_ASSETS_HISTORY``, else
    ``<project>/.dbt-assets/history.db``."""
    chosen = path or os.environ.get(HISTORY_ENV)
    return Path(chosen) if chosen else project_dir / DEFAULT_LOCATION


class History:
    """A connection to a history database (create with :meth:`open`)."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection
        self.recovered: list[int] = []
        """Runs closed on opening because their dbt-assets process had been killed."""
        self._identity = _identity(path)

    def still_there(self) -> bool:
        """Whether the database file this history writes to is still the one at its path (a
        history deleted or replaced while open takes everything written after into a file
        no one can see)."""
        return _identity(self.path) == self._identity

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> History:
        """Open (and create or migrate) the database at ``path``."""
        path = Path(path)
        if not path.exists():
            if not create:
                raise HistoryError(
                    f"no run history at {path}",
                    "run `dbt-assets run`, or import dbt's results: dbt-assets history import "
                    "target/run_results.json",
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot open the run history {path}: {exc}") from exc
        history = cls(path, connection)
        history._prepare()
        from dbt_assets.recovery import recover_interrupted

        history.recovered = recover_interrupted(history)  # runs whose dbt-assets process was killed
        return history

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema ---------------------------------------------------------------------

    def _prepare(self) -> None:
        try:
            self._retry(lambda: self._db.execute("PRAGMA journal_mode=WAL"))
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            version = self._user_version()
            if version < SCHEMA_VERSION:
                self._retry(self._migrate)
            elif version > SCHEMA_VERSION:
                raise HistoryError(
                    f"{self.path} has history schema v{version}, newer than this dbt-assets "
                    f"(v{SCHEMA_VERSION})",
                    "upgrade dbt-assets, or point --history at another database",
                )
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(exc) from exc

    def _user_version(self) -> int:
        row = self._db.execute("PRAGMA user_version").fetchone()
        return int(row[0])

    def _migrate(self) -> None:
        with self._transaction():
            version = self._user_version()  # again, inside the lock: another process may have won
            if version == 0:
                tables = self._db.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()
                if tables[0]:
                    raise HistoryError(
                        f"{self.path} is an SQLite database but not a dbt-assets run history",
                        "point --history (or DBT_ASSETS_HISTORY) at a new file",
                    )
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            if version < FACTS_SINCE:
                self._rebuild_facts(None)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _corrupt(self, exc: sqlite3.DatabaseError) -> HistoryError:
        return HistoryError(
            f"the run history {self.path} is unreadable ({exc})",
            f"dbt-assets never resets it: move it aside (mv {self.path} {self.path}.broken) to start "
            "a new history, or point --history at another file",
        )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _retry(self, action: Callable[[], T]) -> T:
        """Run ``action``, retrying while another process holds the database."""
        delay = 0.05
        deadline = time.monotonic() + 120
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() > deadline:
                    raise HistoryError(f"cannot write the run history {self.path}: {exc}") from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
            except sqlite3.IntegrityError as exc:  # a constraint, not a damaged file
                raise HistoryError(f"the run history {self.path} refused a write: {exc}") from exc
            except sqlite3.DatabaseError as exc:
                raise self._corrupt(exc) from exc

    def _write(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        def action() -> sqlite3.Cursor:
            with self._transaction():
                return self._db.execute(sql, tuple(params))

        return self._retry(action)

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return self._retry(lambda: self._db.execute(sql, tuple(params)).fetchall())

    # --- writing a run --------------------------------------------------------------

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
    ) -> int:
        """Record a run that is starting; returns its run id."""
        cursor = self._write(
            "INSERT INTO runs (command, selection, argv, flags, unique_ids, project_dir, target, "
            "started_at, status, pid, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
            (
                command,
                json.dumps(selection or {}),
                json.dumps(argv),
                json.dumps(flags or []),
                json.dumps(sorted(unique_ids)),
                project_dir,
                target,
                started_at if started_at is not None else time.time(),
                os.getpid(),
                socket.gethostname(),
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

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
        def action() -> None:
            with self._transaction():
                self._db.execute(
                    "INSERT OR REPLACE INTO asset_results (run_id, unique_id, status, started_at) "
                    "VALUES (?, ?, 'running', ?)",
                    (run_id, unique_id, at),
                )
                self._advance_facts(ResultRow(unique_id, run_id, RUNNING, at, None, None, None))

        self._retry(action)

    def record_result(self, run_id: int, result: AssetFinished) -> None:
        def action() -> None:
            with self._transaction():
                self._db.execute(
                    "INSERT OR REPLACE INTO asset_results (run_id, unique_id, status, started_at, "
                    "finished_at, execution_time, rows_affected, failures, message, adapter_response, "
                    "thread, skipped_because) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                )
                self._advance_facts(
                    ResultRow(
                        result.unique_id,
                        run_id,
                        result.status,
                        result.started_at,
                        result.finished_at,
                        result.execution_time,
                        None,
                        result.message,
                    )
                )

        self._retry(action)

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

        self._retry(action)

    # --- importing dbt's own results ------------------------------------------------

    def import_run_results(self, path: str | Path) -> int | None:
        """Record a run from dbt's ``run_results.json``; None when it is already recorded
        (same invocation id)."""
        return self._import(read_run_results(path))

    def import_source_freshness(self, path: str | Path) -> int | None:
        """Record a ``dbt source freshness`` check from its ``sources.json``: each source's
        status (pass, warn, error, runtime error) and the load time of its newest row. None
        when it is already recorded (same invocation id)."""
        return self._import(read_source_freshness(path))

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
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'import')",
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
                run_id = cursor.lastrowid
                assert run_id is not None
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
                    "INSERT OR IGNORE INTO asset_results (run_id, unique_id, status, finished_at, message) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(run_id, uid, NOT_REACHED, at, message) for uid in unique_ids],
                )

        self._retry(action)

    def _insert_rows(self, run_id: int, rows: Sequence[tuple[Any, ...]]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO asset_results (run_id, unique_id, status, started_at,"
            " finished_at, execution_time, rows_affected, failures, message, adapter_response,"
            " thread, max_loaded_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(run_id, *row) for row in rows],
        )
        self._rebuild_facts(sorted({row[0] for row in rows}))

    def interrupted_runs(self) -> list[RunRecord]:
        """Runs still open whose dbt-assets process, on this host, is gone."""
        rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs WHERE status = 'running'")
        found = [_run_record(row, {}) for row in rows]
        return [run for run in found if run.status == "interrupted"]

    # --- facts (dbt_assets.facts) ---------------------------------------------------

    def _advance_facts(self, row: ResultRow) -> None:
        """Fold one new result into its asset's facts (inside the writing transaction); a
        result older than what the facts already hold makes them be rebuilt instead."""
        got = self._db.execute(
            "SELECT facts FROM asset_facts WHERE unique_id = ?", (row.unique_id,)
        ).fetchone()
        current = FACTS_DECODER.decode(got[0]) if got else None
        if (
            current is not None
            and row.status != RUNNING
            and current.last_at is not None
            and (row.at is None or row.at < current.last_at)
        ):
            self._rebuild_facts([row.unique_id])
            return
        self._db.execute(
            "INSERT OR REPLACE INTO asset_facts (unique_id, facts) VALUES (?, ?)",
            (row.unique_id, FACTS_ENCODER.encode(fold(current, row))),
        )

    def _rebuild_facts(self, unique_ids: list[str] | None) -> None:
        """Facts of these assets (None: of all) from every recorded result."""
        if unique_ids is None:
            self._db.execute("DELETE FROM asset_facts")
            batches: list[list[str] | None] = [None]
        else:
            batches = [unique_ids[i : i + 500] for i in range(0, len(unique_ids), 500)]
        for batch in batches:
            where = "" if batch is None else f"WHERE unique_id IN ({_placeholders(batch)})"
            rows = self._db.execute(f"{_RESULT_ROWS} {where} {_RESULT_ORDER}", batch or ())
            facts = facts_from_rows(ResultRow(*row) for row in rows)
            self._db.executemany(
                "INSERT OR REPLACE INTO asset_facts (unique_id, facts) VALUES (?, ?)",
                [(uid, FACTS_ENCODER.encode(f)) for uid, f in facts.items()],
            )

    def facts(self, at: float | None = None) -> dict[str, AssetFacts]:
        """What the history says about each asset with any history, now or as of ``at``
        (epoch seconds). Now, and any time after the last recorded result, reads the facts
        kept up to date as results arrived; an earlier time replays the results until then."""
        if at is None or self._facts_hold_at(at):
            rows = self._read("SELECT facts FROM asset_facts")
            with paused_gc():  # tens of thousands of small lists, no cycles among them
                decoded = FACTS_LIST_DECODER.decode(b"[" + b",".join(row[0] for row in rows) + b"]")
            return {f.unique_id: f for f in decoded}
        rows = self._read(f"{_RESULT_ROWS} {_RESULT_ORDER}")
        return facts_from_rows((ResultRow(*row) for row in rows), at)

    def _facts_hold_at(self, at: float) -> bool:
        """Whether nothing was recorded after ``at`` (then the kept facts are those of ``at``)."""
        later = self._read(
            "SELECT 1 FROM runs WHERE started_at > ? OR coalesce(finished_at, ?) > ? LIMIT 1",
            (at, time.time(), at),
        )
        return not later

    # --- reading --------------------------------------------------------------------

    def runs(self, limit: int | None = 20) -> list[RunRecord]:
        """Runs, newest first, each with its count of assets per status."""
        rows = self._read(
            f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY started_at DESC, run_id DESC LIMIT ?",
            (limit if limit is not None else -1,),
        )
        counts = self._counts([row[0] for row in rows])
        return [_run_record(row, counts.get(row[0], {})) for row in rows]

    def run(self, run_id: int | None = None) -> RunRecord:
        """One run (the newest when ``run_id`` is None)."""
        if run_id is None:
            rows = self._read(
                f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 1"
            )
            if not rows:
                raise HistoryError(f"no runs recorded in {self.path}", "run `dbt-assets run` first")
        else:
            rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
            if not rows:
                raise HistoryError(
                    f"no run {run_id} in {self.path}", "`dbt-assets history` lists the recorded runs"
                )
        row = rows[0]
        return _run_record(row, self._counts([row[0]]).get(row[0], {}))

    def results(self, run_id: int) -> list[AssetResult]:
        """Every asset result of one run, in the order they finished."""
        rows = self._read(
            "SELECT run_id, unique_id, status, started_at, finished_at, execution_time, rows_affected, "
            "failures, message, skipped_because FROM asset_results WHERE run_id = ? "
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
                f"WHERE status IN ({_placeholders(SUCCESS_STATUSES)}) GROUP BY unique_id",
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
            f"WHERE run_id IN ({_placeholders(run_ids)}) GROUP BY run_id, status",
            run_ids,
        )
        counts: dict[int, dict[str, int]] = {}
        for run_id, status, count in rows:
            counts.setdefault(run_id, {})[status] = count
        return counts


_RUN_COLUMNS = (
    "run_id, command, status, started_at, finished_at, exit_code, selection, argv, flags, unique_ids, "
    "project_dir, target, dbt_version, invocation_id, message, origin, pid, host"
)


def _placeholders(values: Iterable[Any]) -> str:
    return ", ".join("?" for _ in values)


def _run_record(row: tuple[Any, ...], counts: dict[str, int]) -> RunRecord:
    (run_id, command, status, started, finished, exit_code, selection, argv, flags, unique_ids) = row[:10]
    project_dir, target, dbt_version, invocation_id, message, origin, pid, host = row[10:]
    if status == "running" and host == socket.gethostname() and not _alive(pid):
        status = "interrupted"  # the dbt-assets process that ran it died without closing it
    return RunRecord(
        run_id=run_id,
        command=command,
        status=status,
        started_at=started,
        finished_at=finished,
        exit_code=exit_code,
        selection=json.loads(selection),
        argv=json.loads(argv),
        flags=json.loads(flags),
        unique_ids=json.loads(unique_ids),
        project_dir=project_dir,
        target=target,
        dbt_version=dbt_version,
        invocation_id=invocation_id,
        message=message,
        origin=origin,
        counts=counts,
    )


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_RESULT_ROWS = (
    "SELECT unique_id, run_id, status, started_at, finished_at, execution_time, max_loaded_at, message "
    "FROM asset_results"
)
_RESULT_ORDER = "ORDER BY unique_id, coalesce(finished_at, started_at), run_id"
