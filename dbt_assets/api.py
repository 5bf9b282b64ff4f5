"""The front door: everything the CLI does is one of these calls first.

>>> from dbt_assets import load_graph, list_assets, describe_asset
>>> graph = load_graph(project_dir="fixtures/dbt_project")          # doctest: +SKIP
>>> list_assets(graph, ["orders"], resource_types=["model"])        # doctest: +SKIP
['model.shop.orders']
>>> describe_asset(graph, "orders").children                        # doctest: +SKIP
['model.shop.customers', ...]
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dbt_assets.compile import Plan, plan
from dbt_assets.graph import CHECK_RESOURCE_TYPES, AssetGraph
from dbt_assets.lineage import render_lineage
from dbt_assets.manifest import read_manifest
from dbt_assets.project import Project
from dbt_assets.selection import select
from dbt_assets.selection.spec import IndirectSelection

if TYPE_CHECKING:  # pydantic is imported only by the calls that return models
    from dbt_assets.asset import AssetDetail


def load_graph(
    *,
    project_dir: str | Path | None = None,
    manifest: str | Path | None = None,
    profiles_dir: str | Path | None = None,
    target: str | None = None,
    dbt_executable: str | None = None,
) -> AssetGraph:
    """The asset graph of a manifest file, or of a project (re-parsing a stale manifest).

    With ``manifest`` no project is needed; otherwise ``project_dir`` (default ``.``).
    """
    if manifest is not None:
        return AssetGraph(read_manifest(manifest))
    project = Project(
        project_dir or ".", profiles_dir=profiles_dir, target=target, dbt_executable=dbt_executable
    )
    return project.graph()


def list_assets(
    graph: AssetGraph,
    select_values: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
    selector: str | None = None,
    resource_types: Collection[str] = (),
    exclude_resource_types: Collection[str] = (),
    indirect_selection: IndirectSelection = "eager",
    command: str = "ls",
) -> list[str]:
    """Sorted unique_ids that ``dbt ls`` (or ``command``) would select with the same options.

    >>> list_assets(graph, ["downstream_of:orders"], resource_types=["model"])   # doctest: +SKIP
    """
    return select(
        graph,
        select_values,
        exclude=exclude,
        selector=selector,
        resource_types=resource_types,
        exclude_resource_types=exclude_resource_types,
        indirect_selection=indirect_selection,
        command=command,
    )


def describe_asset(graph: AssetGraph, name: str) -> AssetDetail:
    """Everything known about one asset (by name, ``name.vN``, ``source.table`` or unique_id)."""
    from dbt_assets.asset import AssetDetail

    uid = graph.find(name)
    return AssetDetail(
        asset=graph.asset(uid),
        parents=graph.parents(uid),
        children=graph.children(uid),
        checks=graph.checks(uid),
    )


def lineage(
    graph: AssetGraph,
    select_values: Sequence[str] = (),
    *,
    fmt: str = "mermaid",
    include_checks: bool = False,
    expand: bool = True,
) -> str:
    """The lineage of a selection as Mermaid, dot or JSON.

    With no selection: every asset. With one: the selected assets and, when ``expand``,
    everything upstream and downstream of them. Tests are left out unless ``include_checks``.
    """
    if select_values:
        chosen = set(select(graph, select_values, indirect_selection="empty", resource_types=["all"]))
        if expand:
            for uid in list(chosen):
                chosen |= graph.upstream(uid) | graph.downstream(uid)
    else:
        chosen = set(graph.records)
    if include_checks:
        chosen |= {check for uid in list(chosen) for check in graph.checks(uid)}
    else:
        chosen = {u for u in chosen if graph.records[u].resource_type not in CHECK_RESOURCE_TYPES}
    return render_lineage(graph, chosen, fmt)


def plan_selection(
    graph: AssetGraph,
    command: str,
    select_values: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
    selector: str | None = None,
    resource_types: Collection[str] = (),
    exclude_resource_types: Collection[str] = (),
    indirect_selection: IndirectSelection = "eager",
    unique_ids: Iterable[str] | None = None,
) -> Plan:
    """What ``dbt COMMAND`` would run for a selection (or explicit unique_ids), and the exact
    dbt argv that selects it.

    >>> plan_selection(graph, "run", ["downstream_of:orders"]).argv      # doctest: +SKIP
    ('run', '--select', 'orders+')
    """
    return plan(
        graph,
        command,
        select_values,
        exclude=exclude,
        selector=selector,
        resource_types=resource_types,
        exclude_resource_types=exclude_resource_types,
        indirect_selection=indirect_selection,
        unique_ids=unique_ids,
    )
