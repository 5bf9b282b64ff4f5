"""A run history on PostgreSQL end to end: the CLI runs the real dbt on the fixture with
``--history postgresql://...`` (and ``DBT_ASSETS_HISTORY``), and what it recorded is read
back by status, history and selection on the same server. (The store's own tests run on
both backends: test_history.py, test_facts.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbt_assets.history.store import History
from tests.conftest import cli
from tests.postgres import Server

pytestmark = pytest.mark.postgres


def test_a_run_recorded_on_postgresql_is_read_back_from_it(built_project: Path, postgres: Server) -> None:
    url = postgres.url()
    project = ["--project-dir", str(built_project)]
    ran = cli("run", *project, "-s", "orders+", "--history", url)
    assert ran.exit_code == 0, ran.output
    assert "postgresql://postgres@127.0.0.1" in ran.output  # where it was recorded
    with History.open(url, create=False) as history:
        (run,) = history.runs()
        results = {r.unique_id: r.status for r in history.results(run.run_id)}
    assert run.status == "success" and results["model.shop.orders"] == "success"
    assert set(results) == set(run.unique_ids)

    env = {"DBT_ASSETS_HISTORY": url}
    status = cli("status", *project, "-s", "orders+", "-o", "json", env=env)
    assert status.exit_code == 0, status.output
    shown = {row["unique_id"]: row["last_status"] for row in map(json.loads, status.stdout.splitlines())}
    assert {uid: shown[uid] for uid in results} == results
    listed = cli(
        "ls",
        *project,
        "-s",
        "status:success",
        "--resource-type",
        "model",
        "--history",
        url,
        "--output",
        "json",
    )
    assert listed.exit_code == 0, listed.output
    assert {json.loads(line)["unique_id"] for line in listed.stdout.splitlines()} == {
        uid for uid, st in results.items() if st == "success"
    }
    shown_run = cli("history", *project, "--history", url, "show", str(run.run_id), "-o", "json")
    assert shown_run.exit_code == 0, shown_run.output
    assert json.loads(shown_run.stdout)["run"]["run_id"] == run.run_id


def test_a_server_that_is_not_there_is_one_line(built_project: Path) -> None:
    done = cli(
        "run", "--project-dir", str(built_project), "-s", "orders",
        "--history", "postgresql://someone:pw@127.0.0.1:1/history",
    )  # fmt: skip
    assert done.exit_code == 2
    (line,) = done.stderr.strip().splitlines()
    assert "cannot connect to the run history postgresql://someone:***@127.0.0.1:1/history" in line
    assert "pw@" not in done.stderr


def test_a_history_server_gone_mid_run_loses_nothing(built_project: Path, postgres: Server) -> None:
    """The server drops dbt-assets' connection after the first result: dbt is not stopped, the
    run ends normally, its results are saved beside the project, and once the history is back
    the run is completed from that file (not from target/, which a later dbt may overwrite)."""
    import psycopg

    from dbt_assets.api import open_history, start_run
    from dbt_assets.history.recovery import open_history as open_store
    from dbt_assets.run.events import AssetFinished
    from dbt_assets.run.project import Project
    from tests.postgres import raw_history
    from tests.test_history import _dead_pid

    url = postgres.url()
    with open_history(built_project, url) as history:
        run = start_run(Project(built_project), "run", ["stg_orders+"], history=history)
        dropped = False
        for event in run:
            if isinstance(event, AssetFinished) and not dropped:
                with psycopg.connect(postgres.base, autocommit=True) as admin:
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
                    )
                dropped = True
    result = run.result
    assert result is not None and result.exit_code == 0, result and result.message
    assert result.unrecorded_because is not None and "failed during the run" in result.unrecorded_because
    assert result.unrecorded is not None
    saved = Path(result.unrecorded)
    assert saved.parent == built_project / ".dbt-assets" and saved.is_file()
    with History.open(url, create=False) as history:
        recorded = {r.unique_id for r in history.results(result.run_id or 0)}
    assert 0 < len(recorded) < len(result.results), "recorded up to the drop, not after"
    (built_project / "target" / "run_results.json").unlink()
    with raw_history(url) as raw:  # the dbt-assets process that ran it is gone
        raw.execute("UPDATE runs SET pid = ? WHERE run_id = ?", (_dead_pid(), result.run_id))
    recovered = cli("history", "recover", "--project-dir", str(built_project), "--history", url, "-o", "json")
    assert recovered.exit_code == 0, recovered.output
    # what dbt did (issue 32, defect 7: it was "interrupted", exit 130)
    assert json.loads(recovered.stdout) == {"run_id": result.run_id, "status": "success", "exit_code": 0}
    with open_store(url, create=False) as history:
        assert history.recovered == []
        run = history.run(result.run_id)
        completed = {r.unique_id: r.status for r in history.results(result.run_id or 0)}
    assert (run.status, run.exit_code, run.finished_at) == (
        result.status,
        result.exit_code,
        result.finished_at,
    )
    assert completed == {uid: r.status for uid, r in result.results.items()}
