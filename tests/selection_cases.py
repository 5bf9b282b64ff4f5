"""Selection expressions for the differential tests: atoms of every method, then operators,
set operations, exclusions, indirect-selection modes, resource types and YAML selectors."""

from __future__ import annotations

import itertools

FIXTURE_NAMES = [
    "orders", "customers", "stg_orders", "stg_payments", "int_order_payments", "int_order_items",
    "customer_segments", "customer_segments.v1", "customer_segments_v2", "order_revenue_daily",
    "weekly_revenue", "executive_summary", "raw_orders", "orders_snapshot", "metricflow_time_spine",
    "revenue_by_category", "top_customers", "marts", "staging", "shop.marts.finance", "stg_*", "*_revenue*",
    "shop", "core.*", "leadership_dashboard", "revenue", "test_customers_counts_orders",
]  # fmt: skip
FIXTURE_METHOD_ATOMS = [
    "tag:finance", "tag:core", "tag:sla", "tag:staging", "tag:raw", "tag:history", "tag:fin*",
    "config.materialized:table", "config.materialized:view", "config.materialized:incremental",
    "config.materialized:ephemeral", "config.materialized:seed", "config.tags:sla",
    "config.meta.owner:bi@shop.example", "config.enabled:true", "config.enabled:True",
    "config.severity:error", "config.severity:ERROR", "config.access:private",
    "config.unique_key:order_date",
    "config.group:finance", "config.full_refresh:false",
    "path:models/staging", "path:models/marts/core", "path:models/marts/*/_*.yml", "path:seeds",
    "path:snapshots", "path:tests", "path:analyses", "path:models/marts/**/*.sql", "models/marts/finance",
    "path:models/staging/stg_orders.sql", "file:orders.sql", "file:customers", "file:_core.yml",
    "stg_orders.sql", "raw_orders.csv", "file:*.csv", "package:this", "package:shop", "package:sh*",
    "resource_type:model", "resource_type:seed", "resource_type:test", "resource_type:source",
    "resource_type:unit_test", "resource_type:exposure", "resource_type:metric",
    "resource_type:semantic_model", "resource_type:saved_query", "resource_type:analysis",
    "resource_type:snapshot", "source:shop", "source:shop.orders", "source:shop.shop.payments", "source:*",
    "source:sh*.p*", "exposure:leadership_dashboard", "exposure:shop.*", "metric:revenue", "metric:*",
    "semantic_model:orders_semantic", "saved_query:revenue_by_status",
    "unit_test:test_customers_counts_orders",
    "unit_test:*", "test_name:unique", "test_name:not_null", "test_name:relationships",
    "test_name:accepted_values", "test_name:test_customers*", "test_type:generic", "test_type:singular",
    "test_type:unit", "test_type:data", "test_type:schema", "group:finance", "group:fin*", "access:public",
    "access:protected", "access:private", "version:latest", "version:old", "version:none",
    "version:prerelease", "fqn:*", "fqn:shop.staging.*", "fqn:marts.core.orders", "fqn:shop.marts.core.*",
]  # fmt: skip
GRAPH_ATOMS = ["orders", "stg_orders", "tag:finance", "customer_segments", "source:shop.payments",
               "path:models/intermediate", "raw_customers", "exposure:*", "customers", "int_order_items",
               "version:old", "metric:revenue"]  # fmt: skip
OPERATORS = ["{}+", "+{}", "1+{}", "{}+1", "2+{}+", "@{}", "+{}+"]

FIXTURE_SELECTORS = [
    "finance_tables",
    "orders_downstream_without_staging",
    "core_cautious",
    "finance_and_recent_staging",
    "two_levels_above_summary",
    "string_definition",
]


def fixture_cases() -> list[tuple[str, ...]]:
    """Arguments for ls, each a differential case on the fixture project."""
    cases: list[tuple[str, ...]] = [("--select", atom) for atom in FIXTURE_NAMES + FIXTURE_METHOD_ATOMS]
    cases += [("--select", op.format(atom)) for atom in GRAPH_ATOMS for op in OPERATORS]
    pairs = list(itertools.combinations(["orders+", "tag:finance", "stg_*", "config.materialized:table",
                                         "source:shop+", "path:models/marts/core", "+exposure:*",
                                         "test_type:generic"], 2))  # fmt: skip
    cases += [("--select", f"{a} {b}") for a, b in pairs]
    cases += [("--select", f"{a},{b}") for a, b in pairs]
    cases += [
        ("--select", "orders+", "--exclude", "tag:finance"),
        ("--select", "+executive_summary", "--exclude", "staging"),
        ("--select", "marts", "--exclude", "config.materialized:table"),
        ("--exclude", "tag:staging"),
        ("--exclude", "resource_type:test"),
        ("--exclude", "orders+"),
        ("--select", "stg_orders+", "--exclude", "test_type:generic"),
        ("--select", "@stg_orders", "--exclude", "customers+", "tag:finance"),
        ("--select", "tag:core,+executive_summary", "--exclude", "customer_segments"),
        ("--select", "source:shop+", "--exclude", "source:shop.customers+"),
    ]
    for mode in ("eager", "cautious", "buildable", "empty"):
        for expr in ("orders", "orders customers", "stg_orders+1", "+customers", "customers,tag:core",
                     "orders customers,tag:sla", "source:shop.orders"):  # fmt: skip
            cases.append(("--select", expr, "--indirect-selection", mode))
        cases.append(("--select", "orders+", "--exclude", "customers", "--indirect-selection", mode))
    cases += [
        ("--select", "orders+", "--resource-type", t) for t in ("model", "test", "exposure", "all", "default")
    ]
    cases += [
        ("--select", "+customers", "--exclude-resource-type", "source"),
        ("--select", "tag:finance", "--resource-type", "model", "--resource-type", "test"),
        ("--resource-type", "unit_test"),
        ("--select", "marts", "--resource-type", "all", "--exclude-resource-type", "test"),
    ]
    cases += [("--selector", name) for name in FIXTURE_SELECTORS]
    cases += [("--selector", name, "--indirect-selection", "cautious") for name in FIXTURE_SELECTORS[:3]]
    return cases


GENERATED_CASES: list[tuple[str, ...]] = [
    (),
    ("--resource-type", "model"),
    ("--resource-type", "test"),
    ("--resource-type", "source", "--resource-type", "exposure"),
    ("--select", "staging"),
    ("--select", "marts.finance"),
    ("--select", "fct_*"),
    ("--select", "stg_sales_0 int_finance_*", "--indirect-selection", "cautious"),
    ("--select", "synthetic.intermediate.*", "--exclude-resource-type", "test"),
    ("--select", "stg_sales_0+"),
    ("--select", "+dim_sales_2"),
    ("--select", "2+fct_finance_1+"),
    ("--select", "@stg_ops_3"),
    ("--select", "tag:pii"),
    ("--select", "tag:pii,tag:intermediate"),
    ("--select", "tag:daily+", "--exclude", "tag:marts"),
    ("--select", "source:raw_sales+1"),
    ("--select", "source:raw_hr.hr_table_0+"),
    ("--select", "exposure:dashboard_1+", "--resource-type", "all"),
    ("--select", "+exposure:dashboard_2"),
    ("--select", "path:models/staging/finance"),
    ("--select", "path:models/marts/*/dim_*.sql"),
    ("--select", "models/intermediate/growth"),
    ("--select", "file:int_ops_*.sql"),
    ("--select", "config.materialized:ephemeral,tag:hourly"),
    ("--select", "config.meta.owner:alice", "--resource-type", "model"),
    ("--select", "test_name:unique,stg_finance_*+"),
    ("--select", "test_type:generic", "--exclude", "marts"),
    ("--select", "package:this", "--exclude", "staging intermediate"),
    ("--select", "stg_marketing_1+", "--indirect-selection", "buildable"),
    ("--select", "stg_marketing_1+", "--indirect-selection", "empty"),
    ("--select", "+fct_sales_3", "--indirect-selection", "cautious"),
    ("--select", "int_product_*+1,tag:pii"),
    ("--select", "resource_type:exposure"),
    ("--exclude", "tag:staging tag:marts"),
    ("--select", "1+int_hr_5+1"),
    ("--select", "synthetic.marts.sales.*+"),
    ("--select", "+marts.support", "--resource-type", "source"),
    ("--select", "stg_*,tag:pii", "--resource-type", "model"),
    ("--select", "*_1", "--exclude", "fct_*"),
]
