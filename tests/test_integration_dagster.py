"""The Dagster adapter with the real dagster: specs from the fixture's graph, and
`dagster.materialize` running the fixture on DuckDB: what the automation sensor requests on a
project never built (everything), then nothing due, a failure, a retry."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("dagster") is None:  # not imported here: dagster may read its settings once
    pytest.skip(
        "the dagster extra is not installed (pip install dbt-assets[dagster])", allow_module_level=True
    )

import json
from collections import Counter
from pathlib import Path

import dagster as dg

from dbt_assets.api import automation_tick, load_graph, open_history, tick_options
from dbt_assets.integrations.dagster import (
    AUTOMATION_TAG,
    asset_key,
    asset_specs,
    automation_sensor,
    dbt_assets_definition,
)
from dbt_assets.run.project import Project
from dbt_assets.selection import select
from tests.conftest import assert_ran_with

pytestmark = pytest.mark.slow


def test_specs_from_the_graph(shop_project: Path) -> None:
    graph = load_graph(project_dir=shop_project)
    specs, checks = asset_specs(graph, select(graph, command="build"))
    by_key = {spec.key: spec for spec in specs}
    assert dg.AssetKey(["orders"]) in by_key and dg.AssetKey(["customer_segments", "v2"]) in by_key
    assert dg.AssetKey(["raw_orders"]) in by_key and dg.AssetKey(["orders_snapshot"]) in by_key
    assert dg.AssetKey(["int_order_payments"]) not in by_key, "ephemeral models are not assets"
    assert dg.AssetKey(["int_order_items"]) in by_key  # a view
    orders = by_key[dg.AssetKey(["orders"])]
    # orders reads the ephemeral int_order_payments: its parent stg_payments instead
    assert {d.asset_key for d in orders.deps} == {
        dg.AssetKey(["stg_orders"]),
        dg.AssetKey(["int_order_items"]),
        dg.AssetKey(["stg_payments"]),
    }
    assert orders.owners == ["analytics@shop.example"] and "sla" in orders.tags
    assert orders.metadata["dbt_assets_sla"]["deadline"] == "07:00"
    policy = orders.freshness_policy
    assert isinstance(policy, dg.FreshnessPolicy)
    assert "0 7 * * *" in repr(policy) and "Europe/Berlin" in repr(policy)
    revenue = by_key[dg.AssetKey(["revenue_by_category"])]
    assert revenue.group_name == "finance" and revenue.freshness_policy is None  # warn severity
    stg = by_key[dg.AssetKey(["stg_orders"])]
    parents = graph.parents("model.shop.stg_orders")  # dbt's depends_on: no ephemeral in between
    assert {d.asset_key for d in stg.deps} == {asset_key(graph, p) for p in parents}
    assert dg.AssetKey(["shop", "orders"]) in {d.asset_key for d in stg.deps}  # a source
    on_orders = {c.name for c in checks if c.asset_key == dg.AssetKey(["orders"])}
    assert {"unique_orders_order_id", "not_null_orders_order_id"} <= on_orders
    assert asset_key(graph, "source.shop.shop.payments") == dg.AssetKey(["shop", "payments"])


def _materialized(result: dg.ExecuteInProcessResult) -> set[dg.AssetKey]:
    return {m.asset_key for m in result.get_asset_materialization_events() if m.asset_key}  # type: ignore[misc]


def _evaluate(sensor: dg.SensorDefinition, instance: dg.DagsterInstance) -> dg.SensorResult:
    with dg.build_sensor_context(instance=instance) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _dry_tick(project: Project, history: Path) -> tuple[set[str], set[str], Counter[str]]:
    """What a dry-run tick finds due, the tests it plans with them, and why the others are not."""
    with open_history(project.project_dir, history) as opened:
        tick = automation_tick(project, opened, options=tick_options(check_sources=False), dry_run=True)
    planned = set(tick.plan.unique_ids) if tick.plan is not None else set()
    skipped = Counter(d.code for d in tick.decisions.decided if d.decision == "skip")
    return set(tick.decisions.due), planned - set(tick.decisions.due), skipped


def test_the_sensor_requests_the_due_assets_then_materialize_fail_and_retry(
    parsed_project: Path, tmp_path: Path
) -> None:
    """Never built: the sensor requests exactly what a dry-run tick finds due (everything) with
    the planned tests that are the multi-asset's checks; it waits while a run it requested is in flight;
    once built, nothing is due and its skip reason says why. Then a failure and a retry."""
    project = Project(parsed_project)
    history = tmp_path / "history.db"
    shop = dbt_assets_definition(project, history_path=history)
    sensor = automation_sensor(project, shop, history_path=history, check_sources=False, name="shop")
    instance = dg.DagsterInstance.ephemeral()
    due, tests, _ = _dry_tick(project, history)
    graph = project.graph()
    requested = _evaluate(sensor, instance)
    (request,) = requested.run_requests or []
    assert set(request.asset_selection or ()) == {asset_key(graph, u) for u in due} == set(shop.keys)
    # the tests the tick plans, as the multi-asset's checks: here every check of every asset
    assert set(request.asset_check_keys or ()) == set(shop.check_keys)
    assert {c.name for c in shop.check_keys} <= {graph.records[t].name for t in tests}
    assert request.tags[AUTOMATION_TAG] == "shop" and json.loads(requested.cursor or "")["due"] == len(due)

    from dagster._core.test_utils import create_run_for_test

    running = create_run_for_test(instance, status=dg.DagsterRunStatus.STARTED, tags=dict(request.tags))
    waiting = _evaluate(sensor, instance)
    assert not waiting.run_requests and running.run_id in str(waiting.skip_reason)
    instance.report_run_canceled(running)

    selection = dg.AssetSelection.assets(*(request.asset_selection or ())).without_checks()
    everything = dg.materialize(
        [shop],
        instance=instance,
        selection=selection | dg.AssetSelection.checks(*(request.asset_check_keys or ())),
        tags=dict(request.tags),
    )
    assert everything.success
    keys = set(shop.keys)
    assert _materialized(everything) == keys
    evaluations = everything.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)
    now_due, _, skipped = _dry_tick(project, history)
    idle = _evaluate(sensor, instance)
    assert now_due == set() and not idle.run_requests and json.loads(idle.cursor or "")["due"] == 0
    assert isinstance(idle.skip_reason, dg.SkipReason)
    reason = str(idle.skip_reason.skip_message)
    assert reason.startswith("nothing due at ") and f"{len(keys)} asset(s) decided" in reason
    assert skipped and all(f"{n} {code.replace('_', ' ')} (" in reason for code, n in skipped.items())

    sql = parsed_project / "models/marts/core/orders.sql"
    sql.write_text(sql.read_text().replace("select", "select no_such_column,", 1))
    broken = dg.materialize([shop], instance=instance, raise_on_error=False)
    assert not broken.success
    done = _materialized(broken)
    assert dg.AssetKey(["stg_orders"]) in done
    missing = keys - done
    assert dg.AssetKey(["orders"]) in missing and dg.AssetKey(["customers"]) in missing
    assert dg.AssetKey(["raw_orders"]) not in missing

    sql.write_text(sql.read_text().replace("select no_such_column,", "select", 1))
    retried = dg.materialize([shop], instance=instance, selection=sorted(missing, key=str))
    assert retried.success and _materialized(retried) == missing


def test_dbt_from_its_own_virtualenv(built_project: Path, separate_dbt: Path) -> None:
    """Dagster's environment and dbt's apart: the multi-asset reaches dbt (another version,
    another virtualenv) through ``dbt_executable``."""
    shop = dbt_assets_definition(Project(built_project, dbt_executable=str(separate_dbt)), ["stg_orders"])
    result = dg.materialize([shop], instance=dg.DagsterInstance.ephemeral())
    assert result.success and _materialized(result) == {dg.AssetKey(["stg_orders"])}
    assert_ran_with(built_project, separate_dbt)
