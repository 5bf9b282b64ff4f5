"""One JSON document with everything dbt-assets knows about a project's assets, for tools
that embed none of it: every asset, its lineage, its effective SLA and its last status.

    >>> export_assets(graph, history).model_dump_json()     # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from dbt_assets.manifest.asset import Asset
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.sla.judge import declared_slas, iso

if TYPE_CHECKING:
    from dbt_assets.history.store import History


class LastResult(BaseModel):
    """What the run history says of an asset."""

    status: str | None
    run_id: int | None
    at: str | None = Field(description="when the last result finished (ISO 8601, UTC)")
    execution_time: float | None
    last_success_at: str | None
    consecutive_failures: int


class ExportedAsset(BaseModel):
    asset: Asset
    children: list[str]
    checks: list[str]
    sla: dict[str, Any] | None = Field(description="the effective SLA (durations in seconds)")
    last: LastResult | None = Field(description="None: no history, or never run")


class Export(BaseModel):
    """``dbt-assets export --format json``."""

    dbt_assets_version: str
    generated_at: str
    project: str | None
    dbt_version: str | None
    assets: list[ExportedAsset]
    lineage: list[tuple[str, str]] = Field(description="(parent, child) edges among the exported assets")


def _version() -> str:
    try:
        return version("dbt-assets")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def export_assets(
    graph: AssetGraph, history: History | None = None, unique_ids: Iterable[str] | None = None
) -> Export:
    """Every asset (or those of ``unique_ids``) with its lineage, SLA and last result."""
    chosen = sorted(graph.records) if unique_ids is None else sorted(set(unique_ids))
    facts = history.facts() if history is not None else {}
    slas = declared_slas(graph)
    exported = []
    for uid in chosen:
        sla = slas.get(uid)
        known = facts.get(uid)
        last = None
        if known is not None and known.last_status is not None:
            last = LastResult(
                status=known.last_status,
                run_id=known.last_run_id,
                at=iso(known.last_at),
                execution_time=known.last_execution_time,
                last_success_at=iso(known.last_success_at),
                consecutive_failures=known.consecutive_failures,
            )
        exported.append(
            ExportedAsset(
                asset=graph.asset(uid),
                children=graph.children(uid),
                checks=graph.checks(uid),
                sla=None if sla is None else sla.model_dump(exclude_none=True),
                last=last,
            )
        )
    members = set(chosen)
    edges = [
        (parent, uid) for uid in chosen for parent in graph.records[uid].depends_on.nodes if parent in members
    ]
    return Export(
        dbt_assets_version=_version(),
        generated_at=iso(time.time()) or "",
        project=graph.manifest.project_name,
        dbt_version=graph.manifest.dbt_version,
        assets=exported,
        lineage=edges,
    )
