"""The Dagster adapter with the real dagster: specs from the fixture's graph, and
`dagster.materialize` running the fixture on DuckDB: everything, a failure, a retry."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("dagster") is None:  # not imported here: dagster may read its settings once
    pytest.skip(
        "the dagster extra is not installed (pip install dbt-assets[dagster])", allow_module_level=True
    )

from pathlib import Path

import dagster as dg

from dbt_assets.api import load_graph
from dbt_assets.integrations.dagster import asset_key, asset_specs, dbt_assets_definition
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


def test_materialize_fail_and_retry(parsed_project: Path, tmp_path: Path) -> None:
    project = Project(parsed_project)
    history = tmp_path / "history.db"
    shop = dbt_assets_definition(project, history_path=history)
    instance = dg.DagsterInstance.ephemeral()
    everything = dg.materialize([shop], instance=instance)
    assert everything.success
    keys = set(shop.keys)
    assert _materialized(everything) == keys
    evaluations = everything.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)

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
