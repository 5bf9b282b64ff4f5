"""Adapters for orchestrators, each behind an optional extra (``dbt-assets[dagster]``).

They only call :mod:`dbt_assets.api`: the graph, the exact compiler, runs with their events
and history, and SLAs.
"""

from __future__ import annotations

from dbt_assets.graph import AssetGraph

MATERIALIZED = frozenset({"model", "seed", "snapshot"})


def is_materialized(graph: AssetGraph, unique_id: str) -> bool:
    """Whether dbt materializes the asset (a model that is not ephemeral, a seed, a snapshot)."""
    record = graph.records[unique_id]
    return record.resource_type in MATERIALIZED and record.config.get("materialized") != "ephemeral"


def materialized_parents(graph: AssetGraph, unique_id: str) -> list[str]:
    """The materialized assets and sources ``unique_id`` reads, looking through ephemeral
    models (inlined by dbt, so not assets of an orchestrator)."""
    found: list[str] = []
    todo = list(graph.records[unique_id].depends_on.nodes)
    seen: set[str] = set()
    while todo:
        parent = todo.pop(0)
        if parent in seen or parent not in graph.records:
            continue
        seen.add(parent)
        record = graph.records[parent]
        if record.resource_type == "source" or is_materialized(graph, parent):
            found.append(parent)
        elif record.resource_type == "model":  # ephemeral
            todo.extend(record.depends_on.nodes)
    return found
