"""The run history store: schema versions and migration, damaged databases, concurrent
writers, and imports of dbt's run_results.json."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from dbt_assets._core.errors import HistoryError
from dbt_assets.history.facts import ResultRow, facts_from_rows
from dbt_assets.history.recovery import open_history
from dbt_assets.history.schema import MIGRATIONS, RESULT_ORDER, RESULT_ROWS, SCHEMA_VERSION, history_path
from dbt_assets.history.store import History
from dbt_assets.run.events import AssetFinished, DbtLog
from tests.postgres import Server, raw_history


def _record_run(path: Path | str, runs: int, assets: int) -> None:
    """One writer: ``runs`` runs of ``assets`` results each, one transaction per result."""
    with History.open(path) as history:
        for _ in range(runs):
            run_id = history.start_run(
                command="run", argv=["run"], unique_ids=[f"model.p.m{i}" for i in range(assets)]
            )
            for i in range(assets):
                history.record_start(run_id, f"model.p.m{i}", 1.0)
                history.record_result(run_id, AssetFinished(f"model.p.m{i}", "success", 1.0, 2.0, 1.0))
            history.record_log(run_id, DbtLog("warn", "careful"))
            history.finish_run(run_id, status="success", exit_code=0)


@pytest.mark.unit
def test_a_new_database_has_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "history.db"
    with History.open(path) as history:
        assert history.runs() == []
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.unit
def test_an_older_database_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    old = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        old.execute(statement)
    old.execute("PRAGMA user_version=1")
    old.execute("INSERT INTO runs (command, started_at, status) VALUES ('run', 1.0, 'success')")
    old.execute("INSERT INTO asset_results (run_id, unique_id, status) VALUES (1, 'model.p.a', 'success')")
    old.commit()
    old.close()
    with History.open(path) as history:
        (run,) = history.runs()
        assert run.command == "run" and run.counts == {"success": 1}
        history.record_log(run.run_id, DbtLog("warn", "kept"))  # the table migration 2 adds
        assert [log.message for log in history.logs(run.run_id)] == ["kept"]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


@pytest.mark.unit
def test_a_corrupt_database_is_an_error_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    garbage = b"definitely not sqlite" * 100
    path.write_bytes(garbage)
    with pytest.raises(HistoryError) as err:
        History.open(path)
    assert "unreadable" in err.value.message and "never resets" in err.value.hint
    assert path.read_bytes() == garbage


@pytest.mark.unit
def test_someone_elses_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(HistoryError) as err:
        History.open(path)
    assert "not a dbt-assets run history" in err.value.message


@pytest.mark.unit
def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    History.open(path).close()
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(HistoryError) as err:
        History.open(path)
    assert "newer than this dbt-assets" in err.value.message


@pytest.mark.unit
def test_missing_database_when_reading(tmp_path: Path) -> None:
    with pytest.raises(HistoryError) as err:
        History.open(tmp_path / "none.db", create=False)
    assert "no run history" in err.value.message and "history import" in err.value.hint


@pytest.mark.unit
def test_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBT_ASSETS_HISTORY", raising=False)
    assert history_path(tmp_path) == tmp_path / ".dbt-assets" / "history.db"
    monkeypatch.setenv("DBT_ASSETS_HISTORY", str(tmp_path / "env.db"))
    assert history_path(tmp_path) == tmp_path / "env.db"
    assert history_path(tmp_path, tmp_path / "opt.db") == tmp_path / "opt.db"


@pytest.mark.unit
def test_concurrent_writers_are_all_recorded(history_location: Path | str) -> None:
    path = history_location
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_record_run, args=(path, 3, 60)) for _ in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [w.exitcode for w in writers] == [0, 0, 0, 0]
    with History.open(path) as history:
        runs = history.runs(limit=None)
        assert len(runs) == 12
        assert all(run.status == "success" and run.counts == {"success": 60} for run in runs)
        assert all(len(history.logs(run.run_id)) == 1 for run in runs)
        assert all(
            [(r.unique_id, r.status) for r in history.results(run.run_id)]
            == [(f"model.p.m{i}", "success") for i in sorted(range(60), key=lambda i: f"model.p.m{i}")]
            for run in runs
        )
        # the facts were folded by four writers at once: none lost (they equal a replay)
        rows = history._read(f"{RESULT_ROWS} {RESULT_ORDER}")
        assert history.facts() == facts_from_rows(ResultRow(*row) for row in rows)
        assert {f.last_run_id for f in history.facts().values()} <= {run.run_id for run in runs}


@pytest.mark.unit
def test_unfinished_results_are_closed_with_the_run(history_location: Path | str) -> None:
    with History.open(history_location) as history:
        run_id = history.start_run(command="run", argv=[], unique_ids=["model.p.a", "model.p.b"])
        history.record_start(run_id, "model.p.a", 1.0)
        history.record_result(run_id, AssetFinished("model.p.b", "success", 1.0, 2.0, 1.0))
        history.finish_run(run_id, status="cancelled", exit_code=130, message="cancelled")
        statuses = {r.unique_id: r.status for r in history.results(run_id)}
        assert statuses == {"model.p.a": "cancelled", "model.p.b": "success"}


@pytest.mark.unit
def test_import_is_idempotent_and_reads_dbt_fields(tmp_path: Path, history_location: Path | str) -> None:
    results = {
        "metadata": {
            "dbt_version": "1.8.0",
            "generated_at": "2026-11-20T07:00:10Z",
            "invocation_id": "abc",
            "invocation_started_at": "2026-11-20T07:00:00Z",
        },
        "elapsed_time": 10,
        "args": {"which": "build", "select": ["orders+"]},
        "results": [
            {
                "unique_id": "model.p.orders",
                "status": "success",
                "execution_time": 2.5,
                "adapter_response": {"rows_affected": 7},
                "timing": [
                    {
                        "name": "compile",
                        "started_at": "2026-11-20T07:00:01Z",
                        "completed_at": "2026-11-20T07:00:02Z",
                    },
                    {
                        "name": "execute",
                        "started_at": "2026-11-20T07:00:02Z",
                        "completed_at": "2026-11-20T07:00:04Z",
                    },
                ],
                "message": "OK",
                "failures": None,
            },
            {"unique_id": "test.p.t", "status": "fail", "execution_time": 0.1, "failures": 3, "timing": []},
            {"unique_id": "operation.p.hook", "status": "success", "timing": []},
        ],
    }
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps(results))
    with History.open(history_location) as history:
        run_id = history.import_run_results(path)
        assert run_id is not None
        assert history.import_run_results(path) is None
        run = history.run(run_id)
        assert (run.command, run.status, run.origin, run.selection) == (
            "build",
            "failed",
            "import",
            {"select": ["orders+"]},
        )
        assert run.finished_at - run.started_at == 10  # type: ignore[operator]
        by_id = {r.unique_id: r for r in history.results(run_id)}
        assert set(by_id) == {"model.p.orders", "test.p.t"}  # hooks are not assets
        orders = by_id["model.p.orders"]
        assert orders.rows_affected == 7 and orders.execution_time == 2.5
        assert orders.finished_at is not None and orders.started_at is not None
        assert orders.finished_at - orders.started_at == 3
        assert by_id["test.p.t"].failures == 3


@pytest.mark.unit
def test_import_errors_name_the_file(tmp_path: Path, history_location: Path | str) -> None:
    bad = tmp_path / "run_results.json"
    bad.write_text("{not json")
    with History.open(history_location) as history:
        with pytest.raises(HistoryError, match=r"is not a dbt run_results\.json"):
            history.import_run_results(bad)
        with pytest.raises(HistoryError, match="not found"):
            history.import_run_results(tmp_path / "missing.json")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("metadata", "result"),
    [
        ({"invocation_id": None}, {"unique_id": "model.p.a", "status": "success"}),
        ({}, {"unique_id": "model.p.a", "status": "success"}),
        ({"invocation_id": ""}, {"unique_id": "model.p.a", "status": "success"}),
        ({"invocation_id": 7}, {"unique_id": "model.p.a", "status": "success"}),
        ({"invocation_id": "x"}, {"unique_id": 12, "status": "success"}),
        ({"invocation_id": "x"}, {"unique_id": "orders", "status": "success"}),
        ({"invocation_id": "x"}, {"unique_id": "model.p.a", "status": None}),
        ({"invocation_id": "x"}, {"unique_id": "model.p.a"}),
    ],
)
def test_an_import_that_dbt_did_not_write_is_refused_and_records_nothing(
    tmp_path: Path, history_location: Path | str, metadata: dict[str, object], result: dict[str, object]
) -> None:
    """What the history keys on must be what dbt writes: such a file was recorded as a
    successful run before, and again on each import (no invocation id to recognise it by)."""
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps({"metadata": metadata, "results": [result]}))
    with History.open(history_location) as history:
        for _ in range(2):
            with pytest.raises(HistoryError, match=r"is not a dbt run_results\.json"):
                history.import_run_results(path)
        assert history.runs() == []


@pytest.mark.unit
def test_a_dbt_that_repeats_an_invocation_id_leaves_the_history_readable(
    history_location: Path | str,
) -> None:
    with History.open(history_location) as history:
        first = history.start_run(command="run", argv=["run"], unique_ids=["model.p.a"])
        second = history.start_run(command="run", argv=["run"], unique_ids=["model.p.a"])
        assert history.set_invocation(first, "1.11.16", "same") is True
        assert history.set_invocation(second, "1.11.16", "same") is False
        assert history.run(first).invocation_id == "same"
        assert history.run(second).invocation_id is None and history.run(second).dbt_version == "1.11.16"
    with History.open(history_location, create=False) as history:
        assert len(history.runs()) == 2


def _dead_pid() -> int:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def test_a_killed_run_is_recovered_from_dbts_run_results_once(
    tmp_path: Path, history_location: Path | str
) -> None:
    """The run of a dbt-assets process that died is closed when the history is next opened:
    results dbt wrote to run_results.json for that invocation are recorded (once), assets
    still running become cancelled."""
    project = tmp_path / "project"
    (project / "target").mkdir(parents=True)
    db = history_location
    with History.open(db) as history:
        run_id = history.start_run(
            command="run", argv=["run"], unique_ids=["model.p.a", "model.p.b"], project_dir=str(project)
        )
        history.set_invocation(run_id, "1.11.16", "inv-1")
        history.record_start(run_id, "model.p.a", 1.0)
        history.record_start(run_id, "model.p.b", 1.0)
    with raw_history(db) as raw:
        raw.execute("UPDATE runs SET pid = ? WHERE run_id = ?", (_dead_pid(), run_id))
    results = {
        "metadata": {
            "invocation_id": "inv-1",
            "dbt_version": "1.11.16",
            "generated_at": "2026-11-20T07:00:10Z",
        },
        "results": [{"unique_id": "model.p.a", "status": "success", "execution_time": 1.5, "timing": []}],
    }
    (project / "target" / "run_results.json").write_text(json.dumps(results))
    with open_history(db, create=False) as history:
        assert history.recovered == [run_id]
        run = history.run(run_id)
        got = {r.unique_id: r.status for r in history.results(run_id)}
    assert run.status == "interrupted" and "1 results from run_results.json" in (run.message or "")
    assert got == {"model.p.a": "success", "model.p.b": "cancelled"}
    with open_history(db, create=False) as history:
        assert history.recovered == []
        assert len(history.results(run_id)) == 2


def test_another_invocations_run_results_are_not_taken(tmp_path: Path, history_location: Path | str) -> None:
    project = tmp_path / "project"
    (project / "target").mkdir(parents=True)
    db = history_location
    with History.open(db) as history:
        run_id = history.start_run(
            command="run", argv=["run"], unique_ids=["model.p.a"], project_dir=str(project)
        )
        history.set_invocation(run_id, "1.11.16", "inv-1")
        history.record_start(run_id, "model.p.a", 1.0)
    with raw_history(db) as raw:
        raw.execute("UPDATE runs SET pid = ? WHERE run_id = ?", (_dead_pid(), run_id))
    other = {
        "metadata": {"invocation_id": "inv-2"},
        "results": [{"unique_id": "model.p.a", "status": "success"}],
    }
    (project / "target" / "run_results.json").write_text(json.dumps(other))
    with open_history(db, create=False) as history:
        assert {r.unique_id: r.status for r in history.results(run_id)} == {"model.p.a": "cancelled"}


@pytest.mark.postgres
def test_a_postgresql_history_refuses_what_sqlite_refuses(postgres: Server) -> None:
    """Someone else's tables, a newer schema, no history when reading, a server not there:
    each one line naming the database (without its password) and what to do."""
    theirs = postgres.url()
    with raw_history(theirs) as raw:
        raw.execute("CREATE TABLE runs (id INTEGER)")
    with pytest.raises(HistoryError, match="not a dbt-assets run history"):
        History.open(theirs)
    empty = postgres.url()
    with pytest.raises(HistoryError, match=r"no run history at postgresql://postgres@127\.0\.0\.1"):
        History.open(empty, create=False)
    History.open(empty).close()
    with raw_history(empty) as raw:
        raw.set_schema_version(SCHEMA_VERSION + 1)
    with pytest.raises(HistoryError, match="newer than this dbt-assets"):
        History.open(empty)
    with pytest.raises(HistoryError) as err:
        History.open("postgresql://someone:s3cret@127.0.0.1:1/nowhere")
    assert (
        "cannot connect to the run history postgresql://someone:***@127.0.0.1:1/nowhere" in err.value.message
    )
    assert "s3cret" not in str(err.value) and err.value.hint


@pytest.mark.unit
def test_a_postgresql_url_is_a_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://u@db.internal/history"
    assert history_path(tmp_path, url) == url
    monkeypatch.setenv("DBT_ASSETS_HISTORY", "postgres://u@db.internal/h")
    assert history_path(tmp_path) == "postgres://u@db.internal/h"


@pytest.mark.unit
def test_the_overhead_of_recent_invocations(history_location: Path | str) -> None:
    """What each successful run spent outside its assets (dbt starting, parsing, selecting,
    then writing its artifacts): the sharding cost model's per-invocation overhead."""
    with History.open(history_location) as history:
        run_id = history.start_run(
            command="run", argv=[], unique_ids=["model.p.a", "model.p.b"], started_at=100.0
        )
        history.record_result(run_id, AssetFinished("model.p.a", "success", 106.0, 110.0, 4.0))
        history.record_result(run_id, AssetFinished("model.p.b", "success", 107.0, 118.0, 11.0))
        history.finish_run(run_id, status="success", exit_code=0, finished_at=120.0)
        failed = history.start_run(command="run", argv=[], unique_ids=["model.p.a"], started_at=200.0)
        history.record_result(failed, AssetFinished("model.p.a", "error", 201.0, 202.0, 1.0))
        history.finish_run(failed, status="failed", exit_code=1, finished_at=250.0)
        assert history.invocation_overheads() == [6.0 + 2.0]
