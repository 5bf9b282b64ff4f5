"""The run history's schema: its migrations, the records read from it, and the SQL and row
helpers the store shares. The schema is versioned (``PRAGMA user_version``); each migration is
a list of statements run in one transaction."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

HISTORY_ENV = "DBT_ASSETS_HISTORY"

POSTGRES_SCHEMES = ("postgresql://", "postgres://")

DEFAULT_LOCATION = Path(".dbt-assets") / "history.db"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: runs and their asset results
    (
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
        )
        """,
        """
        CREATE UNIQUE INDEX runs_by_invocation ON runs(invocation_id) WHERE invocation_id IS NOT NULL
        """,
        """
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
        )
        """,
        """
        CREATE INDEX asset_results_by_asset ON asset_results(unique_id, finished_at)
        """,
    ),
    # 2: dbt output that is not an asset event (warnings, errors, garbled lines), per run
    (
        """
        CREATE TABLE run_logs (
            run_id  INTEGER NOT NULL REFERENCES runs(run_id),
            seq     INTEGER NOT NULL,
            level   TEXT NOT NULL,
            name    TEXT NOT NULL DEFAULT '',
            message TEXT NOT NULL,
            at      REAL,
            PRIMARY KEY (run_id, seq)
        )
        """,
    ),
    # 3: what each asset's history comes to (dbt_assets.history.facts), kept as results arrive;
    # a source's newest load time from `dbt source freshness`
    (
        """
        ALTER TABLE asset_results ADD COLUMN max_loaded_at REAL
        """,
        """
        CREATE TABLE asset_facts (
            unique_id TEXT PRIMARY KEY,
            facts     BLOB NOT NULL
        )
        """,
    ),
    # 4: one run per asset at a time (dbt_assets.history.claims), and what automation decided
    # (dbt_assets.history.automation): each tick, each decision that changed, each asset's state
    (
        """
        CREATE TABLE asset_claims (
            unique_id  TEXT NOT NULL,
            target     TEXT NOT NULL DEFAULT '',
            run_id     INTEGER NOT NULL REFERENCES runs(run_id),
            claimed_at REAL NOT NULL,
            PRIMARY KEY (unique_id, target)
        )
        """,
        """
        CREATE INDEX asset_claims_by_run ON asset_claims(run_id)
        """,
        """
        CREATE TABLE automation_ticks (
            tick_id    INTEGER PRIMARY KEY AUTOINCREMENT,
            at         REAL NOT NULL,
            decided_at REAL NOT NULL,
            owner      TEXT NOT NULL,
            run_id     INTEGER REFERENCES runs(run_id),
            summary    TEXT NOT NULL DEFAULT '{}'
        )
        """,
        """
        CREATE TABLE automation_decisions (
            tick_id   INTEGER NOT NULL REFERENCES automation_ticks(tick_id),
            unique_id TEXT NOT NULL,
            decision  TEXT NOT NULL,
            condition TEXT,
            reason    TEXT NOT NULL,
            data      TEXT NOT NULL DEFAULT '{}',
            run_id    INTEGER REFERENCES runs(run_id),
            PRIMARY KEY (tick_id, unique_id)
        )
        """,
        """
        CREATE INDEX automation_decisions_by_asset ON automation_decisions(unique_id, tick_id)
        """,
        """
        CREATE TABLE automation_assets (
            unique_id TEXT PRIMARY KEY,
            state     BLOB NOT NULL
        )
        """,
    ),
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
    thread: str | None = None
    """dbt's thread that ran it (``Thread-1 (worker)``), when dbt said."""


class AssetStatus(msgspec.Struct, frozen=True):
    """What the history says about one asset: its last result and its last success."""

    unique_id: str
    last_status: str | None
    last_run_id: int | None
    last_at: float | None
    last_success_at: float | None
    last_execution_time: float | None


def history_path(project_dir: Path, path: str | Path | None = None) -> Path | str:
    """Where the history database is: ``path``, ``$DBT_ASSETS_HISTORY``, else
    ``<project>/.dbt-assets/history.db``; a PostgreSQL connection string stays a string."""
    chosen = path or os.environ.get(HISTORY_ENV)
    if not chosen:
        return project_dir / DEFAULT_LOCATION
    return chosen if is_url(chosen) else Path(chosen)


def is_url(location: str | Path) -> bool:
    """Whether a history location names a PostgreSQL database rather than an SQLite file: a
    URL, or libpq's keyword/value string (:func:`dbt_assets.history.conninfo.is_postgres`)."""
    from dbt_assets.history.conninfo import is_postgres

    return is_postgres(location)


def history_exists(location: Path | str) -> bool:
    """Whether there may be a history there: an SQLite file that exists, or any PostgreSQL URL
    (opening it without creating says whether it holds one)."""
    return isinstance(location, str) or location.exists()


RUN_COLUMNS = (
    "run_id, command, status, started_at, finished_at, exit_code, selection, argv, flags, unique_ids, "
    "project_dir, target, dbt_version, invocation_id, message, origin, pid, host"
)

RESULT_ROWS = (
    "SELECT unique_id, run_id, status, started_at, finished_at, execution_time, max_loaded_at, message "
    "FROM asset_results"
)

# results without a time first on both backends (PostgreSQL puts NULL last), as the store
# takes such a result for older than any other (database._older)
RESULT_ORDER = (
    "ORDER BY unique_id, coalesce(finished_at, started_at) IS NOT NULL, "
    "coalesce(finished_at, started_at), run_id"
)


def placeholders(values: Iterable[Any]) -> str:
    return ", ".join("?" for _ in values)


def run_record(row: tuple[Any, ...], counts: dict[str, int]) -> RunRecord:
    (run_id, command, status, started, finished, exit_code, selection, argv, flags, unique_ids) = row[:10]
    project_dir, target, dbt_version, invocation_id, message, origin, pid, host = row[10:]
    if status == "running" and host == socket.gethostname() and not process_alive(pid):
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


def file_identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
