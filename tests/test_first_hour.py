"""A new user's first runs on the fixture, with the real dbt: `why` finds the real cause of a
failure (every kind of cause), dbt's whole error is shown, and the advice after a failed run
is the one that helps (building what was never built, fixing what a retry would repeat)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import cli

pytestmark = pytest.mark.slow


def _break(project: Path, model: str) -> None:
    path = next(project.glob(f"models/**/{model}.sql"))
    path.write_text(path.read_text().replace("select", "select no_such_column,", 1))


def test_a_never_built_project_says_what_to_build(parsed_project: Path) -> None:
    """`run -s orders` on a project nothing was built in: dbt fails on a missing table; the
    advice is to build what orders needs (not `retry`, which would fail the same way), and
    `why orders` names the upstream assets that were never built, with that command."""
    project = ["--project-dir", str(parsed_project)]
    run = cli("run", *project, "-s", "orders")
    assert run.exit_code == 1, run.stderr
    assert (
        "Next: upstream assets were never built here; build them first: dbt-assets build -s +" in run.stdout
    )
    assert "then re-run what did not succeed: dbt-assets retry 1" in run.stdout
    assert "failed or skipped assets" in run.stdout, "the SLA line says what the failure did"
    why = cli("why", *project, "orders")
    assert why.exit_code == 0, why.stderr
    assert "the asset itself is the cause" not in why.stdout
    assert "never succeeded here" in why.stdout
    assert "is missing from the warehouse (dbt said so)" in why.stdout
    assert "fix: dbt-assets build -s +stg_" in why.stdout
    causes = json.loads(cli("why", *project, "orders", "-o", "json").stdout)["causes"]
    assert {c["unique_id"] for c in causes} >= {"model.shop.stg_orders"}
    assert all(c["fix"] for c in causes)


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
