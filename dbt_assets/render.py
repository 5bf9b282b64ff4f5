"""Human-readable text for the CLI (JSON output comes straight from the pydantic models)."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbt_assets.asset import AssetDetail
    from dbt_assets.compile import Plan
    from dbt_assets.graph import AssetGraph


def render_detail(detail: AssetDetail) -> str:
    """``dbt-assets show`` as text: the asset's fields, then its neighbours."""
    a = detail.asset
    kind = a.resource_type + (f", {a.materialized}" if a.materialized else "")
    rows: list[tuple[str, str]] = [
        ("name", a.search_name),
        ("package", a.package_name),
        ("file", a.original_file_path),
        ("fqn", ".".join(a.fqn)),
        ("relation", a.relation_name or ""),
        ("owners", ", ".join(a.owners)),
        ("group", a.group or ""),
        ("access", a.access or ""),
        ("version", a.version + (" (latest)" if a.version == a.latest_version else "") if a.version else ""),
        ("tags", ", ".join(a.tags)),
        ("checksum", a.checksum or ""),
        ("description", a.description),
    ]
    if a.freshness is not None:
        fresh = a.freshness
        rows.append(("loaded_at", fresh.loaded_at_field or ""))
        rows.append(("warn_after", _period(fresh.warn_after)))
        rows.append(("error_after", _period(fresh.error_after)))
    lines = [f"{a.unique_id}  ({kind})"]
    lines += [f"  {key + ':':<13}{value}" for key, value in rows if value]
    if a.meta:
        lines.append("  meta:")
        lines += [f"    {key}: {value}" for key, value in a.meta.items()]
    if a.columns:
        lines.append("  columns:")
        for col in a.columns.values():
            extra = f" ({col.data_type})" if col.data_type else ""
            lines.append(f"    {col.name}{extra}" + (f": {col.description}" if col.description else ""))
    for title, uids in (
        ("parents", detail.parents),
        ("children", detail.children),
        ("checks", detail.checks),
    ):
        lines.append(f"  {title} ({len(uids)}):")
        lines += [f"    {uid}" for uid in uids]
    return "\n".join(lines) + "\n"


def _period(value: dict[str, object] | None) -> str:
    if not value or value.get("count") is None:
        return ""
    return f"{value['count']} {value['period']}"


def render_plan(graph: AssetGraph, plan: Plan) -> str:
    """``dbt-assets plan`` as text: the assets per resource type, then the dbt command line."""
    if not plan.unique_ids:
        return f"nothing to {plan.command}: the selection is empty\n"
    by_type: dict[str, list[str]] = {}
    for uid in plan.unique_ids:
        by_type.setdefault(graph.records[uid].resource_type, []).append(graph.records[uid].search_name)
    counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_type.items()))
    lines = [f"dbt {plan.command} would run {len(plan.unique_ids)} assets ({counts}):"]
    for kind, names in sorted(by_type.items()):
        lines.append(f"  {kind}: {', '.join(names)}")
    lines.append(f"arguments ({plan.strategy}):")
    lines.append("  dbt " + " ".join(shlex.quote(a) for a in plan.argv))
    return "\n".join(lines) + "\n"
