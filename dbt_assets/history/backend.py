"""Where a run history lives: an SQLite file (the embedded default) or a PostgreSQL database
shared by every worker and laptop (:mod:`.postgres`). The store speaks one SQL to both
(``?`` placeholders, ``INSERT ... ON CONFLICT``, ``RETURNING``); a backend runs it, makes a
write transaction exclusive, keeps the schema version and says what a failure means."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

BUSY_WAIT = 1.0
"""Seconds SQLite itself waits for a lock before the store's retry loop takes over."""

Failure = Literal["busy", "refused", "broken", "other"]
"""What a database error means: another writer holds it (retry), a constraint refused the
write, the database is damaged or not reachable, or something else."""


class Cursor(Protocol):
    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


RESULT_COLUMNS = (
    "run_id", "unique_id", "status", "started_at", "finished_at", "execution_time", "rows_affected",
    "failures", "message", "adapter_response", "thread", "skipped_because",
)  # fmt: skip
"""An asset result as a run records it (its start, then its end): the columns written; a
result written again replaces the row, its ``max_loaded_at`` reset."""


class ResultWriter(Protocol):
    """Where a database has it, the write of one asset result with its asset's new facts in
    one round trip: a statement that is a transaction of its own, taking the write lock."""

    def write_result(
        self, result: Sequence[Any], expected: bytes | None, facts: bytes
    ) -> tuple[bool, bytes | None]:
        """Write ``result`` (the values of :data:`RESULT_COLUMNS`) and replace its asset's
        facts with ``facts``, if the facts stored are still ``expected`` (None: none yet):
        ``(True, None)``, once committed. Otherwise nothing is written: ``(False, the facts
        stored)``."""

    def write_start(self, result: Sequence[Any], expected: bytes | None, facts: bytes, fresh: bytes) -> None:
        """Write an asset's start (``result``, status running) the same way, without waiting
        for the answer; where the facts stored are not ``expected``, the database marks them
        running itself (``fresh``: the facts of an asset with none)."""

    def facts_of_run(self, run_id: int) -> dict[str, bytes]:
        """The stored facts of the assets a run plans."""


class Backend(Protocol):
    """A connection to a history database, as the store uses it."""

    where: str
    """The database, as messages name it (a URL without its password)."""
    move_aside: str
    """What to do with a database that is unreadable or not ours."""

    def prepare(self) -> None:
        """Settings of the connection, before anything is read."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def transaction(self) -> Any:
        """A context manager: a write transaction no other writer runs beside."""

    def schema_version(self) -> int: ...

    def set_schema_version(self, version: int) -> None: ...

    def has_foreign_tables(self) -> bool:
        """Whether an unversioned database already holds tables (someone else's)."""

    def ddl(self, statement: str) -> str:
        """A migration statement (written for SQLite) in this database's types."""

    def failure(self, exc: BaseException) -> Failure | None:
        """What an exception of this database's driver means; None when it is not one."""

    def text(self, exc: BaseException) -> str:
        """An exception's message as it may be shown: with no secret of the location."""

    def result_writer(self) -> ResultWriter | None:
        """The one-round-trip write of results, where the database has one (None: the store
        writes each result in a transaction, as on SQLite, where a statement costs no round
        trip)."""

    def still_there(self) -> bool: ...

    def lock_holder(self) -> str | None:
        """Who holds the write lock, in words, where the database can tell (else None)."""

    def close(self) -> None: ...


class SqliteBackend:
    """An SQLite file in WAL mode; a write transaction is ``BEGIN IMMEDIATE``."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        from dbt_assets.history.schema import file_identity

        self.path = path
        self.where = str(path)
        self.move_aside = (
            f"dbt-assets never resets it: move it aside (mv {path} {path}.broken) to start a new "
            "history, or point --history at another file"
        )
        # a short busy wait: the store's retry loop waits, says what for, and gives up in time
        self._db = sqlite3.connect(path, timeout=BUSY_WAIT, isolation_level=None, check_same_thread=False)
        self._identity = file_identity(path)

    def prepare(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        self._db.execute(f"PRAGMA user_version={int(version)}")

    def has_foreign_tables(self) -> bool:
        return bool(self._db.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0])

    def ddl(self, statement: str) -> str:
        return statement

    def failure(self, exc: BaseException) -> Failure | None:
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc)):
            return "busy"
        if isinstance(exc, sqlite3.OperationalError):
            return "other"
        if isinstance(exc, sqlite3.IntegrityError):  # a constraint, not a damaged file
            return "refused"
        if isinstance(exc, sqlite3.DatabaseError):
            return "broken"
        return None

    def result_writer(self) -> None:
        return None

    def text(self, exc: BaseException) -> str:
        return str(exc)

    def still_there(self) -> bool:
        from dbt_assets.history.schema import file_identity

        return file_identity(self.path) == self._identity

    def lock_holder(self) -> None:
        return None  # SQLite does not say which process holds its lock

    def close(self) -> None:
        self._db.close()


def upsert(table: str, columns: Sequence[str], key: Sequence[str], *, reset: Sequence[str] = ()) -> str:
    """``INSERT`` of ``columns`` that replaces the row with the same ``key`` (its other
    ``columns`` take the new values, ``reset`` columns become NULL): SQLite's and PostgreSQL's
    common form of SQLite's ``INSERT OR REPLACE``."""
    values = ", ".join("?" for _ in columns)
    sets = [f"{c} = excluded.{c}" for c in columns if c not in key] + [f"{c} = NULL" for c in reset]
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(sets)}"
    )
