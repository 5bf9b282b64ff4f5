"""Writing a run's asset results to a PostgreSQL history in one round trip each.

A result is one call of a function on the server (:data:`RECORD_FUNCTION`, made beside the
tables by the first writer that may): under the history's write lock it writes the result
and replaces the asset's facts with those the store folded, if the facts stored are still
the ones the store folded from (else nothing is written and the store folds again from the
facts it gets back). Each call is a transaction of its own, committed before it answers: a
result acknowledged is committed.

An asset's start is sent without waiting for its answer, which is read with the next call
(libpq's pipeline mode, straight on psycopg's ``pq`` connection, as psycopg's own pipeline
would wait for it): the server commits the start as it arrives, and when the facts changed
meanwhile it marks them running itself (``running_since``, the only fact a start changes),
so a start never needs sending again. A start that failed makes the next call fail.
"""

from __future__ import annotations

import select
import struct
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from psycopg import pq

from dbt_assets.history.backend import RESULT_COLUMNS

if TYPE_CHECKING:
    import psycopg

RECORD_FUNCTION = "dbt_assets_record_v1"
"""The function's name; its version changes with its arguments."""

_PREPARED = RECORD_FUNCTION.encode()
_SYNC, _ROWS = int(pq.ExecStatus.PIPELINE_SYNC), int(pq.ExecStatus.TUPLES_OK)
_KEY = ("run_id", "unique_id")

# binary parameters by type (OID): bigint, text, double precision, bytea
_ENCODERS: dict[int, Callable[[Any], bytes]] = {
    20: struct.Struct("!q").pack,
    25: str.encode,
    701: struct.Struct("!d").pack,
    17: bytes,
}


def record_body(schema: str, lock: int) -> str:
    """The function's body (PL/pgSQL: each statement reads what is committed when it starts,
    so the facts compared are those the lock's last holder left). NULL: written as asked. For
    a result whose facts changed: nothing written, the facts stored returned (empty: none). For
    a start: written, the facts marked running by the server when they changed (``p_since``:
    the start's time as JSON; ``p_fresh``: the facts of an asset with none)."""
    columns = ", ".join(RESULT_COLUMNS)
    values = ", ".join(f"p_{c}" for c in RESULT_COLUMNS)
    sets = ", ".join(f"{c} = excluded.{c}" for c in RESULT_COLUMNS if c not in _KEY)
    facts = f"{schema}.asset_facts"
    return f"""
BEGIN
    PERFORM pg_advisory_xact_lock({lock});
    IF p_expected IS NULL THEN
        INSERT INTO {facts} (unique_id, facts) VALUES (p_unique_id, p_facts)
        ON CONFLICT (unique_id) DO NOTHING;
    ELSE
        UPDATE {facts} SET facts = p_facts WHERE unique_id = p_unique_id AND facts = p_expected;
    END IF;
    IF NOT FOUND THEN
        IF p_since IS NULL THEN
            RETURN coalesce((SELECT facts FROM {facts} WHERE unique_id = p_unique_id), ''::bytea);
        END IF;
        UPDATE {facts} SET facts = convert_to(
            jsonb_set(convert_from(facts, 'UTF8')::jsonb, '{{running_since}}', p_since::jsonb)::text, 'UTF8'
        ) WHERE unique_id = p_unique_id;
        IF NOT FOUND THEN
            INSERT INTO {facts} (unique_id, facts) VALUES (p_unique_id, coalesce(p_fresh, p_facts));
        END IF;
    END IF;
    INSERT INTO {schema}.asset_results ({columns}) VALUES ({values})
    ON CONFLICT (run_id, unique_id) DO UPDATE SET {sets}, max_loaded_at = NULL;
    RETURN NULL;
END
"""


class ResultCalls:
    """Calls of :data:`RECORD_FUNCTION` on one connection (create with :meth:`ready`)."""

    def __init__(self, conn: psycopg.Connection[Any], types: Sequence[int]) -> None:
        self._conn = conn
        self._pg = conn.pgconn
        self._encoders = [_ENCODERS[oid] for oid in types]
        self._formats = [1] * len(types)
        self._sent = 0
        """Calls whose answers are not read yet."""

    @classmethod
    def ready(
        cls, conn: psycopg.Connection[Any], transaction: Callable[[], Any], lock: int
    ) -> ResultCalls | None:
        """The calls, the function made in the current schema first unless it is there as this
        dbt-assets writes it (in a write transaction: makers of one function take turns);
        None when this role may not make it (results are then written in transactions)."""
        import psycopg
        from psycopg import sql

        row = conn.execute("SELECT current_schema()").fetchone()
        if not row or row[0] is None:
            return None
        schema = sql.Identifier(row[0]).as_string(conn)
        body = record_body(schema, lock)
        find = (
            "SELECT proargtypes::oid[] FROM pg_catalog.pg_proc WHERE proname = %s AND prosrc = %s "
            "AND pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = current_schema())"
        )
        found = conn.execute(find, (RECORD_FUNCTION, body)).fetchone()
        if not found:
            arguments = ", ".join(f"p_{c} {schema}.asset_results.{c}%TYPE" for c in RESULT_COLUMNS)
            try:
                with transaction():
                    conn.execute(
                        f"CREATE OR REPLACE FUNCTION {schema}.{RECORD_FUNCTION}({arguments}, "
                        "p_expected BYTEA, p_facts BYTEA, p_since TEXT, p_fresh BYTEA) RETURNS BYTEA "
                        f"LANGUAGE plpgsql AS $body${body}$body$"
                    )
            except psycopg.errors.InsufficientPrivilege:
                return None
            found = conn.execute(find, (RECORD_FUNCTION, body)).fetchone()
        types: list[int] = list(found[0]) if found else []
        if not types or any(oid not in _ENCODERS for oid in types):  # a column of another type
            return None
        call = f"SELECT {schema}.{RECORD_FUNCTION}({', '.join(f'${i + 1}' for i in range(len(types)))})"
        prepared = conn.pgconn.prepare(_PREPARED, call.encode(), types)  # as psycopg prepares
        if prepared.status != pq.ExecStatus.COMMAND_OK:
            raise _error(prepared)
        return cls(conn, types)

    def write(
        self,
        result: Sequence[Any],
        expected: bytes | None,
        facts: bytes,
        start: tuple[str, bytes | None] | None,
    ) -> bytes | None:
        """Send one call (a result: ``start`` None; a start: its time as JSON and the facts of
        an asset with none) and, for a result, read every answer outstanding: its own, NULL
        (None) when written. A start's answer is left to the next call (None)."""
        since, fresh = start if start is not None else (None, None)
        encoders = self._encoders
        params = [None if v is None else encoders[i](v) for i, v in enumerate(result)]
        params += [
            None if v is None else encoders[i](v)
            for i, v in enumerate((expected, facts, since, fresh), len(result))
        ]
        pg = self._pg
        try:
            if not self._sent:
                pg.enter_pipeline_mode()
            pg.send_query_prepared(_PREPARED, params, self._formats, 1)
            pg.pipeline_sync()
            self._sent += 1
            if pg.flush():
                self._flush()
            if start is not None:
                return None
            answers = self._answers()
        except BaseException:
            self._abandon()
            raise
        return _value(answers, current=True)

    def settle(self) -> None:
        """Read the answers outstanding (before the connection does anything else)."""
        if self._sent:
            try:
                answers = self._answers()
            except BaseException:
                self._abandon()
                raise
            _value(answers, current=False)

    def _answers(self) -> list[bytes | BaseException | None]:
        """Every outstanding call's answer, in order: its value, or its error; the connection
        then leaves pipeline mode."""
        pg = self._pg
        answers: list[bytes | BaseException | None] = []
        answer: bytes | BaseException | None = None
        while self._sent:
            while pg.is_busy():
                select.select([pg.socket], [], [])
                pg.consume_input()
            result = pg.get_result()
            if result is None:
                continue
            status = result.status
            if status == _SYNC:
                answers.append(answer)
                answer = None
                self._sent -= 1
            elif status == _ROWS:
                answer = result.get_value(0, 0)
            elif not isinstance(answer, BaseException):
                answer = _error(result)
        pg.exit_pipeline_mode()
        return answers

    def _flush(self) -> None:
        pg = self._pg
        while pg.flush():  # what did not fit in the socket's buffer: wait, reading what comes
            readable, _, _ = select.select([pg.socket], [pg.socket], [])
            if readable:
                pg.consume_input()

    def _abandon(self) -> None:
        """After a failure mid-call the connection's state is unknown: it is closed (the
        history then says it cannot be used; nothing written is lost)."""
        self._sent = 0
        self._conn.close()


def _value(answers: list[bytes | BaseException | None], *, current: bool) -> bytes | None:
    """The last answer's value (``current``: it is the call awaited; the others are starts),
    or the first error: a start's as the error of a write that did not happen, whatever
    it was (not one to try again: the start is not sent again)."""
    import psycopg

    for index, answer in enumerate(answers):
        if isinstance(answer, BaseException):
            if current and index == len(answers) - 1:
                raise answer
            raise psycopg.OperationalError(f"an asset's start was not recorded: {answer}") from answer
    last = answers[-1] if answers else None
    return last if isinstance(last, bytes) else None


def _error(result: Any) -> BaseException:
    """A failed call's error, as psycopg raises it (so the backend reads what it means)."""
    import psycopg

    state = result.error_field(pq.DiagnosticField.SQLSTATE)
    message = (result.error_message or b"").decode(errors="replace").strip() or "the history's server failed"
    kind: type[psycopg.Error] = psycopg.OperationalError  # no state: the connection failed
    if state:
        try:
            kind = psycopg.errors.lookup(state.decode())
        except KeyError:
            kind = psycopg.DatabaseError
    return kind(message)
