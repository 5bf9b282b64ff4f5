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
