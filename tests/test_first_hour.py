"""A new user's first runs on the fixture, with the real dbt: `why` finds the real cause of a
failure (every kind of cause), dbt's whole error is shown, and the advice after a failed run
is the one that helps (fixing what a retry would repeat). The never-built project, from the
warning before the run to the advice typed as printed, is ``test_terminal.py``'s first hour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import cli

pytestmark = pytest.mark.slow


def _break(project: Path, model: str) -> None:
    path = next(project.glob(f"models/**/{model}.sql"))
    path.write_text(path.read_text().replace("select", "select no_such_column,", 1))


def test_a_failure_upstream_is_the_root_cause_of_what_it_skipped(built_project: Path) -> None:
    """stg_orders broken: it fails, orders and what follows are skipped. `why` of a skipped
    asset names stg_orders (root, with dbt's whole error and the command to re-run it once
    fixed) and the skipped asset between; the run's advice is to fix, not to retry."""
    _break(built_project, "stg_orders")
    project = ["--project-dir", str(built_project)]
    run = cli("run", *project, "-s", "stg_orders+")
    assert run.exit_code == 1
    assert "a retry would fail the same way: fix the error above, then: dbt-assets retry" in run.stdout
    why = json.loads(cli("why", *project, "customers", "-o", "json").stdout)
    assert why["last_run"]["status"] == "skipped"
    causes = {c["unique_id"]: c for c in why["causes"]}
    root = causes["model.shop.stg_orders"]
    assert root["root"] and "last run error" in root["reasons"]
    assert root["fix"].startswith("dbt-assets run -s stg_orders")
    assert (
        not causes["model.shop.orders"]["root"]
        and "last run skipped" in causes["model.shop.orders"]["reasons"]
    )
    text = cli("why", *project, "customers").stdout
    assert "no_such_column" in text, "dbt's own words, not only its first line"
    shown = cli("history", *project, "show", "2").stdout
    assert "errors (dbt's words):" in shown and "no_such_column" in shown.split("errors (dbt's words):")[1]


def test_an_upstream_sla_that_is_not_met_is_a_cause(built_project: Path) -> None:
    """Three days after the build, order_revenue_daily (freshness 1d) is stale, and orders
    upstream of it has missed its 07:00 deadline: `why` names orders with its own SLA."""
    why = json.loads(
        cli(
            "why", "--project-dir", str(built_project), "order_revenue_daily", "--at", "+3d", "-o", "json"
        ).stdout
    )
    assert any(r["status"] != "ok" for r in why["results"])
    causes = {c["unique_id"]: c for c in why["causes"]}
    assert any(reason.startswith("deadline breached") for reason in causes["model.shop.orders"]["reasons"])
