"""The graph and its selections: loading, listing, describing, lineage, exact dbt plans and
shards."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dbt_assets._core.errors import SelectionError
from dbt_assets._core.vocab import CHECK_TYPES
from dbt_assets.interop.lineage import render_lineage
from dbt_assets.manifest.decode import read_manifest
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.compile import Plan, plan
from dbt_assets.run.project import Project
from dbt_assets.selection import select
from dbt_assets.selection.request import Selected, Selection

if TYPE_CHECKING:  # pydantic is imported only by the calls that return models
    from dbt_assets.history.store import History
    from dbt_assets.manifest.asset import AssetDetail
    from dbt_assets.plan.shard import ShardedPlan
    from dbt_assets.sla.config import Sla, SourceSla


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
    selection: Selected = (),
    *,
    command: str = "ls",
    history: History | None = None,
    models: Sequence[str] = (),
    unmatched: list[str] | None = None,
) -> list[str]:
    """Sorted unique_ids that ``dbt ls`` (or ``command``) would select with the same flags:
    a :class:`Selection`, or just ``--select`` values.

    ``history`` is the run history ``status:`` and ``sla:`` read (default: the project's).
    ``models`` is ``dbt ls --models``: a selection among models only. The criteria that
    matched no node (dbt warns of each) are added to ``unmatched`` when it is given.

    >>> list_assets(graph, Selection(["downstream_of:orders"], resource_types=["model"]))  # doctest: +SKIP
    """
    chosen = Selection.of(selection)
    if models:
        if chosen.select:
            raise SelectionError(
                '"models" and "select" are mutually exclusive arguments', "use --select alone"
            )
        if chosen.resource_types:
            raise SelectionError(
                '"models" and "resource_type" are mutually exclusive arguments',
                "use --select with --resource-type instead of --models",
            )
        # dbt ls --models lists models whatever --exclude-resource-type says
        chosen = chosen.replace(select=models, resource_types=("model",), exclude_resource_types=())
    return select(graph, chosen, command=command, history=history, unmatched=unmatched)


def describe_asset(graph: AssetGraph, name: str) -> AssetDetail:
    """Everything known about one asset (by name, ``name.vN``, ``source.table`` or unique_id)."""
    from dbt_assets.manifest.asset import AssetDetail

    uid = graph.find(name)
    sla = asset_sla(graph, uid)
    return AssetDetail(
        asset=graph.asset(uid),
        parents=graph.parents(uid),
        children=graph.children(uid),
        checks=graph.checks(uid),
        sla=None if sla is None else sla.model_dump(exclude_none=True),
    )


def lineage(
    graph: AssetGraph,
    selection: Selected = (),
    *,
    fmt: str = "mermaid",
    include_checks: bool = False,
    expand: bool = True,
) -> str:
    """The lineage of a selection as Mermaid, dot or JSON.

    With no selection: every asset. With one: the selected assets and, when ``expand``,
    everything upstream and downstream of them. Tests are left out unless ``include_checks``.
    """
    chosen_selection = Selection.of(selection)
    if chosen_selection.empty:
        chosen = set(graph.records)
    else:
        chosen = set(select(graph, _exactly(chosen_selection)))
        if expand:
            for uid in list(chosen):
                chosen |= graph.upstream(uid) | graph.downstream(uid)
    if include_checks:
        chosen |= {check for uid in list(chosen) for check in graph.checks(uid)}
    else:
        chosen = {u for u in chosen if graph.records[u].resource_type not in CHECK_TYPES}
    return render_lineage(graph, chosen, fmt)


def plan_selection(
    graph: AssetGraph,
    command: str,
    selection: Selected = (),
    *,
    unique_ids: Iterable[str] | None = None,
    history: History | None = None,
    state_out: str | Path | None = None,
) -> Plan:
    """What ``dbt COMMAND`` would run for a selection (or explicit unique_ids), and the exact
    dbt argv that selects it. A plan of many criteria selects in one pass over a generated
    state (``plan.one_pass``): with ``state_out`` that state is written to the folder named
    there (new or empty; the caller keeps it) and the argv runs as it is (``plan.runnable``).

    >>> plan_selection(graph, "run", ["downstream_of:orders"]).argv      # doctest: +SKIP
    ('run', '--select', 'orders+')
    """
    return plan(graph, command, selection, unique_ids=unique_ids, history=history, state_out=state_out)


def shard_selection(
    graph: AssetGraph,
    command: str,
    selection: Selected = (),
    k: int = 2,
    *,
    history: History | None = None,
    threads: int = 4,
    state_out: str | Path | None = None,
) -> ShardedPlan:
    """What ``dbt COMMAND`` would run for a selection, split into at most ``k`` groups that
    respect dependencies and balance the history's execution times, each with exact dbt
    arguments, and the predicted makespan against one invocation; each invocation costs the
    median overhead of the history's recent runs (start-up, parse, selection), or an estimate
    from the project's size when it has none. With ``state_out``, each one-pass group's state is
    written to ``state_out/group-<index>``, so that every group's argv runs as it is.

    >>> [s.plan.argv for s in shard_selection(graph, "build", ["tag:finance+"], 3).shards]  # doctest: +SKIP
    """
    from dbt_assets.plan.shard import default_overhead, shard

    planned = plan(graph, command, selection, history=history)
    overheads = history.invocation_overheads() if history is not None else []
    overhead = statistics.median(overheads) if overheads else default_overhead(graph)
    facts = history.facts() if history is not None else {}
    sharded = shard(graph, planned, k, facts, threads=threads, overhead=overhead)
    return sharded if state_out is None else sharded.with_state(state_out)


def chosen_assets(
    graph: AssetGraph, selection: Selected, history: History | None, at: float | None = None
) -> list[str] | None:
    """The assets a selection names exactly (every resource type unless it says which, no
    tests added unless it says how), or None for "all" when it selects nothing by name."""
    chosen = Selection.of(selection)
    if chosen.empty and not chosen.resource_types and not chosen.exclude_resource_types:
        return None
    return select(graph, _exactly(chosen), history=history, at=at)


def _exactly(selection: Selection) -> Selection:
    """``selection`` over every resource type and without indirect selection of tests, unless
    it says otherwise."""
    mode = selection.indirect_selection
    return selection.replace(
        resource_types=selection.resource_types or ("all",),
        indirect_selection="empty" if mode == "eager" else mode,
    )


def asset_sla(graph: AssetGraph, name: str) -> Sla | SourceSla | None:
    """The effective SLA of one asset: its own YAML over ``dbt_assets.yml``, key by key
    (durations in seconds); for a source, dbt's freshness. None when it has none."""
    from dbt_assets.sla.judge import declared_slas

    return declared_slas(graph).get(graph.find(name))
