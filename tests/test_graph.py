"""The asset graph of the real fixture project: nodes, edges, checks and what each asset carries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbt_assets._core.errors import AssetNotFoundError
from dbt_assets.manifest.decode import read_manifest
from dbt_assets.manifest.graph import AssetGraph


@pytest.fixture(scope="module")
def graph(shop_manifest: Path) -> AssetGraph:
    return AssetGraph(read_manifest(shop_manifest))


@pytest.fixture(scope="module")
def raw(shop_manifest: Path) -> dict[str, dict[str, dict[str, object]]]:
    return json.loads(shop_manifest.read_bytes())  # type: ignore[no-any-return]


def test_edges_are_depends_on(graph: AssetGraph, raw: dict[str, dict[str, dict[str, object]]]) -> None:
    expected = {
        (parent, uid)
        for section in ("nodes", "exposures", "metrics", "semantic_models", "saved_queries", "unit_tests")
        for uid, node in raw[section].items()
        if uid in graph
        for parent in node["depends_on"].get("nodes", [])  # type: ignore[attr-defined]
    }
    assert set(graph.nx.edges) == expected
    assert set(graph.nx.nodes) == set(graph.records)


def test_every_resource_type_of_the_fixture_is_an_asset(graph: AssetGraph) -> None:
    kinds = {r.resource_type for r in graph.records.values()}
    assert kinds == {
        "model",
        "seed",
        "snapshot",
        "source",
        "test",
        "unit_test",
        "exposure",
        "metric",
        "semantic_model",
        "saved_query",
        "analysis",
    }
    assert not any(u.startswith("operation.") for u in graph), "the on-run-start hook is not an asset"


def test_checks_are_the_tests_of_an_asset(graph: AssetGraph) -> None:
    checks = graph.checks("model.shop.orders")
    assert "test.shop.unique_orders_order_id.fed79b3a6e" in checks
    assert "test.shop.assert_order_amounts_not_negative" in checks
    rel = next(c for c in checks if c.startswith("test.shop.relationships_orders"))
    assert rel in graph.checks("model.shop.customers"), "a relationships test checks both ends"
    assert (
        graph.checks("model.shop.customers").count("unit_test.shop.customers.test_customers_counts_orders")
        == 1
    )
    assert all(graph.records[c].resource_type in {"test", "unit_test"} for c in checks)
    assert not set(checks) & set(graph.children("model.shop.orders"))


def test_downstream_of_orders_has_several_layers(graph: AssetGraph) -> None:
    down = {u for u in graph.downstream("model.shop.orders") if not u.startswith(("test.", "unit_test."))}
    for uid in (
        "model.shop.customers",
        "model.shop.order_revenue_daily",
        "model.shop.weekly_revenue",
        "model.shop.executive_summary",
        "model.shop.customer_segments.v2",
        "exposure.shop.leadership_dashboard",
    ):
        assert uid in down
    assert "model.shop.stg_orders" in graph.upstream("model.shop.orders")


def test_model_asset_fields(graph: AssetGraph) -> None:
    orders = graph.asset("model.shop.orders")
    assert orders.materialized == "table"
    assert orders.relation_name == '"shop"."main"."orders"'
    assert (orders.database, orders.schema_name, orders.alias) == ("shop", "main", "orders")
    assert orders.fqn == ["shop", "marts", "core", "orders"]
    assert orders.original_file_path == "models/marts/core/orders.sql"
    assert orders.owners == ["analytics@shop.example"]
    assert orders.meta["tier"] == "gold"
    assert orders.access == "public"
    assert set(orders.tags) == {"core", "sla"}
    assert orders.columns["order_id"].description == "Primary key."
    assert orders.checksum and len(orders.checksum) == 64
    assert orders.model_dump()["schema"] == "main"


def test_owners_from_owners_list_group_and_exposure(graph: AssetGraph) -> None:
    assert graph.asset("model.shop.customers").owners == ["analytics@shop.example", "crm@shop.example"]
    by_category = graph.asset("model.shop.revenue_by_category")
    assert (by_category.group, by_category.access) == ("finance", "private")
    assert by_category.owners == ["finance@shop.example"], "owner of the finance group"
    assert graph.asset("exposure.shop.leadership_dashboard").owners == ["bi@shop.example"]


def test_other_materializations(graph: AssetGraph) -> None:
    assert graph.asset("model.shop.int_order_payments").materialized == "ephemeral"
    assert graph.asset("model.shop.order_revenue_daily").materialized == "incremental"
    assert graph.asset("snapshot.shop.orders_snapshot").materialized == "snapshot"
    assert graph.asset("seed.shop.raw_orders").materialized == "seed"


def test_source_asset_carries_freshness(graph: AssetGraph) -> None:
    payments = graph.asset("source.shop.shop.payments")
    assert payments.freshness is not None
    assert payments.freshness.loaded_at_field == "cast(paid_at as timestamp)"
    assert payments.freshness.warn_after == {"count": 6, "period": "hour"}
    orders = graph.asset("source.shop.shop.orders")
    assert orders.freshness and orders.freshness.error_after == {"count": 1, "period": "day"}
    assert orders.owners == ["backend-team@shop.example"]


def test_versions(graph: AssetGraph) -> None:
    v1 = graph.asset("model.shop.customer_segments.v1")
    assert (v1.version, v1.latest_version, v1.search_name) == ("1", "2", "customer_segments.v1")
    assert graph.find("customer_segments") == "model.shop.customer_segments.v2", "the latest version"
    assert graph.find("customer_segments.v1") == "model.shop.customer_segments.v1"


def test_find(graph: AssetGraph) -> None:
    assert graph.find("orders") == "model.shop.orders", "a model wins over the source of the same name"
    assert graph.find("shop.orders") == "source.shop.shop.orders"
    assert graph.find("model.shop.orders") == "model.shop.orders"
    with pytest.raises(AssetNotFoundError) as err:
        graph.find("ordrs")
    assert err.value.message == "no asset named 'ordrs'"
    assert "did you mean 'orders'" in err.value.hint
