"""The history database: opening, migrating, transactions and retries, and the per-asset
facts kept in step with every result written (:mod:`dbt_assets.history.facts`).

Results are written the moment they arrive (one short transaction each), so a run that
crashes or is killed keeps everything that finished. Write transactions are exclusive and
retried while another writer holds the database, so concurrent runs are all recorded
completely. Older databases are migrated in place; a database that is corrupt, not ours, or newer than
this dbt-assets is an error, never silently reset.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

from dbt_assets._core.errors import HistoryError
from dbt_assets.history.backend import RESULT_COLUMNS, Backend, ResultWriter, SqliteBackend, upsert
from dbt_assets.history.facts import DECODER as FACTS_DECODER
from dbt_assets.history.facts import ENCODER as FACTS_ENCODER
from dbt_assets.history.facts import RUNNING, AssetFacts, ResultRow, facts_from_rows, fold
from dbt_assets.history.schema import (
    FACTS_SINCE,
    MIGRATIONS,
    RESULT_ORDER,
    RESULT_ROWS,
    SCHEMA_VERSION,
    is_url,
    placeholders,
)

T = TypeVar("T")


LOCK_TIMEOUT_ENV = "DBT_ASSETS_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 120.0
"""How long a write waits for a history another process is writing (``--lock-timeout``)."""
SAY_AFTER = 3.0
"""After this many seconds of waiting for the write lock, say what is waited for (once)."""


def lock_timeout(given: float | None = None) -> float:
    """``given``, else ``$DBT_ASSETS_LOCK_TIMEOUT``, else :data:`DEFAULT_LOCK_TIMEOUT`."""
    if given is not None:
        return given
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_LOCK_TIMEOUT
    except ValueError:
        value = -1.0
    if not 0 < value < 10**9:
        raise HistoryError(
            f"{LOCK_TIMEOUT_ENV}={raw!r} is not a number of seconds",
            "set it to a positive number, or unset it",
        )
    return value


class Database:
    """A connection to a history database (create with :meth:`open`)."""

    def __init__(self, path: Path | str, backend: Backend, timeout: float | None = None) -> None:
        self.path = path
        self.lock_timeout = lock_timeout(timeout)
        """How long a write waits for the write lock another process holds, then fails."""
        """The SQLite file, or the PostgreSQL database as messages show it (no secret:
        :func:`dbt_assets.history.conninfo.shown`)."""
        self._db = backend
        self.recovered: list[int] = []
        """Runs closed on opening because their dbt-assets process had been killed
        (:func:`dbt_assets.history.recovery.open_history`)."""
        self._seen: dict[str, bytes | None] = {}
        """Each asset's facts as this connection last saw them stored: what a result is folded
        into when it is written in one round trip (:meth:`_record`), checked there."""
        self._seen_runs: set[int] = set()
        self._writer: ResultWriter | None = None
        """The database's one-round-trip write of results, once asked (:meth:`_record`)."""
        self._writer_asked = False

    def still_there(self) -> bool:
        """Whether what is written still lands where it will be read (a history file deleted
        or replaced while open takes everything written after into a file no one can see)."""
        return self._db.still_there()

    @classmethod
    def open(cls, location: str | Path, *, create: bool = True, timeout: float | None = None) -> Self:
        """Open (and create or migrate) the history at ``location``, an SQLite file or a
        PostgreSQL connection string; opening it for use also recovers killed runs:
        :func:`dbt_assets.history.recovery.open_history`."""
        if is_url(location):
            from dbt_assets.history.postgres import PostgresBackend

            backend: Backend = PostgresBackend(str(location))
            history = cls(backend.where, backend, timeout)
        else:
            path = Path(location)
            if not path.exists():
                if not create:
                    raise _no_history(path)
                path.parent.mkdir(parents=True, exist_ok=True)
            try:
                backend = SqliteBackend(path)
            except sqlite3.Error as exc:
                raise HistoryError(f"cannot open the run history {path}: {exc}") from exc
            history = cls(path, backend, timeout)
        try:
            history._prepare(create)
        except BaseException:
            history.close()
            raise
        return history

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _prepare(self, create: bool) -> None:
        def prepare() -> int:
            self._db.prepare()
            return self._db.schema_version()

        version = self._retry(prepare)
        if version == 0 and not create:
            raise _no_history(self.path)
        if version < SCHEMA_VERSION:
            self._retry(self._migrate)
        elif version > SCHEMA_VERSION:
            raise HistoryError(
                f"{self.path} has history schema v{version}, newer than this dbt-assets (v{SCHEMA_VERSION})",
                "upgrade dbt-assets, or point --history at another database",
            )

    def _migrate(self) -> None:
        with self._db.transaction():
            version = self._db.schema_version()  # again, inside the lock: another process may have won
            if version == 0 and self._db.has_foreign_tables():
                raise HistoryError(
                    f"{self.path} is a database but not a dbt-assets run history",
                    "point --history (or DBT_ASSETS_HISTORY) at a new file or database",
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    self._db.execute(self._db.ddl(statement))
            if version < FACTS_SINCE:
                self._rebuild_facts(None)
            self._db.set_schema_version(SCHEMA_VERSION)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._db.transaction():
            yield

    def _retry(self, action: Callable[[], T]) -> T:
        """Run ``action``, retrying while another process holds the database: after a few
        seconds it says once what it waits for (the ``dbt_assets`` logger), and past
        :attr:`lock_timeout` it fails with one line naming the history."""
        delay = 0.05
        began = time.monotonic()
        said = False
        while True:
            try:
                return action()
            except HistoryError:
                raise
            except Exception as exc:
                failure = self._db.failure(exc)
                if failure is None:
                    raise
                waited = time.monotonic() - began
                if failure == "busy" and waited < self.lock_timeout:
                    if waited >= SAY_AFTER and not said:
                        said = True
                        holder = self._db.lock_holder() or "another process"
                        logging.getLogger("dbt_assets").warning(
                            "dbt-assets: waiting for the write lock of the run history %s, held by %s "
                            "(at most %gs: --lock-timeout)",
                            self.path,
                            holder,
                            self.lock_timeout,
                        )
                    time.sleep(min(delay, max(0.0, self.lock_timeout - waited)))
                    delay = min(delay * 2, 1.0)
                    continue
                if failure == "busy":
                    holder = self._db.lock_holder() or "another process"
                    raise HistoryError(
                        f"the run history {self.path} stayed locked by {holder} for {self.lock_timeout:g}s",
                        "wait for it to finish and try again, or give a longer --lock-timeout "
                        f"(env {LOCK_TIMEOUT_ENV})",
                    ) from exc
                if failure == "refused":
                    raise HistoryError(
                        f"the run history {self.path} refused a write: {self._db.text(exc)}"
                    ) from exc
                if failure == "broken":
                    raise HistoryError(
                        f"the run history {self.path} is unreadable ({self._db.text(exc)})",
                        self._db.move_aside,
                    ) from exc
                raise HistoryError(f"cannot use the run history {self.path}: {self._db.text(exc)}") from exc

    def _write(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """One statement in a transaction of its own; the rows it returns (``RETURNING``)."""

        def action() -> list[tuple[Any, ...]]:
            with self._transaction():
                cursor = self._db.execute(sql, tuple(params))
                return cursor.fetchall() if cursor.description is not None else []

        return self._retry(action)

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return self._retry(lambda: self._db.execute(sql, tuple(params)).fetchall())

    def _record(self, result: tuple[Any, ...], row: ResultRow) -> None:
        """Write an asset result (the values of :data:`RESULT_COLUMNS`; ``row`` is it as
        :func:`fold` reads it) and fold it into its asset's facts, as one transaction.

        Where the database writes a result in one round trip (PostgreSQL), the result is
        folded here into the facts last seen stored, and written with them only if they are
        still those: else folded again into the facts now stored. The facts are what
        :meth:`_advance_facts` makes in a transaction, by construction. A start is sent
        without waiting: where the facts changed meanwhile, the database marks them running
        itself (the only fact a start changes)."""
        writer = self._result_writer()
        if writer is None:
            self._retry(lambda: self._record_in_transaction(result, row))
            return
        if row.run_id not in self._seen_runs:  # the facts of the run's assets, in one read
            found = writer.facts_of_run
            self._seen.update(self._retry(lambda: found(row.run_id)))
            self._seen_runs.add(row.run_id)
        self._retry(lambda: self._record_in_one_trip(writer, result, row))

    def _result_writer(self) -> ResultWriter | None:
        if not self._writer_asked:
            self._writer = self._retry(self._db.result_writer)
            self._writer_asked = True
        return self._writer

    def _record_in_one_trip(self, writer: ResultWriter, result: tuple[Any, ...], row: ResultRow) -> None:
        while True:
            expected = self._seen.get(row.unique_id)
            current = FACTS_DECODER.decode(expected) if expected is not None else None
            if _older(row, current):  # a rebuild, rare: in a transaction
                self._seen.pop(row.unique_id, None)
                self._record_in_transaction(result, row)
                return
            facts = FACTS_ENCODER.encode(fold(current, row))
            if row.status == RUNNING:  # the facts it changes, the database can mark itself
                self._seen[row.unique_id] = facts
                fresh = facts if expected is None else FACTS_ENCODER.encode(fold(None, row))
                writer.write_start(result, expected, facts, fresh)
                return
            written, stored = writer.write_result(result, expected, facts)
            self._seen[row.unique_id] = facts if written else stored
            if written:
                return

    def _record_in_transaction(self, result: tuple[Any, ...], row: ResultRow) -> None:
        with self._transaction():
            self._db.execute(_RESULT_UPSERT, result)
            self._advance_facts(row)

    def _advance_facts(self, row: ResultRow) -> None:
        """Fold one new result into its asset's facts (inside the writing transaction); a
        result older than what the facts already hold (at the same time: of an earlier run, the
        order a replay takes) makes them be rebuilt instead."""
        got = self._db.execute(
            "SELECT facts FROM asset_facts WHERE unique_id = ?", (row.unique_id,)
        ).fetchone()
        current = FACTS_DECODER.decode(got[0]) if got else None
        if _older(row, current):
            self._rebuild_facts([row.unique_id])
            return
        self._db.execute(
            _FACTS_UPSERT,
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
                _FACTS_UPSERT,
                [(uid, FACTS_ENCODER.encode(f)) for uid, f in facts.items()],
            )


def _older(row: ResultRow, current: AssetFacts | None) -> bool:
    """Whether a finished result is older than what the facts hold (at the same time: of an
    earlier run, the order a replay takes): then they are rebuilt, not folded."""
    return (
        current is not None
        and row.status != RUNNING
        and current.last_at is not None
        and (row.at is None or (row.at, row.run_id) < (current.last_at, current.last_run_id or 0))
    )


_FACTS_UPSERT = upsert("asset_facts", ("unique_id", "facts"), ("unique_id",))
_RESULT_UPSERT = upsert("asset_results", RESULT_COLUMNS, ("run_id", "unique_id"), reset=("max_loaded_at",))


def _no_history(where: Path | str) -> HistoryError:
    return HistoryError(
        f"no run history at {where}",
        "run `dbt-assets run`, or import dbt's results: dbt-assets history import target/run_results.json",
    )
