"""Results written to a PostgreSQL history in one round trip each (history/postgres_results.py):
the facts kept equal those the transaction path keeps (SQLite's, and PostgreSQL's before the
function), whatever other writers do between; the server marks a start running as fold()
does; a start that failed is never lost silently; a role that may not make the function
writes in transactions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbt_assets._core.errors import HistoryError
from dbt_assets.history import postgres_results
from dbt_assets.history.facts import DECODER, ENCODER, RECENT, AssetFacts, ResultRow, fold
from dbt_assets.history.schema import RESULT_ORDER, RESULT_ROWS
from dbt_assets.history.store import History
from dbt_assets.run.events import AssetFinished
from tests.postgres import Server, raw_history

pytestmark = pytest.mark.postgres

ASSETS = ("model.p.a", "model.p.b", "model.p.c")
STATUSES = ("success", "error", "fail", "skipped", "pass", "warn", "not_reached", "cancelled")
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _runs(location: Path | str, count: int) -> list[int]:
    """Runs inserted under the store's feet (no claims: writers here share assets on purpose)."""
    insert = "INSERT INTO runs (command, started_at, status) VALUES ('run', 0, 'running') RETURNING run_id"
    with raw_history(location) as raw:
        return [int(raw.execute(insert).fetchall()[0][0]) for _ in range(count)]


@pytest.fixture(scope="module")
def shared_url(postgres: Server) -> str:
    """One schema for the examples of a property (emptied for each: a new one costs its
    migrations)."""
    url = postgres.url()
    History.open(url).close()
    return url


def _emptied(url: str) -> str:
    with raw_history(url) as raw:
        raw.execute("TRUNCATE runs, asset_results, run_logs, asset_facts RESTART IDENTITY CASCADE")
    return url


def _kept(history: History) -> dict[str, AssetFacts]:
    return history.facts()


def _rows(history: History) -> list[tuple[Any, ...]]:
    return sorted(history._read(f"{RESULT_ROWS} {RESULT_ORDER}"), key=lambda row: (row[0], row[1]))


times = st.sampled_from([1.0, 2.0, 3.0, 5.0, 8.0])  # few: ties happen
op = st.tuples(
    st.integers(0, 1),  # the writer (a connection of its own)
    st.integers(0, 2),  # the run
    st.sampled_from(["start", "result", "both"]),
    st.sampled_from(ASSETS),
    st.sampled_from(STATUSES),
    times,
    st.one_of(st.none(), times),  # how long it took (None: no timing, as for a skipped asset)
)


@FEW
@given(ops=st.lists(op, min_size=1, max_size=14))
def test_facts_kept_in_one_round_trip_equal_those_of_transactions(
    ops: list[tuple[int, int, str, str, str, float, float | None]], shared_url: str, tmp_path_factory: Any
) -> None:
    """Two writers on one PostgreSQL history and the same two on an SQLite file (the
    transaction path) apply the same starts and results, older ones, repeats and statuses of
    every kind among them: the kept facts and the results are the same on both. Each
    writer's cache of the facts goes stale whenever the other writes."""
    url, lite = _emptied(shared_url), tmp_path_factory.mktemp("lite") / "history.db"
    pg = [History.open(url), History.open(url)]
    sq = [History.open(lite), History.open(lite)]
    try:
        runs = {"pg": _runs(url, 3), "sq": _runs(lite, 3)}
        for writer, run, kind, uid, status, at, took in ops:
            for name, histories in (("pg", pg), ("sq", sq)):
                history, run_id = histories[writer], runs[name][run]
                if kind in ("start", "both"):
                    history.record_start(run_id, uid, at)
                if kind in ("result", "both"):
                    finished = None if took is None else at + took
                    started = None if took is None else at
                    history.record_result(run_id, AssetFinished(uid, status, started, finished, took))
                history._read("SELECT 1")  # answered: the other writer sees it (the order both take)
        assert _kept(pg[0]) == _kept(sq[0])
        assert _rows(pg[0]) == _rows(sq[0])
    finally:
        for history in (*pg, *sq):
            history.close()


facts_values = st.floats(allow_nan=False, allow_infinity=False)  # msgspec writes NaN as null
text = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=30)
asset_facts = st.builds(
    AssetFacts,
    unique_id=st.just("model.p.a"),
    first_at=st.one_of(st.none(), facts_values),
    last_status=st.one_of(st.none(), st.sampled_from(STATUSES)),
    last_run_id=st.one_of(st.none(), st.integers(1, 2**62)),
    last_finished_at=st.one_of(st.none(), facts_values),
    last_execution_time=st.one_of(st.none(), facts_values),
    last_message=st.one_of(st.none(), text),
    last_success_at=st.one_of(st.none(), facts_values),
    consecutive_failures=st.integers(0, 10**6),
    recent=st.lists(st.lists(facts_values, min_size=2, max_size=2), max_size=RECENT),
    running_since=st.one_of(st.none(), facts_values),
    max_loaded_at=st.one_of(st.none(), facts_values),
)


@FEW
@given(facts=st.one_of(st.none(), asset_facts), at=facts_values)
def test_the_server_marks_a_start_running_as_fold_does(
    facts: AssetFacts | None, at: float, shared_url: str
) -> None:
    """A start whose facts changed since the writer saw them is marked running by the server
    (JSON in the database): what it stores reads back as fold() makes it, for any facts."""
    url = _emptied(shared_url)
    with History.open(url) as history:
        (run_id,) = _runs(url, 1)
        if facts is not None:
            with raw_history(url) as raw:
                raw.execute(
                    "INSERT INTO asset_facts (unique_id, facts) VALUES (?, ?)",
                    ("model.p.a", ENCODER.encode(facts)),
                )
        row = ResultRow("model.p.a", run_id, "running", at, None, None, None)
        writer = history._db.result_writer()
        assert writer is not None
        result = (run_id, "model.p.a", "running", at, *[None] * 8)
        stale = ENCODER.encode(AssetFacts("model.p.a", first_at=-1.0))  # not what is stored
        writer.write_start(
            result, stale, ENCODER.encode(fold(DECODER.decode(stale), row)), ENCODER.encode(fold(None, row))
        )
        assert history.facts() == {"model.p.a": fold(facts, row)}
        assert [r.status for r in history.results(run_id)] == ["running"]


def test_a_result_is_one_round_trip_and_a_start_waits_for_none(
    postgres: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the run's first write (which reads its assets' facts once), a start is one call
    sent and a result one call sent and answered: no other statement."""
    url = postgres.url()
    calls = {"executed": 0, "sent": 0, "answered": 0}
    with History.open(url) as history:
        (run_id,) = _runs(url, 1)
        history.record_start(run_id, "model.p.warm", 0.0)
        history.record_result(run_id, AssetFinished("model.p.warm", "success", 0.0, 1.0, 1.0))
        executes = (psycopg.Connection.execute, psycopg.Cursor.execute)
        sent, answered = postgres_results.ResultCalls.write, postgres_results.ResultCalls._answers

        def count(name: str, real: Any) -> Any:
            def counted(*args: Any, **kwargs: Any) -> Any:
                calls[name] += 1
                return real(*args, **kwargs)

            return counted

        monkeypatch.setattr(psycopg.Connection, "execute", count("executed", executes[0]))
        monkeypatch.setattr(psycopg.Cursor, "execute", count("executed", executes[1]))
        monkeypatch.setattr(postgres_results.ResultCalls, "write", count("sent", sent))
        monkeypatch.setattr(postgres_results.ResultCalls, "_answers", count("answered", answered))
        for i in range(50):
            uid = f"model.p.m{i}"
            history.record_start(run_id, uid, float(i))
            history.record_result(run_id, AssetFinished(uid, "success", float(i), i + 0.5, 0.5))
        assert calls == {"executed": 0, "sent": 100, "answered": 50}
        monkeypatch.undo()
        assert len(history.results(run_id)) == 51


def test_a_start_that_failed_fails_the_next_write(postgres: Server) -> None:
    """A start is not awaited, but never lost silently: its error is the next write's (or
    read's), and the history goes on being usable."""
    url = postgres.url()
    with History.open(url) as history:
        (run_id,) = _runs(url, 1)
        history.record_result(run_id, AssetFinished("model.p.a", "success", 0.0, 1.0, 1.0))
        history.record_start(run_id, "model.p.b", 1.0)
        history.record_start(run_id + 1, "model.p.c", 1.0)  # no such run: refused by the server
        with pytest.raises(HistoryError) as err:
            history.record_result(run_id, AssetFinished("model.p.b", "success", 1.0, 2.0, 1.0))
        assert "start was not recorded" in err.value.message and "foreign key" in err.value.message
        history.record_start(run_id + 1, "model.p.c", 1.0)
        with pytest.raises(HistoryError) as err:
            history.runs()  # any use of the history reads the start's answer first
        assert "start was not recorded" in err.value.message
        assert {r.unique_id for r in history.results(run_id)} == {"model.p.a", "model.p.b"}
        assert "model.p.c" not in history.facts()


def test_a_role_that_may_not_make_the_function_writes_in_transactions(postgres: Server) -> None:
    """Made by an owner; written by a role that may write the tables but not create in the
    schema: its results go the transaction way, with the same facts."""
    url = postgres.url()
    schema = url.rsplit("%3D", 1)[1]
    with History.open(url):
        pass
    with psycopg.connect(postgres.base, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS writer_only")
        admin.execute("CREATE ROLE writer_only LOGIN")
        admin.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO writer_only')
        admin.execute(
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO writer_only'
        )
    limited = url.replace("postgres@", "writer_only@")
    (run_id,) = _runs(url, 1)
    with History.open(limited) as history:
        assert history._db.result_writer() is None
        history.record_start(run_id, "model.p.a", 1.0)
        history.record_result(run_id, AssetFinished("model.p.a", "error", 1.0, 2.0, 1.0))
        history.record_result(run_id, AssetFinished("model.p.b", "success", 1.0, 3.0, 2.0))
        kept = history.facts()
    assert kept["model.p.a"].consecutive_failures == 1 and kept["model.p.b"].last_success_at == 3.0
    with History.open(url) as history:
        assert history._db.result_writer() is not None  # the owner makes and uses it
        history.record_result(run_id, AssetFinished("model.p.a", "success", 4.0, 5.0, 1.0))
        assert history.facts()["model.p.a"].consecutive_failures == 0
        assert json.loads(msgspec.json.encode(history.facts()["model.p.a"]))["last_run_id"] == run_id
