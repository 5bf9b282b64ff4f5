"""The names dbt-assets shares with dbt, each defined once: resource types, the manifest's
sections and result statuses."""

from __future__ import annotations

ASSET_RESOURCE_TYPE_ORDER = (
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
    "function",
)
"""The resource types that become assets, in the order ``--resource-type`` lists them; hooks
(operation) and RPC/SQL operations do not."""
ASSET_RESOURCE_TYPES = frozenset(ASSET_RESOURCE_TYPE_ORDER)

KNOWN_RESOURCE_TYPES = ASSET_RESOURCE_TYPES | {
    "operation", "sql_operation", "rpc", "macro", "doc", "group", "fixture"
}  # fmt: skip
"""Every resource type dbt knows (what ``resource_type:`` accepts)."""

PARSED_TYPES = frozenset({"model", "seed", "snapshot", "test", "analysis"})
"""The resource types dbt keeps in ``manifest.nodes`` ("parsed nodes")."""

CHECK_TYPES = frozenset({"test", "unit_test"})
"""Checks: folded into the asset they test."""

MATERIALIZED_TYPES = frozenset({"model", "seed", "snapshot"})
"""What a run materializes in the warehouse: the assets that declare SLAs in their own YAML,
that a deadline's upstream chain is made of, and that orchestrators see as their assets."""

LS_DEFAULT_TYPES = ASSET_RESOURCE_TYPES - {"analysis"}
"""What ``dbt ls`` lists without ``--resource-type`` (``all`` adds analyses)."""

BUILD_TYPES = frozenset(
    {"model", "snapshot", "seed", "test", "unit_test", "saved_query", "exposure", "function"}
)
"""What ``dbt build`` runs."""

RECORD_SECTIONS = (
    "nodes",
    "sources",
    "exposures",
    "metrics",
    "semantic_models",
    "saved_queries",
    "unit_tests",
    "functions",
)
"""The manifest's sections whose entries are graph records (``groups`` is read apart)."""

# dbt's result statuses (RunStatus, TestStatus, ...) plus two of dbt-assets: ``cancelled`` (the
# asset was running when the run was cancelled or dbt died) and ``not_reached`` (it was planned,
# but the run stopped before dbt started it; such a result leaves the asset's facts as they were).
SUCCESS_STATUSES = frozenset({"success", "pass", "warn", "no-op", "partial success"})
FAILURE_STATUSES = frozenset({"error", "fail", "runtime error"})
CANCELLED = "cancelled"
NOT_REACHED = "not_reached"

RUN_STATUSES = frozenset(
    {"success", "error", "fail", "warn", "pass", "skipped", "cancelled", "no-op", "runtime_error"}
)
"""What ``status:`` accepts (dbt's statuses, a space written ``_``)."""

SLA_STATUSES = frozenset({"ok", "warn", "breached", "at_risk", "unknown"})
"""An SLA's states, best to worst but ``unknown`` (no result to judge yet)."""
