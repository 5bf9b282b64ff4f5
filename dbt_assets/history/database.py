"""The history database: opening, migrating, transactions and retries, and the per-asset
facts kept in step with every result written (:mod:`dbt_assets.history.facts`).

Results are written the moment they arrive (one short transaction each), so a run that
crashes or is killed keeps everything that finished. The database is in WAL mode with a
busy timeout and retries, so concurrent runs on one database are all recorded completely.
Older databases are migrated in place; a database that is corrupt, not ours, or newer than
this dbt-assets is an error, never silently reset.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

from dbt_assets._core.errors import HistoryError
from dbt_assets.history.facts import DECODER as FACTS_DECODER
from dbt_assets.history.facts import ENCODER as FACTS_ENCODER
from dbt_assets.history.facts import RUNNING, ResultRow, facts_from_rows, fold
from dbt_assets.history.schema import (
    FACTS_SINCE,
    MIGRATIONS,
    RESULT_ORDER,
    RESULT_ROWS,
    SCHEMA_VERSION,
    file_identity,
    placeholders,
)

T = TypeVar("T")


class Database:
    """A connection to a history database (create with :meth:`open`)."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection
        self.recovered: list[int] = []
        """Runs closed on opening because their dbt-assets process had been killed
        (:func:`dbt_assets.history.recovery.open_history`)."""
        self._identity = file_identity(path)

    def still_there(self) -> bool:
        """Whether the database file this history writes to is still the one at its path (a
        history deleted or replaced while open takes everything written after into a file
        no one can see)."""
        return file_identity(self.path) == self._identity

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> Self:
        """Open (and create or migrate) the database at ``path``; opening it for use also
        recovers killed runs: :func:`dbt_assets.history.recovery.open_history`."""
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
        return history

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
                for statement in MIGRATIONS[number]:
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
            where = "" if batch is None else f"WHERE unique_id IN ({placeholders(batch)})"
            rows = self._db.execute(f"{RESULT_ROWS} {where} {RESULT_ORDER}", batch or ())
            facts = facts_from_rows(ResultRow(*row) for row in rows)
            self._db.executemany(
                "INSERT OR REPLACE INTO asset_facts (unique_id, facts) VALUES (?, ?)",
                [(uid, FACTS_ENCODER.encode(f)) for uid, f in facts.items()],
            )
