"""Render the lineage of a set of assets as Mermaid, Graphviz dot or JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Collection

from dbt_assets.manifest.graph import AssetGraph

LINEAGE_FORMATS = ("mermaid", "dot", "json")
_SHAPES = {
    "source": ("[(", ")]"),
    "seed": ("[/", "/]"),
    "exposure": ("{{", "}}"),
    "test": ("([", "])"),
    "unit_test": ("([", "])"),
    "metric": ("((", "))"),
}


def lineage_edges(graph: AssetGraph, unique_ids: Collection[str]) -> list[tuple[str, str]]:
    """Edges (parent, child) between the given assets, sorted."""
    chosen = set(unique_ids)
    return sorted(
        (parent, uid) for uid in chosen for parent in graph.records[uid].depends_on.nodes if parent in chosen
    )


def _label(graph: AssetGraph, uid: str) -> str:
    record = graph.records[uid]
    return f"{record.search_name} ({record.resource_type})"


def to_mermaid(graph: AssetGraph, unique_ids: Collection[str]) -> str:
    ids = {uid: f"n{i}" for i, uid in enumerate(sorted(unique_ids))}
    lines = ["flowchart LR"]
    for uid, node_id in ids.items():
        opening, closing = _SHAPES.get(graph.records[uid].resource_type, ("[", "]"))
        label = _label(graph, uid).replace('"', "'")
        lines.append(f'    {node_id}{opening}"{label}"{closing}')
    for parent, child in lineage_edges(graph, unique_ids):
        lines.append(f"    {ids[parent]} --> {ids[child]}")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + re.sub(r'(["\\])', r"\\\1", text) + '"'


def to_dot(graph: AssetGraph, unique_ids: Collection[str]) -> str:
    lines = ["digraph lineage {", "    rankdir=LR;", "    node [shape=box];"]
    for uid in sorted(unique_ids):
        lines.append(f"    {_dot_quote(uid)} [label={_dot_quote(_label(graph, uid))}];")
    for parent, child in lineage_edges(graph, unique_ids):
        lines.append(f"    {_dot_quote(parent)} -> {_dot_quote(child)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_json(graph: AssetGraph, unique_ids: Collection[str]) -> str:
    nodes = [
        {
            "unique_id": uid,
            "name": graph.records[uid].search_name,
            "resource_type": graph.records[uid].resource_type,
        }
        for uid in sorted(unique_ids)
    ]
    edges = [{"from": p, "to": c} for p, c in lineage_edges(graph, unique_ids)]
    return json.dumps({"nodes": nodes, "edges": edges}, indent=2) + "\n"


def render_lineage(graph: AssetGraph, unique_ids: Collection[str], fmt: str = "mermaid") -> str:
    """The lineage of ``unique_ids`` in ``fmt`` (mermaid, dot or json)."""
    renderers = {"mermaid": to_mermaid, "dot": to_dot, "json": to_json}
    if fmt not in renderers:
        raise ValueError(f"unknown lineage format {fmt!r}; use one of {LINEAGE_FORMATS}")
    return renderers[fmt](graph, unique_ids)
